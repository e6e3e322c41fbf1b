"""Probing in bf16 through the shared load path (`load_probe_model(..., precision="bf16")`), on the bundled demo
model and the bundled cloze suite: the weights are bf16, what comes out is float32, the probabilities stay close
to fp32's and the top-1 answers agree wherever fp32's answer is not a near-tie; bf16 and fp32 are cached apart.

Why these bounds: bf16 keeps 8 bits of mantissa, so each probability may move by a little (0.020 at most on
these 68 items, measured); a tolerance of 0.03 holds that with room. The top-1 can then only change where fp32's
first two answers are closer than twice the tolerance: on the demo model that happens on 2 items, both
"are"/"were" at 0.50/0.50 (both right answers), which bf16 makes exact ties or swaps. Everywhere else it must
agree."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from workbench.core.probing import attention_maps, fill_mask
from workbench.core.probing.suites import evaluate_suite, load_suite
from workbench.jobs.demo_model import DEMO_RUN_NAME
from workbench.jobs.demo_register import ensure_demo_run
from workbench.jobs.probe import ModelCache, ProbeModel, load_probe_model
from workbench.jobs.workspace import Workspace
from workbench.paths import resources_dir

PROBABILITY_TOLERANCE = 0.03
MIN_AGREEMENT = 0.95  # of the 68 items: the near-ties above are the only ones allowed to flip


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> tuple[ProbeModel, ProbeModel]:
    home = tmp_path_factory.mktemp("precision-home")
    with Workspace(home) as ws:
        ensure_demo_run(ws)
        return (load_probe_model(ws, DEMO_RUN_NAME, cache=None),
                load_probe_model(ws, DEMO_RUN_NAME, cache=None, precision="bf16"))


def _distribution(probe: ProbeModel, sentence: str) -> list:
    return fill_mask(probe.model, probe.tokenizer, sentence, top_k=probe.tokenizer.vocab_size).masks[0].predictions


def test_bf16_fill_mask_agrees_with_fp32_on_the_cloze_suite(models: tuple[ProbeModel, ProbeModel]) -> None:
    fp32, bf16 = models
    assert bf16.precision == "bf16" and {p.dtype for p in bf16.model.parameters()} == {torch.bfloat16}
    assert bf16.precision_note and fp32.precision_note is None
    items = load_suite(resources_dir() / "sample_cloze.tsv").items
    agreed = 0
    for item in items:
        exact, fast = _distribution(fp32, item.sentence), _distribution(bf16, item.sentence)
        fast_p = {p.token_id: p.probability for p in fast}
        assert max(abs(p.probability - fast_p[p.token_id]) for p in exact) < PROBABILITY_TOLERANCE, item.sentence
        if exact[0].token_id == fast[0].token_id:
            agreed += 1
        else:  # a flip only between answers fp32 itself nearly ties
            assert exact[0].probability - fast_p[exact[0].token_id] < 2 * PROBABILITY_TOLERANCE
            assert exact[0].probability - next(p.probability for p in exact if p.token_id == fast[0].token_id) \
                < 2 * PROBABILITY_TOLERANCE, item.sentence
    assert len(items) == 68 and agreed / len(items) >= MIN_AGREEMENT


def test_bf16_scores_the_suite_as_fp32_does_and_returns_float32(models: tuple[ProbeModel, ProbeModel]) -> None:
    fp32, bf16 = models
    suite = load_suite(resources_dir() / "sample_cloze.tsv")
    exact, fast = (evaluate_suite(m.model, m.tokenizer, suite).metrics["overall"] for m in models)
    assert fast["precision_at_1"] == exact["precision_at_1"] and fast["mrr"] == pytest.approx(exact["mrr"], abs=0.01)
    sentence = suite.items[0].sentence
    maps = [attention_maps(m.model, m.tokenizer, sentence).matrix(1, 0).values for m in models]
    assert maps[1].dtype == torch.float32 and (maps[0] - maps[1]).abs().max() < PROBABILITY_TOLERANCE
    assert all(isinstance(p.probability, float) for p in _distribution(bf16, sentence))


def test_each_precision_is_cached_apart(tmp_path: Path) -> None:
    cache = ModelCache()
    with Workspace(tmp_path) as ws:
        ensure_demo_run(ws)
        fp32 = load_probe_model(ws, DEMO_RUN_NAME, cache=cache)
        bf16 = load_probe_model(ws, DEMO_RUN_NAME, cache=cache, precision="bf16")
        again = load_probe_model(ws, DEMO_RUN_NAME, cache=cache, precision="bf16")
    assert len(cache) == 2 and again is bf16 and fp32.model is not bf16.model
    assert next(fp32.model.parameters()).dtype == torch.float32  # the bf16 cast did not touch the fp32 model
