"""End to end: a tiny pretraining run, then `finetune --task classify` from it and from scratch, then `predict`."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from workbench.cli.main import main
from workbench.jobs.corpora import get_corpus
from workbench.jobs.pretrain import start_pretraining
from workbench.jobs.tokenizers import train_tokenizer_for
from workbench.jobs.workspace import Workspace
from workbench.settings.model import ModelSpec
from workbench.settings.pretrain import PretrainSpec
from workbench.settings.tokenizer import TokenizerConfig
from workbench.settings.train import TrainConfig

ANIMALS = {"cat": ["cat", "kitten", "cats"], "dog": ["dog", "puppy", "dogs"]}
FRAMES = ["the {} sleeps near the old barn", "a small {} runs in the field", "my {} watches the moon at night",
          "the {} and the farmer walk home", "{} bark and play by the river"]


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    home = tmp_path_factory.mktemp("home")
    with Workspace(home) as ws:
        train_tokenizer_for(ws, get_corpus(ws, None), TokenizerConfig(vocab_size=500))
        spec = PretrainSpec(model=ModelSpec(preset="seed-demo", max_position_embeddings=32), name="pre", train=TrainConfig(
            steps=30, batch_size=8, eval_every=0, checkpoint_every=0, device="cpu"))
        run, result = start_pretraining(ws, spec)
    assert result.status == "completed"
    return home, run.id


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = random.Random(0)
    path = tmp_path_factory.mktemp("data") / "animals.tsv"
    rows = ["sentence\tlabel"]
    for i in range(200):
        label = "cat" if i % 2 else "dog"
        rows.append(f"{rng.choice(FRAMES).format(rng.choice(ANIMALS[label]))}\t{label}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def run_cli(capsys: pytest.CaptureFixture, home: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--home", str(home), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_finetune_from_pretraining_and_scratch_then_predict(pretrained, dataset, capsys) -> None:
    home, parent_id = pretrained
    common = ["finetune", "--task", "classify", "--train", str(dataset), "--epochs", "2", "--batch-size", "16",
              "--lr", "1e-3", "--device", "cpu", "--json"]
    code, out, err = run_cli(capsys, home, *common, "--from", "pre", "--name", "ft")
    assert code == 0, out + err
    summary = json.loads(out)
    assert summary["status"] == "completed" and summary["epochs"] == 2 and summary["parent_run_id"] == parent_id
    assert summary["max_len"] == 32  # capped by the pretrained model's positions
    per_epoch = summary["steps"] // 2
    code, out, err = run_cli(capsys, home, *common, "--scratch", "seed-demo", "--name", "ft-scratch")
    assert code == 0, out + err
    scratch = json.loads(out)
    assert scratch["parent_run_id"] is None and scratch["best_epoch"] in (1, 2)

    with Workspace(home) as ws:
        run = ws.store.get_run("ft")
        assert run.kind == "finetune" and run.status == "completed" and run.parent_run_id == parent_id
        val_accuracy = ws.store.metrics(run.id, "val_accuracy")
        assert [p.step for p in val_accuracy] == [per_epoch, 2 * per_epoch]
        assert {"val_macro_f1", "val_loss", "train_loss", "epoch"} <= set(ws.store.metric_keys(run.id))
        assert [c.step for c in ws.store.checkpoints(run.id)] == [per_epoch, 2 * per_epoch]
        assert run.config["result"]["best_metrics"]["accuracy"] == max(p.value for p in val_accuracy)
        data = run.config["data"]
        # 200 rows of 30 distinct sentences: the 10% split takes whole sets of duplicates, so at least 20 rows
        assert run.config["labels"] == ["cat", "dog"] and 20 <= data["validation_examples"] < 60
        assert data["train_examples"] + data["validation_examples"] == 200
        assert per_epoch == -(-data["train_examples"] // 16)  # batches of 16

    code, out, err = run_cli(capsys, home, "predict", "ft", "the kitten sleeps near the old barn", "--json")
    assert code == 0, err
    prediction = json.loads(out)
    assert prediction["label"] in ("cat", "dog")
    assert sum(prediction["probabilities"].values()) == pytest.approx(1.0)


def test_finetune_errors_are_one_line(pretrained, dataset, capsys, tmp_path: Path) -> None:
    home, _ = pretrained
    code, _, err = run_cli(capsys, home, "finetune", "--task", "classify", "--train", str(dataset),
                           "--from", "pre:999", "--device", "cpu")
    assert code == 2 and "no checkpoint at step 999" in err and err.count("\n") == 1
    bad = tmp_path / "bad.tsv"
    bad.write_text("sentence\tlabel\nfine\tcat\nbroken\n", encoding="utf-8")
    code, _, err = run_cli(capsys, home, "finetune", "--task", "classify", "--train", str(bad), "--from", "pre")
    assert code == 2 and "bad.tsv:3: expected 2 columns" in err
    code, _, err = run_cli(capsys, home, "predict", "pre", "text")
    assert code == 2 and "pretrain run" in err


def test_test_file_is_scored_with_the_chosen_epoch_beside_the_baselines(pretrained, dataset, capsys,
                                                                        tmp_path: Path) -> None:
    """The held-out file is the validation file here, so the test score must equal the chosen epoch's validation
    score exactly; the training file has 100 of each label, so the majority baseline says "cat" (first in label
    order), right on 10 of these 30 rows."""
    home, _ = pretrained
    rng = random.Random(1)
    held = tmp_path / "held.tsv"
    rows = [f"{rng.choice(FRAMES).format(rng.choice(ANIMALS[label]))}\t{label}" for label in ["cat"] * 10 + ["dog"] * 20]
    held.write_text("sentence\tlabel\n" + "\n".join(rows) + "\n", encoding="utf-8")
    common = ["finetune", "--task", "classify", "--train", str(dataset), "--validation", str(held), "--epochs", "3",
              "--batch-size", "16", "--lr", "1e-3", "--device", "cpu", "--scratch", "seed-demo"]
    code, out, err = run_cli(capsys, home, *common, "--test", str(held), "--name", "ft-test", "--json")
    assert code == 0, out + err
    summary = json.loads(out)
    assert summary["validation"]["chose_the_epoch"] is True
    assert summary["validation"]["metrics"] == summary["best_metrics"] == summary["test"]["metrics"]
    floor = {"accuracy": 1 / 3, "macro_precision": 1 / 6, "macro_recall": 0.5, "macro_f1": 0.25}
    assert summary["validation"]["baseline"] == pytest.approx(floor)
    assert summary["test"]["baseline"] == pytest.approx(floor)
    with Workspace(home) as ws:
        stored = ws.store.get_run("ft-test").config
    assert stored["result"]["test_metrics"] == summary["best_metrics"]
    assert stored["result"]["baselines"]["test"] == summary["test"]["baseline"]
    assert stored["data"]["test"] == str(held.resolve()) and stored["data"]["test_examples"] == 30

    code, _, err = run_cli(capsys, home, *common, "--test", str(held), "--epochs", "1")
    assert code == 0, err
    assert "validation (chose the epoch): accuracy " in err and "\n  test: accuracy " in err
    assert "(majority class 0.3333)" in err and "no test file" not in err
    code, _, err = run_cli(capsys, home, *common, "--epochs", "1")
    assert code == 0, err
    assert "no test file: the validation score also chose the epoch" in err and "test: " not in err
