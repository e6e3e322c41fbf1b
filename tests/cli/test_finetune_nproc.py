"""`finetune --nproc 2` on the CPU (gloo, through torchrun) against one process: the same steps and epochs, the
same files in the home (rank 0 alone writes), losses within dropout's noise (the ranks draw their own dropout
masks, so the curves are not expected to be identical)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workbench.cli.main import main
from workbench.jobs.corpora import get_corpus
from workbench.jobs.tokenizers import train_tokenizer_for
from workbench.jobs.workspace import Workspace
from workbench.samples.tasks import write_subjects
from workbench.settings.tokenizer import TokenizerConfig
from workbench.store.runstore import RunStore

pytestmark = pytest.mark.slow


def home_with_tokenizer(home: Path) -> Path:
    with Workspace(home) as ws:
        train_tokenizer_for(ws, get_corpus(ws, None), TokenizerConfig(vocab_size=300))
    return home


def files(home: Path) -> set[str]:
    return {str(p.relative_to(home)) for p in home.rglob("*") if p.is_file() and not p.name.startswith("workbench.db")}


def test_two_processes_fine_tune_as_one_does(tmp_path: Path, capsys) -> None:
    train = write_subjects(tmp_path / "train.tsv", 60, seed=5, held_out=False)
    validation = write_subjects(tmp_path / "validation.tsv", 20, seed=6, held_out=True)
    args = ["finetune", "--task", "classify", "--train", str(train), "--validation", str(validation), "--scratch",
            "seed-demo", "--epochs", "2", "--batch-size", "12", "--max-len", "24", "--lr", "3e-3", "--device", "cpu",
            "--seed", "3", "--name", "ft", "--json"]
    one, two = home_with_tokenizer(tmp_path / "one"), home_with_tokenizer(tmp_path / "two")
    assert main(["--home", str(one), *args]) == 0
    alone = json.loads(capsys.readouterr().out)
    done = subprocess.run([sys.executable, "-m", "workbench", "--home", str(two), *args, "--nproc", "2"],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    together = json.loads(done.stdout)
    assert together["status"] == "completed" and (together["epochs"], together["steps"]) == (2, alone["steps"])
    assert files(two) == files(one)  # rank 1 wrote nothing of its own

    def curve(home: Path, key: str) -> list[tuple[int, float]]:
        with RunStore.open(home / "workbench.db") as store:
            [run] = [r for r in store.list_runs() if r.kind == "finetune"]
            return [(p.step, p.value) for p in store.metrics(run.id, key)]

    for key in ("epoch_train_loss", "val_loss"):
        got, want = curve(two, key), curve(one, key)
        assert [s for s, _ in got] == [s for s, _ in want]  # once per epoch, by rank 0
        assert [v for _, v in got] == pytest.approx([v for _, v in want], rel=0.15)


def _stop_after_first_checkpoint(home: Path, child: subprocess.Popen, name: str) -> None:
    """Ctrl-C the command once its run has saved a checkpoint; it ends `stopped` (a checkpoint at the stop)."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and child.poll() is None:
        if (home / "workbench.db").exists():
            with RunStore.open(home / "workbench.db") as store:
                run = store.get_run(name)
                if run is not None and store.latest_checkpoint(run.id) is not None:
                    break
        time.sleep(0.5)
    assert child.poll() is None, "the run ended before it could be stopped"
    child.send_signal(signal.SIGINT)
    child.communicate(timeout=120)
    with RunStore.open(home / "workbench.db") as store:
        assert store.get_run(name).status == "stopped"


@pytest.mark.parametrize("first, then", [(2, 1), (1, 2)], ids=["2-then-1", "1-then-2"])
def test_a_fine_tuning_run_resumes_on_another_number_of_processes(tmp_path: Path, capsys, first: int,
                                                                   then: int) -> None:
    train = write_subjects(tmp_path / "train.tsv", 480, seed=5, held_out=False)
    validation = write_subjects(tmp_path / "validation.tsv", 20, seed=6, held_out=True)
    home = home_with_tokenizer(tmp_path / "home")
    args = ["--home", str(home), "finetune", "--task", "classify", "--train", str(train), "--validation",
            str(validation), "--scratch", "seed-demo", "--epochs", "3", "--batch-size", "12", "--max-len", "24",
            "--device", "cpu", "--name", "ft", "--json"]
    launch = ["--nproc", str(first)] if first > 1 else []
    child = subprocess.Popen([sys.executable, "-m", "workbench", *args, *launch], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    _stop_after_first_checkpoint(home, child, "ft")
    resume = ["--home", str(home), "resume", "ft", "--json"] + (["--nproc", str(then)] if then > 1 else [])
    done = subprocess.run([sys.executable, "-m", "workbench", *resume], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    assert summary["status"] == "completed" and summary["epochs"] == 3
    with RunStore.open(home / "workbench.db") as store:
        run = store.get_run("ft")
        assert run.status == "completed"
        assert [p.step for p in store.metrics(run.id, "val_loss")] == sorted({p.step for p in
                                                                              store.metrics(run.id, "val_loss")})
