"""`probe --by-layer` (one checkpoint, and over every checkpoint), `probe/score --ablate` and `rank-heads` end to end
on a run trained here (tiny, checkpoints at steps 10 and 20) and on an imported RoBERTa: the --json numbers equal
direct calls, the last depth equals plain `probe`, the stored weights never change, and bad input exits 2 with
one line."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from cli_helpers import cli
from hf_folders import make_hf_folder
from tiny_probe_run import make_tiny_run

from workbench.core.probing import score_sentences
from workbench.core.probing.ablation import head_mask_for, rank_heads
from workbench.jobs.probe import load_probe_model
from workbench.jobs.workspace import Workspace

RUN = "tiny-depth"
TEXT = "the cow says [MASK]."


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_run(tmp_path_factory.mktemp("depth-home"), RUN)


def weights_digest(home: Path) -> str:
    return hashlib.sha256(b"".join(p.read_bytes() for p in sorted(home.rglob("*.safetensors")))).hexdigest()


def test_by_layer_ends_at_plain_probe(home: Path, capsys: pytest.CaptureFixture) -> None:
    lens = json.loads(cli(capsys, home, "probe", RUN, TEXT, "--by-layer", "--top-k", "3", "--json"))
    plain = json.loads(cli(capsys, home, "probe", RUN, TEXT, "--top-k", "3", "--json"))
    (mask,) = lens["masks"]
    assert [r["depth"] for r in mask["layers"]] == [0, 1, 2]  # seed-demo: embeddings and 2 layers
    assert [p["token_id"] for p in mask["layers"][-1]["predictions"]] == \
        [p["token_id"] for p in plain["masks"][0]["predictions"]]
    assert [p["probability"] for p in mask["layers"][-1]["predictions"]] == pytest.approx(
        [p["probability"] for p in plain["masks"][0]["predictions"]], abs=1e-6)
    assert mask["answer_source"] == "final top-1" and mask["layers"][-1]["answer_rank"] == 1
    given = json.loads(cli(capsys, home, "probe", RUN, TEXT, "--by-layer", "--answers", "moo", "--json"))
    with Workspace.open(str(home)) as ws:
        first_piece = load_probe_model(ws, RUN).tokenizer.tokens("moo")[0]
    assert given["masks"][0]["answer"] == first_piece and given["masks"][0]["answer_source"] == "given"
    text = cli(capsys, home, "probe", RUN, TEXT, "--by-layer")
    assert "embeddings" in text and "layer 1" in text and "answer rank" in text


def test_by_layer_over_checkpoints_follows_one_answer(home: Path, capsys: pytest.CaptureFixture) -> None:
    out = json.loads(cli(capsys, home, "probe", RUN, TEXT, "--by-layer", "--all-checkpoints", "--json"))
    assert [entry["step"] for entry in out] == [10, 20]
    assert len({entry["masks"][0]["answer_id"] for entry in out}) == 1  # the latest checkpoint's answer throughout
    assert out[-1]["masks"][0]["layers"][-1]["answer_rank"] == 1
    assert "by step and depth" in cli(capsys, home, "probe", RUN, TEXT, "--by-layer", "--all-checkpoints")


def test_ablate_shows_both_models_and_leaves_the_weights(home: Path, capsys: pytest.CaptureFixture) -> None:
    before = weights_digest(home)
    out = json.loads(cli(capsys, home, "probe", RUN, TEXT, "--ablate", "1.0,0.1", "--ablation", "mean", "--json"))
    assert out["ablation"] == {"heads": "1.0,0.1", "mode": "mean"}
    tokens = out["masks"][0]["tokens"]
    assert [t["ablated"] for t in tokens] == sorted((t["ablated"] for t in tokens), reverse=True)
    with Workspace.open(str(home)) as ws:
        probe = load_probe_model(ws, RUN)
    plain = json.loads(cli(capsys, home, "probe", RUN, TEXT, "--top-k", "5", "--json"))
    intact = {p["token_id"]: p["probability"] for p in plain["masks"][0]["predictions"]}
    for token in tokens:
        if token["token_id"] in intact:
            assert token["intact"] == pytest.approx(intact[token["token_id"]], abs=1e-6)
    sentences = ["the cow says moo.", "moo says the cow."]
    scored = json.loads(cli(capsys, home, "score", RUN, *sentences, "--ablate", "0.0", "--json"))
    direct = score_sentences(probe.model, probe.tokenizer, sentences, head_mask=head_mask_for(probe.model, [(0, 0)]))
    assert {s["sentence"]: s["pll"] for s in scored["sentences"]} == pytest.approx(
        {s.sentence: s.pll for s in direct}, abs=1e-5)
    assert "intact PLL" in cli(capsys, home, "score", RUN, *sentences, "--ablate", "0.0")
    assert "p intact" in cli(capsys, home, "probe", RUN, TEXT, "--ablate", "0.0")
    assert weights_digest(home) == before


def test_rank_heads_sentence_and_suite(home: Path, capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    out = json.loads(cli(capsys, home, "rank-heads", RUN, TEXT, "--answers", "moo", "--json"))
    with Workspace.open(str(home)) as ws:
        probe = load_probe_model(ws, RUN)
    direct = rank_heads(probe.model, probe.tokenizer, TEXT, ["moo"])
    assert out["metric"] == "log_prob" and len(out["heads"]) == 4  # 2 layers x 2 heads
    assert [(h["layer"], h["head"]) for h in out["heads"]] == [(e.layer, e.head) for e in direct.heads]
    suite = tmp_path / "cows.tsv"
    suite.write_text("sentence\tanswers\nthe cow says [MASK].\tmoo\nthe [MASK] says moo.\tcow\n", encoding="utf-8")
    ranked = json.loads(cli(capsys, home, "rank-heads", RUN, "--suite", str(suite), "--ablation", "mean", "--json"))
    assert ranked["metric"] == "precision_at_1" and ranked["mode"] == "mean" and len(ranked["heads"]) == 4
    assert "drop" in cli(capsys, home, "rank-heads", RUN, TEXT, "--top", "2")


@pytest.mark.parametrize("args, message", [
    (("probe", RUN, TEXT, "--ablate", "9.0"), "does not exist"),
    (("probe", RUN, TEXT, "--ablate", "x"), "LAYER.HEAD"),
    (("probe", RUN, TEXT, "--answers", "moo"), "--by-layer"),
    (("probe", RUN, TEXT, "--by-layer", "--answers", "a,b,c"), "one answer per mask"),
    (("rank-heads", RUN), "TEXT with [MASK] or --suite"),
    (("rank-heads", RUN, "the cow says moo."), "no mask"),
])
def test_bad_input_exits_2_with_one_line(home: Path, capsys: pytest.CaptureFixture, args, message: str) -> None:
    assert message in cli(capsys, home, *args, code=2)


def test_an_imported_model_is_probed_by_layer_and_ablated(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    source = make_hf_folder(tmp_path / "roberta", "roberta", tokenizer_json=True) and tmp_path / "roberta"
    home = tmp_path / "home"
    cli(capsys, home, "import", str(source), "--name", "hf-roberta", "--json")
    text = "the cow says <mask>."
    lens = json.loads(cli(capsys, home, "probe", "hf-roberta", text, "--by-layer", "--json"))
    plain = json.loads(cli(capsys, home, "probe", "hf-roberta", text, "--json"))
    last, predictions = lens["masks"][0]["layers"][-1]["predictions"], plain["masks"][0]["predictions"]
    assert [p["token_id"] for p in last] == [p["token_id"] for p in predictions]
    assert [p["probability"] for p in last] == pytest.approx([p["probability"] for p in predictions], abs=1e-6)
    ranked = json.loads(cli(capsys, home, "rank-heads", "hf-roberta", text, "--json"))
    assert len(ranked["heads"]) == 4
