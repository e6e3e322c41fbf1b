"""`score-suite` and `tokenizer compare` on a real tiny run and on imported Hugging Face models: --json equals what
the store records and a direct recomputation (for the imported ones, by `transformers` itself), a run's tokenizer
can be named, bad input ends with one line and exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from hf_folders import make_hf_folder
from tiny_probe_run import make_tiny_run

from workbench.cli.main import main
from workbench.core.probing import pseudo_log_likelihood
from workbench.jobs.interop import import_model
from workbench.jobs.probe import load_probe_model
from workbench.jobs.workspace import Workspace

RUN = "tiny-lab"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_run(tmp_path_factory.mktemp("lab-home"), RUN)


def cli(capsys: pytest.CaptureFixture, home: Path, *args: str, code: int = 0) -> str:
    assert main(["--home", str(home), *args]) == code
    captured = capsys.readouterr()
    if code:
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("mlm-workbench: error: "), captured.err
        return lines[0]
    return captured.out


def test_score_suite_over_checkpoints_is_stored_and_recomputable(home: Path, capsys: pytest.CaptureFixture) -> None:
    out = json.loads(cli(capsys, home, "score-suite", RUN, "--all-checkpoints", "--json"))
    assert [r["step"] for r in out] == [10, 20] and len({r["suite_sha256"] for r in out}) == 1
    last = out[-1]
    items = last["items"]
    assert last["metrics"]["n_items"] == len(items) == 300
    assert last["metrics"]["overall"]["accuracy"] == sum(i["pll_good"] - i["pll_bad"] > 1e-4 for i in items) / 300
    with Workspace.open(str(home)) as ws:
        stored = ws.store.probe_results(ws.store.get_run(RUN).id, last["suite_sha256"])
        assert [(r.checkpoint_step, r.id) for r in stored] == [(r["step"], r["result_id"]) for r in out]
        assert stored[-1].metrics == last["metrics"]
        probe = load_probe_model(ws, RUN, 20)
    for item in items[:: 60]:  # one of each phenomenon, against the one-sentence scorer
        assert item["pll_good"] == pytest.approx(pseudo_log_likelihood(probe.model, probe.tokenizer, item["good"]).pll,
                                                 abs=1e-3)
        assert item["pll_bad"] == pytest.approx(pseudo_log_likelihood(probe.model, probe.tokenizer, item["bad"]).pll,
                                                abs=1e-3)
    plain = cli(capsys, home, "score-suite", RUN, "--method", "word-l2r")
    assert "Per phenomenon" in plain and "agreement-attractor" in plain


def test_tokenizer_compare_names_a_runs_tokenizer(home: Path, capsys: pytest.CaptureFixture) -> None:
    out = json.loads(cli(capsys, home, "tokenizer", "compare", "1", f"run:{RUN}", "--sentences", "2", "--json"))
    first, second = out["tokenizers"]
    assert first["name"] == "#1 wordpiece" and second["name"] == f"run {RUN}"
    assert {**first, "name": ""} == {**second, "name": ""}  # the run was trained with tokenizer 1
    assert out["overlap"][0]["jaccard"] == 1.0
    assert out["source"] == "corpus 'sample'" and len(out["sentences"]) == 2
    text = cli(capsys, home, "tokenizer", "compare", "1", "--text", "the cow says moo. zebras quack.")
    assert "Tokenizers on the pasted text" in text and "zebras" in text


def test_bad_input_ends_with_one_line_and_exit_code_2(home: Path, capsys: pytest.CaptureFixture,
                                                      tmp_path: Path) -> None:
    bad = tmp_path / "pairs.tsv"
    bad.write_text("sentence\tanswers\nx\ty\n", encoding="utf-8")
    assert "header naming the columns good, bad" in cli(capsys, home, "score-suite", RUN, str(bad), code=2)
    assert "no checkpoint at step 5" in cli(capsys, home, "score-suite", RUN, "--checkpoint", "5", code=2)
    assert "name a tokenizer by its id" in cli(capsys, home, "tokenizer", "compare", "wordpiece", code=2)
    assert "no tokenizer with id 9" in cli(capsys, home, "tokenizer", "compare", "9", code=2)
    assert "--sentences must be 0 or more" in cli(capsys, home, "tokenizer", "compare", "1", "--sentences", "-1",
                                                  code=2)
    assert "holds no words" in cli(capsys, home, "tokenizer", "compare", "1", "--text", "   ", code=2)


def hf_pll(model, ids: list[int], mask_id: int) -> float:
    """PLL by `transformers` itself: one forward pass per position, that token masked."""
    total = 0.0
    for position in range(1, len(ids) - 1):
        masked = list(ids)
        masked[position] = mask_id
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([masked])).logits[0, position]
        total += float(logits.log_softmax(-1)[ids[position]])
    return total


@pytest.mark.parametrize("family", ["bert", "roberta"])
def test_imported_models_score_pairs_and_compare_tokenizers(home: Path, capsys: pytest.CaptureFixture,
                                                            tmp_path: Path, family: str) -> None:
    transformers = pytest.importorskip("transformers")
    folder = tmp_path / family
    hf_model = make_hf_folder(folder, family)
    with Workspace.open(str(home)) as ws:
        run = import_model(ws, folder, name=f"hf-{family}").name
        probe = load_probe_model(ws, run)
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("good\tbad\tphenomenon\nThe cat sat on the mat.\tThe cat sit on the mat.\tagreement\n"
                     "Paris is the capital of France.\tParis the is capital of France.\torder\n", encoding="utf-8")
    out = json.loads(cli(capsys, home, "score-suite", run, str(pairs), "--json"))[0]
    for item in out["items"]:
        for key, sentence in (("pll_good", item["good"]), ("pll_bad", item["bad"])):
            ids = [probe.tokenizer.cls_id, *probe.tokenizer.encode(sentence), probe.tokenizer.sep_id]
            assert item[key] == pytest.approx(hf_pll(hf_model, ids, probe.tokenizer.mask_id), abs=1e-3)
    text = "The quick brown fox jumps over the lazy dog."
    lab = json.loads(cli(capsys, home, "tokenizer", "compare", f"run:{run}", "--text", text, "--json"))
    pieces = [p for word in lab["sentences"][0]["pieces"][0] for p in word]
    reference = transformers.AutoTokenizer.from_pretrained(folder)
    assert pieces == reference.tokenize(" " + text)  # in running text, after a space
    assert lab["tokenizers"][0]["pieces"] == len(pieces)
