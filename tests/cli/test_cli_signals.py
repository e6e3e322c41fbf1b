"""SIGTERM (a scheduler's stop, `kill`) and SIGHUP (a closed terminal) stop a CLI run as Ctrl-C does: a final
checkpoint, status `stopped`, the --json summary, and exit 128 + the signal (143, 129). They used to kill the
trainer with no checkpoint and leave the run `running`; a run stopped before its first step had no checkpoint
at all and could not be resumed."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

import workbench.cli.train_cmd as train_cmd
from workbench.cli.main import main
from workbench.core.training_types import StatusEvent, StepEvent
from workbench.store.runstore import RunStore

TRAIN = ["train", "--preset", "seed-demo", "--steps", "500", "--max-len", "32", "--batch-size", "8",
         "--checkpoint-every", "0", "--eval-every", "0", "--device", "cpu", "--json"]


def send_at(monkeypatch: pytest.MonkeyPatch, signum: int, at_step: int) -> object:
    """Raise a real `signum`, handled by the CLI's own handler, when training reaches `at_step` (0: on start)."""
    original = train_cmd._LazyTrainingProgress.__call__

    def call(self, event: object) -> None:
        original(self, event)
        started = isinstance(event, StatusEvent) and event.status == "running" and at_step == 0
        if started or (isinstance(event, StepEvent) and event.step == at_step):
            signal.raise_signal(signum)

    monkeypatch.setattr(train_cmd._LazyTrainingProgress, "__call__", call)
    return original


@pytest.mark.parametrize("signum, at_step", [(signal.SIGTERM, 20), (signal.SIGHUP, 0)])
def test_a_signal_stops_the_run_with_a_checkpoint_and_it_resumes(home: Path, capsys, monkeypatch, signum: int,
                                                                 at_step: int) -> None:
    original = send_at(monkeypatch, signum, at_step)
    assert main(["--home", str(home), *TRAIN, "--name", "signalled"]) == 128 + signum
    summary = json.loads(capsys.readouterr().out)
    assert summary["status"] == "stopped" and summary["steps"] == at_step and summary["last_checkpoint"]
    with RunStore.open(home / "workbench.db") as store:
        run = store.get_run("signalled")
        assert run.status == "stopped" and store.latest_checkpoint(run.id).step == at_step
    monkeypatch.setattr(train_cmd._LazyTrainingProgress, "__call__", original)
    assert main(["--home", str(home), "resume", "signalled", "--steps", str(at_step + 10), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "completed"
