"""The Probe panel's Qt-free logic on a real tiny run (sample corpus, vocabulary 300, 20 steps, checkpoints at
10 and 20): click-to-mask on text, one- and two-model computations equal to the engine's, colours, head-view
lines, suite tables, a cancelled suite evaluation that keeps what it stored, and the attention CSV."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from tiny_probe_run import make_tiny_run

from workbench.core.probing import attention_maps, fill_in_order, fill_mask, score_sentences
from workbench.core.probing.encoding import encode_text
from workbench.jobs.probe import ProbeModel, load_probe_model
from workbench.jobs.workspace import Workspace
from workbench.store.runstore import RunStore
from workbench.views.probe_export import save_matrix_csv
from workbench.views.probe_views import (
    checkpoint_label,
    contribution_colour,
    fill_for_models,
    head_view_lines,
    heat_colours,
    in_order_snapshots,
    load_models,
    mask_word_at,
    parse_lines,
    parse_targets,
    probe_runs,
    run_suite_cancellable,
    score_for_models,
    suite_curves,
    suite_table_rows,
    text_tokens,
)

RUN = "views-run"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_run(tmp_path_factory.mktemp("views-home"), RUN)


@pytest.fixture(scope="module")
def models(home: Path) -> list[ProbeModel]:
    with Workspace.open(str(home)) as ws:
        return [load_probe_model(ws, RUN), load_probe_model(ws, RUN, 10)]


def test_text_tokens_carry_character_spans_and_words(models: list[ProbeModel]) -> None:
    tokenizer = models[0].tokenizer
    text = "the cow says [MASK]."
    tokens = text_tokens(tokenizer, text)
    assert [t.token for t in tokens] == ["[CLS]", *tokenizer.tokens(text), "[SEP]"]
    assert [t.token for t in tokens] == [tokenizer.id_to_token(i) for i in encode_text(tokenizer, text)]
    cow = [t for t in tokens if t.start >= 4 and t.end <= 7]
    assert "".join(text[t.start:t.end] for t in cow) == "cow" and len({t.word for t in cow}) == 1
    assert [t.is_mask for t in tokens].count(True) == 1 and tokens[0].word is None and tokens[-1].word is None


def test_mask_word_at_masks_every_piece_of_the_clicked_word(models: list[ProbeModel]) -> None:
    tokenizer = models[0].tokenizer
    text = "the cow says moo."
    pieces = len(tokenizer.tokens("cow"))
    assert pieces > 1  # vocabulary 300: "cow" is several pieces, which is the case worth testing
    expected = "the " + "[MASK]" * pieces + " says moo."
    assert mask_word_at(tokenizer, text, char_pos=5) == expected
    assert mask_word_at(tokenizer, text, char_pos=7) == expected  # just after its last letter
    last_piece = max(t.index for t in text_tokens(tokenizer, text) if 4 <= t.start < 7)
    assert mask_word_at(tokenizer, text, token_index=last_piece) == expected
    masked_ids = encode_text(tokenizer, expected)
    assert masked_ids.count(tokenizer.mask_id) == pieces
    assert mask_word_at(tokenizer, expected, char_pos=5) == expected  # a mask stays a mask
    assert mask_word_at(tokenizer, text, token_index=0) == text  # [CLS] is in no word


def test_parsing_helpers() -> None:
    assert parse_targets(" moo, woof  baa,") == ["moo", "woof", "baa"] and parse_targets(" , ") is None
    assert parse_lines("a b\n\n  c  \n") == ["a b", "c"]


def test_two_models_compute_as_the_engine_does(models: list[ProbeModel]) -> None:
    text = "the cow says [MASK] and the dog says [MASK]."
    results = fill_for_models(models, text, 3, None, in_order=False)
    for probe, result in zip(models, results):
        assert result == fill_mask(probe.model, probe.tokenizer, text, top_k=3)
    ordered = fill_for_models(models[:1], text, 4, ["moo", "woof"], in_order=True)[0]
    assert ordered == fill_in_order(models[0].model, models[0].tokenizer, text, top_k=4, targets=["moo", "woof"])
    snapshots = in_order_snapshots(ordered)
    assert len(snapshots) == 2 and "[MASK]" in snapshots[0] and "[MASK]" not in snapshots[1]
    assert snapshots[1][ordered.steps[0].position] == ordered.steps[0].chosen.token
    sentences = ["the cow says moo.", "moo says the cow."]
    scored = score_for_models(models, sentences, "original")
    assert scored[1] == score_sentences(models[1].model, models[1].tokenizer, sentences)


def test_colours_and_head_view_lines() -> None:
    colours = heat_colours(np.array([[0.0, 0.5], [1.0, 0.25]]))
    assert colours.shape == (2, 2, 3) and colours.dtype == np.uint8
    assert colours[0, 0].tolist() == [255, 255, 255] and colours[1, 0].tolist() == [8, 48, 107]
    assert heat_colours(np.array([[0.5]]), vmax=1.0)[0, 0].tolist() == [132, 152, 181]
    assert contribution_colour(0.0) == "#1a9850" and contribution_colour(-8.0) == "#d73027"
    assert contribution_colour(-100.0) == "#d73027" and contribution_colour(-4.0) == "#fee08b"
    values = np.array([[0.7, 0.3, 0.0], [0.2, 0.005, 0.795], [0.5, 0.25, 0.25]])
    lines = head_view_lines(values)
    assert len(lines) == 7 and lines[-1] == (1, 2, pytest.approx(0.795)) and (1, 1, 0.005) not in lines
    assert [(q, k) for q, k, _ in head_view_lines(values, selected=0)] == [(0, 1), (0, 0)]
    assert sorted((q, k) for q, k, _ in head_view_lines(values, selected=1, side="right")) == [(0, 1), (2, 1)]
    assert [(q, k) for q, k, _ in head_view_lines(values, max_lines=2)] == [(0, 0), (1, 2)]  # the strongest two


def test_runs_checkpoints_and_a_cancelled_suite(home: Path) -> None:
    with Workspace.open(str(home)) as ws:
        run = ws.store.get_run(RUN)
        ws.store.create_run("empty", "pretrain", {}, None, None)  # no checkpoint: nothing to probe
        assert [r.name for r in probe_runs(ws.store)] == [RUN]
        checkpoints = ws.store.checkpoints(run.id)
        assert checkpoint_label(checkpoints[0]).startswith("step 10 · val loss ")
        calls: list[tuple[int, int]] = []
        stopped = run_suite_cancellable(ws, run.id, None, None, True, top_k=5,
                                        progress=lambda done, total: calls.append((done, total)),
                                        cancelled=lambda: True)
        assert stopped.cancelled and calls == [(1, 2)]
        assert [r.checkpoint_step for r in ws.store.probe_results(run.id)] == [10]
        finished = run_suite_cancellable(ws, run.id, None, 20, False, top_k=5)
        assert not finished.cancelled and [r.checkpoint_step for r, _ in finished.results] == [20]
        assert [r.checkpoint_step for r in ws.store.probe_results(run.id)] == [10, 20]
    rows = suite_table_rows(finished.results[0][1].metrics)
    metrics = finished.results[0][1].metrics
    assert rows[0] == ("overall", metrics["n_items"], metrics["overall"]["precision_at_1"],
                       metrics["overall"]["precision_at_k"], metrics["overall"]["mrr"])
    assert [r[0] for r in rows[1:]] == sorted(metrics["groups"]) and sum(r[1] for r in rows[1:]) == rows[0][1]


def test_load_models_loads_the_chosen_checkpoints_in_order(home: Path) -> None:
    with Workspace.open(str(home)) as ws:
        run_id = ws.store.get_run(RUN).id
        models = load_models(ws, [(run_id, 20), (run_id, 10), (run_id, 20)])
    assert [(m.run_id, m.step) for m in models] == [(run_id, 20), (run_id, 10), (run_id, 20)]
    assert models[0] is models[2]  # from the model cache


def test_suite_curves_draw_each_metric_over_the_checkpoints(tmp_path: Path) -> None:
    def metrics(p1: float, group_p1: float) -> dict:
        scores = {"n": 4, "precision_at_1": p1, "precision_at_k": p1 + 0.25, "mrr": p1 + 0.125}
        return {"k": 5, "n_items": 4, "overall": scores, "groups": {"animals": {**scores, "precision_at_1": group_p1}}}

    with RunStore.open(tmp_path / "db.sqlite") as store:
        run = store.create_run("r", "pretrain", {}, None, None)
        for step, p1 in ((20, 0.5), (10, 0.25)):
            store.add_probe_result(run.id, step, "cloze", "f" * 64, metrics(p1, p1 / 2))
        results = store.probe_results(run.id)
    assert suite_curves(results) == [("precision@1", [10, 20], [0.25, 0.5]), ("precision@k", [10, 20], [0.5, 0.75]),
                                     ("MRR", [10, 20], [0.375, 0.625])]
    assert suite_curves(results, "animals")[0] == ("precision@1", [10, 20], [0.125, 0.25])
    assert suite_curves([]) == []


def test_attention_csv_rows_sum_to_one(models: list[ProbeModel], tmp_path: Path) -> None:
    maps = attention_maps(models[0].model, models[0].tokenizer, "the cow says moo.")
    matrix = maps.matrix(1, "rollout", hide_special=True)
    written = save_matrix_csv(matrix, tmp_path / "map")
    assert written.suffix == ".csv"
    rows = list(csv.reader(written.open(encoding="utf-8")))
    assert rows[0][1:] == matrix.labels and len(rows) == len(matrix.labels) + 1
    for row, expected in zip(rows[1:], matrix.values.tolist()):
        assert sum(float(v) for v in row[1:]) == pytest.approx(1.0, abs=1e-4)
        assert [float(v) for v in row[1:]] == pytest.approx(expected, abs=1e-6)


def test_imported_runs_are_probed_too(tmp_path: Path) -> None:
    """A Hugging Face model imported as a run (`mlm-workbench import`) is offered next to those trained here."""
    with RunStore.open(tmp_path / "db.sqlite") as store:
        trained = store.create_run("mine", "pretrain", {}, None, None)
        imported = store.create_run("bert", "imported", {}, None, None)
        store.create_run("tuned", "finetune", {}, None, None)
        for run in (trained, imported):
            store.add_checkpoint(run.id, 0, f"/x/{run.id}", "0" * 64, 1)
        assert [run.name for run in probe_runs(store)] == ["bert", "mine"]
