"""`train --objective clm` and `--objective electra` end to end through the CLI: the run records its objective,
the loss falls, validation has the objective's own numbers, a stopped run resumes, and fill-mask on an ELECTRA
run reads its generator and says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_cli_e2e import cli, train_losses

from workbench.store.runstore import RunStore

pytestmark = pytest.mark.slow

ARGS = ["train", "--preset", "tiny", "--steps", "80", "--batch-size", "16", "--max-len", "64", "--lr", "2e-3",
        "--warmup", "10", "--eval-every", "40", "--checkpoint-every", "40", "--log-every", "1", "--seed", "3",
        "--device", "cpu", "--json"]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    home = tmp_path_factory.mktemp("home")
    tok = json.loads(cli(home, "tokenizer", "train", "--type", "wordpiece", "--vocab-size", "2000", "--json").stdout)
    return home, tok["id"]


def _metrics(home: Path, run_id: int, key: str) -> list[float]:
    with RunStore.open(home / "workbench.db") as store:
        return [p.value for p in store.metrics(run_id, key)]


def test_clm_run_end_to_end(home: tuple[Path, int]) -> None:
    home, tokenizer = home
    summary = json.loads(cli(home, *ARGS, "--objective", "clm", "--name", "causal", "--tokenizer",
                             str(tokenizer)).stdout)
    assert summary["status"] == "completed" and summary["steps"] == 80
    losses = list(train_losses(home, summary["run_id"]).values())
    assert sum(losses[-10:]) < 0.8 * sum(losses[:10])
    assert summary["val_loss"] < summary["unigram_baseline_loss"]  # per next token, below guessing by frequency
    assert 0 < summary["val_accuracy"] < 1  # next-token accuracy
    shown = json.loads(cli(home, "runs", "show", "causal", "--json").stdout)
    assert shown["config"]["train"]["objective"] == "clm" and shown["config"]["model"]["is_decoder"] is True


def test_electra_run_end_to_end_and_its_fill_mask_uses_the_generator(home: tuple[Path, int]) -> None:
    home, tokenizer = home
    summary = json.loads(cli(home, *ARGS, "--steps", "40", "--objective", "electra", "--generator-hidden-size",
                             "0.25", "--disc-weight", "50", "--name", "replaced", "--tokenizer", str(tokenizer)).stdout)
    assert summary["status"] == "completed"
    run_id = summary["run_id"]
    accuracy = _metrics(home, run_id, "disc_accuracy")
    assert len(accuracy) == 1 and 0.5 < accuracy[0] <= 1  # most tokens are originals: above a coin flip
    assert _metrics(home, run_id, "disc_loss") and summary["val_loss"] > 0  # the generator's masked-LM loss
    filled = cli(home, "probe", "replaced", "the [MASK] of the city")
    assert "fill-mask reads its generator" in filled.stderr
    in_bf16 = cli(home, "probe", "replaced", "the [MASK] of the city", "--precision", "bf16", "--json")
    assert json.loads(in_bf16.stdout)["precision"] == "bf16"  # the generator is cast with its discriminator
    resumed = cli(home, "resume", "replaced", "--steps", "50", "--json")
    assert json.loads(resumed.stdout)["steps"] == 50


def test_electra_trains_on_two_processes_as_on_one_and_resumes_on_one(home: tuple[Path, int]) -> None:
    """`--nproc 2` on the CPU (gloo): the same losses as one process with the same global batch (dropout off: the
    ranks cannot draw one process's dropout masks; the generator's samples they do draw alike), to 1e-4 relative
    as `tests/core/test_distributed_training.py` justifies; the 2-process checkpoint resumes in one process."""
    home, tokenizer = home
    small = ["train", "--preset", "seed-demo", "--layers", "2", "--hidden", "32", "--heads", "2", "--ffn", "64",
             "--max-len", "32", "--batch-size", "8", "--steps", "8", "--log-every", "1", "--eval-every", "4",
             "--checkpoint-every", "4", "--warmup", "0", "--dropout", "0", "--device", "cpu", "--json",
             "--objective", "electra", "--tokenizer", str(tokenizer)]
    one = json.loads(cli(home, *small, "--name", "electra-one").stdout)
    two = json.loads(cli(home, *small, "--name", "electra-two", "--nproc", "2").stdout)
    assert two["status"] == "completed" and two["world_size"] == 2 and two["backend"] == "gloo"
    want, got = train_losses(home, one["run_id"]), train_losses(home, two["run_id"])
    assert sorted(got) == sorted(want) == list(range(1, 9))
    assert got == pytest.approx(want, rel=1e-4)
    assert _metrics(home, two["run_id"], "disc_accuracy") == pytest.approx(_metrics(home, one["run_id"],
                                                                                    "disc_accuracy"), rel=1e-4)
    resumed = json.loads(cli(home, "resume", "electra-two", "--steps", "10", "--json").stdout)
    assert resumed["status"] == "completed" and resumed["steps"] == 10 and resumed["world_size"] == 1
    refused = cli(home, *small, "--nproc", "2", "--shard", check=False)
    assert refused.returncode == 2 and "--objective electra trains data-parallel: leave out --shard" in refused.stderr
