"""The probing commands end to end on a real tiny run (sample corpus, 40 steps, checkpoints at 20 and 40):
`probe`, `score`, `attention`, `probe-suite` (one result per checkpoint in the database), their refusals
(one line, exit code 2), and the model cache that makes switching between checkpoints instant."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch
from cli_helpers import cli

from workbench.cli.main import main
from workbench.core.probing import fill_mask
from workbench.jobs.corpora import get_corpus
from workbench.jobs.pretrain import start_pretraining
from workbench.jobs.probe import ModelCache, knowledge_series, load_probe_model
from workbench.jobs.tokenizers import train_tokenizer_for
from workbench.jobs.workspace import Workspace
from workbench.settings.model import ModelSpec
from workbench.settings.pretrain import PretrainSpec
from workbench.settings.tokenizer import TokenizerConfig
from workbench.settings.train import TrainConfig

RUN = "tiny-probe"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("probe-home")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the tests share a few cores; one thread avoids oversubscription stalls
    try:
        with Workspace.open(str(folder)) as ws:
            train_tokenizer_for(ws, get_corpus(ws, None), TokenizerConfig(vocab_size=500))
            train = TrainConfig(steps=40, batch_size=8, eval_every=20, checkpoint_every=20, device="cpu")
            run, result = start_pretraining(ws, PretrainSpec(model=ModelSpec(preset="seed-demo", max_position_embeddings=32), train=train, name=RUN))
        assert result.status == "completed"
        yield folder
    finally:
        torch.set_num_threads(threads)


def test_probe_lists_top_k_per_mask_as_a_direct_call_does(home: Path, capsys: pytest.CaptureFixture) -> None:
    out = json.loads(cli(capsys, home, "probe", RUN, "the cow says [MASK] and the dog says [MASK].", "--json"))
    assert out["run"] == RUN and out["step"] == 40 and len(out["masks"]) == 2
    assert all(len(mask["predictions"]) == 5 for mask in out["masks"])
    with Workspace.open(str(home)) as ws:
        probe = load_probe_model(ws, RUN)
    direct = fill_mask(probe.model, probe.tokenizer, "the cow says [MASK] and the dog says [MASK].")
    assert out["masks"] == json.loads(json.dumps(direct.to_dict()["masks"]))
    early = json.loads(cli(capsys, home, "probe", RUN, "the cow says [MASK].", "--checkpoint", "20", "--top-k", "3",
                           "--targets", "moo,woof,unbelievably", "--json"))
    first_pieces = {probe.tokenizer.tokens(word)[0] for word in ("moo", "woof", "unbelievably")}
    assert early["step"] == 20 and {p["token"] for p in early["masks"][0]["predictions"]} == first_pieces
    assert any("unbelievably" in note and "first piece" in note for note in early["notes"])


def test_probe_in_order_and_plain_output(home: Path, capsys: pytest.CaptureFixture) -> None:
    out = json.loads(cli(capsys, home, "probe", RUN, "the [MASK] says [MASK].", "--in-order", "--json"))
    assert len(out["steps"]) == 2 and "[MASK]" not in out["text"]
    assert sorted(s["position"] for s in out["steps"]) == [2, 4]
    plain = cli(capsys, home, "probe", RUN, "the [MASK] says [MASK].", "--in-order")
    assert "Filled in order" in plain and "filled:" in plain
    assert "[MASK] at position 2" in cli(capsys, home, "probe", RUN, "the [MASK] says moo.")


def test_score_ranks_sentences(home: Path, capsys: pytest.CaptureFixture) -> None:
    sentences = ["the cow says moo.", "moo says the cow.", "the dog is happy."]
    out = json.loads(cli(capsys, home, "score", RUN, *sentences, "--method", "word-l2r", "--json"))
    assert out["method"] == "word-l2r" and [s["rank"] for s in out["sentences"]] == [1, 2, 3]
    assert sorted(s["sentence"] for s in out["sentences"]) == sorted(sentences)
    plls = [s["pll"] for s in out["sentences"]]
    assert plls == sorted(plls, reverse=True)
    assert all(s["pll"] == pytest.approx(sum(t["log_prob"] for t in s["tokens"])) for s in out["sentences"])
    plain = cli(capsys, home, "score", RUN, "the cow says moo.")
    assert "Per token" in plain and "pseudo-perplexity" in plain


def test_attention_prints_exports_and_refuses(home: Path, capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    out = json.loads(cli(capsys, home, "attention", RUN, "the cow says moo.", "--layer", "1", "--head", "0", "--json"))
    T = len(out["tokens"])
    assert out["tokens"][0] == "[CLS]" and all(sum(row) == pytest.approx(1, abs=1e-5) for row in out["matrix"])
    assert len(out["matrix"]) == T
    rolled = json.loads(cli(capsys, home, "attention", RUN, "the cow says moo.", "--head", "rollout",
                            "--hide-special", "--json"))
    assert rolled["layer"] == 1 and len(rolled["tokens"]) == T - 2 and "[SEP]" not in rolled["tokens"]
    target = tmp_path / "attention.csv"
    cli(capsys, home, "attention", RUN, "the cow says moo.", "--layer", "0", "--head", "mean", "--csv", str(target))
    rows = list(csv.reader(target.open(encoding="utf-8")))
    assert len(rows) == T + 1 and rows[0][1] == "0:[CLS]"
    assert "Attention, layer 0" in cli(capsys, home, "attention", RUN, "the cow says moo.", "--layer", "-2")
    assert "head must be in 0..1" in cli(capsys, home, "attention", RUN, "the cow", "--head", "2", code=2)
    assert "layer must be in 0..1" in cli(capsys, home, "attention", RUN, "the cow", "--layer", "2", code=2)


def test_probe_suite_on_all_checkpoints_stores_one_result_each(home: Path, capsys: pytest.CaptureFixture) -> None:
    out = json.loads(cli(capsys, home, "probe-suite", RUN, "--all-checkpoints", "--top-k", "5", "--json"))
    assert [r["step"] for r in out] == [20, 40] and len({r["suite_sha256"] for r in out}) == 1
    assert all(r["metrics"]["k"] == 5 and r["metrics"]["n_items"] == len(r["items"]) > 50 for r in out)
    with Workspace.open(str(home)) as ws:
        run = ws.store.get_run(RUN)
        stored = ws.store.probe_results(run.id)
        assert [(r.checkpoint_step, r.id) for r in stored] == [(r["step"], r["result_id"]) for r in out]
        assert stored[1].metrics == out[1]["metrics"]
        series = knowledge_series(ws, RUN, metric="mrr")
    assert series == [(20, out[0]["metrics"]["overall"]["mrr"]), (40, out[1]["metrics"]["overall"]["mrr"])]
    plain = cli(capsys, home, "probe-suite", RUN, "--checkpoint", "20")
    assert "Per group" in plain and "animal-sound" in plain
    with Workspace.open(str(home)) as ws:
        assert len(ws.store.probe_results(ws.store.get_run(RUN).id)) == 2  # step 20 again: replaced, not added


def test_bad_input_ends_with_one_line_and_exit_code_2(home: Path, capsys: pytest.CaptureFixture,
                                                      tmp_path: Path) -> None:
    assert "no checkpoint at step 30; its checkpoints are at steps 20, 40" in cli(
        capsys, home, "probe", RUN, "the [MASK]", "--checkpoint", "30", code=2)
    assert "has no mask" in cli(capsys, home, "probe", RUN, "the cow says moo", code=2)
    assert "no run 'nope'" in cli(capsys, home, "score", "nope", "the cow", code=2)
    assert "contains [MASK]" in cli(capsys, home, "score", RUN, "the [MASK] says moo", code=2)
    with Workspace.open(str(home)) as ws:
        ws.store.create_run("classifier", "finetune", {}, None, None, parent_run_id=ws.store.get_run(RUN).id)
    assert "finetune run without a masked-LM head" in cli(capsys, home, "probe", "classifier", "a [MASK]", code=2)
    bad = tmp_path / "bad.tsv"
    bad.write_text("sentence\tanswers\tgroup\nno mask here\tx\tg\n", encoding="utf-8")
    assert "bad.tsv:2" in cli(capsys, home, "probe-suite", RUN, str(bad), code=2)
    with pytest.raises(SystemExit) as exit_info:
        main(["--home", str(home), "attention", RUN, "the cow", "--head", "max"])
    assert exit_info.value.code == 2 and "must be a head number" in capsys.readouterr().err


def test_the_model_cache_keeps_recent_checkpoints_loaded(home: Path) -> None:
    cache = ModelCache(capacity=1)
    with Workspace.open(str(home)) as ws:
        latest = load_probe_model(ws, RUN, cache=cache)
        assert load_probe_model(ws, RUN, 40, cache=cache) is latest and len(cache) == 1
        early = load_probe_model(ws, RUN, 20, cache=cache)
        assert early.step == 20 and early is not latest and not early.model.training
        assert load_probe_model(ws, RUN, cache=cache) is not latest  # capacity 1: step 40 was evicted
        assert load_probe_model(ws, RUN, 20, cache=None) is not early


def test_precision_bf16_probes_scores_and_maps_close_to_fp32(home: Path, capsys: pytest.CaptureFixture) -> None:
    """--precision bf16 (the probing settings' flag) on probe, score and attention: the same tokens, float32
    numbers within bf16's rounding of fp32's, the precision in the JSON and a note on stderr."""
    text = "the cow says [MASK]."
    exact = json.loads(cli(capsys, home, "probe", RUN, text, "--top-k", "50", "--json"))
    assert main(["--home", str(home), "probe", RUN, text, "--top-k", "50", "--json", "--precision", "bf16"]) == 0
    captured = capsys.readouterr()
    fast = json.loads(captured.out)
    assert (exact["precision"], fast["precision"]) == ("fp32", "bf16") and "note: bf16 on " in captured.err
    fast_p = {p["token"]: p["probability"] for p in fast["masks"][0]["predictions"]}
    shared = [p for p in exact["masks"][0]["predictions"] if p["token"] in fast_p]
    assert len(shared) >= 45 and all(abs(p["probability"] - fast_p[p["token"]]) < 0.03 for p in shared)
    sentences = ("the cow says moo.", "the dog says woof.")
    plls = [{s["sentence"]: s["pll"] for s in json.loads(cli(capsys, home, "score", RUN, *sentences, "--json",
                                                              *flag))["sentences"]}
            for flag in ((), ("--precision", "bf16"))]
    assert plls[0] == pytest.approx(plls[1], abs=0.1)
    maps = [json.loads(cli(capsys, home, "attention", RUN, "the cow says moo.", "--head", "0", "--json", *flag))
            for flag in ((), ("--precision", "bf16"))]
    assert maps[1]["precision"] == "bf16" and maps[0]["tokens"] == maps[1]["tokens"]
    assert torch.tensor(maps[0]["matrix"]).sub(torch.tensor(maps[1]["matrix"])).abs().max() < 0.03
