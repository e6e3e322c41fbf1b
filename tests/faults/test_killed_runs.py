"""Runs whose process is killed with SIGKILL (issue 14 items 2-4): a reader that was already open shows the run
`interrupted` within 15 s with no new command; a second resume of a live run is refused with one line and
changes nothing; a run killed before training began is never left `queued`. Each scenario loops a few rounds
(`ROUNDS`) and counts the rounds it survived; docs/reliability.md records the figures."""

from __future__ import annotations

import time
from pathlib import Path

from conftest import RUN, cli, one_error_line
from processes import errors, kill, metric_rows, newest_checkpoint, run_row, start, start_script, wait_for

from workbench.store.liveness import STALE_AFTER_MS
from workbench.store.runstore import RunStore

ROUNDS = 3
SHOWN_WITHIN_S = STALE_AFTER_MS / 1000


def test_a_killed_run_shows_interrupted_at_once_and_resumes_without_losing_a_row(run_home: Path, capsys) -> None:
    """Each round resumes the run the last round killed (checking that every row the killed process had
    committed is kept up to its checkpoint and retrained alike after it), then kills it again once it has saved a
    checkpoint of its own."""
    run_id = run_row(run_home, RUN)["id"]
    survived, shown_after, committed, checkpoint = 0, [], metric_rows(run_home, run_id), 20
    with RunStore.open(run_home / "workbench.db") as reader:  # a window's Runs panel: open before, never reopened
        for round_ in range(ROUNDS):
            trainer = start(run_home, "resume", RUN, "--steps", "2000")
            wait_for(lambda: newest_checkpoint(run_home, run_id) >= checkpoint + 10, 120,
                     f"round {round_}: a checkpoint past the last round's", trainer)
            assert reader.get_run(run_id).status == "running"
            _check_kept(metric_rows(run_home, run_id), committed, checkpoint)
            # item 4: a second resume of the live run is refused, and touches nothing
            before = metric_rows(run_home, run_id)
            code, _, err = cli(capsys, run_home, "resume", RUN, "--steps", "2000")
            assert code == 2
            assert one_error_line(err) == (f"mlm-workbench: error: run {run_id} ({RUN!r}) is already running "
                                           f"(pid {trainer.pid})")
            assert metric_rows(run_home, run_id)[:len(before)] == before
            killed_at = kill(trainer)
            wait_for(lambda: reader.get_run(run_id).status == "interrupted", SHOWN_WITHIN_S, "shown interrupted")
            shown_after.append(time.monotonic() - killed_at)
            assert run_row(run_home, RUN)["status"] == "running"  # shown, not written: no command ran
            committed = metric_rows(run_home, run_id)  # what the killed process had committed
            checkpoint = newest_checkpoint(run_home, run_id)
            survived += 1
    code, _, err = cli(capsys, run_home, "resume", RUN, "--steps", str(checkpoint + 10), "--json")
    assert code == 0, err
    _check_kept(metric_rows(run_home, run_id), committed, checkpoint)
    print(f"\nkilled-run rounds survived: {survived}/{ROUNDS}; shown interrupted after "
          f"{', '.join(f'{s:.1f}' for s in shown_after)} s")
    assert survived == ROUNDS and max(shown_after) < SHOWN_WITHIN_S


def _check_kept(now: list[tuple[int, float]], committed: list[tuple[int, float]], checkpoint: int) -> None:
    """One row per step; the committed rows up to `checkpoint` kept as they were, later ones retrained alike."""
    assert len({step for step, _ in now}) == len(now)
    kept = [row for row in committed if row[0] <= checkpoint]
    assert now[:len(kept)] == kept
    retrained = dict(now)
    assert all(abs(retrained[step] - value) < 1e-6 for step, value in committed if step in retrained)


KILL_BEFORE_TRAINING = """
import os, signal, sys
from workbench.core import training
from workbench.cli.main import main

def killed(self, *args, **kwargs):  # the run is recorded (queued); training has not begun
    os.kill(os.getpid(), signal.SIGKILL)

training.Trainer.__init__ = killed
sys.exit(main(sys.argv[1:]))
"""


def test_a_run_killed_before_training_began_is_not_left_queued(run_home: Path, capsys) -> None:
    """Round 0 resumes the run (from step 0: it has no checkpoint), round 1 deletes it, freeing its name."""
    survived = 0
    for round_ in range(2):
        name = f"never-{round_}"
        process = start_script(KILL_BEFORE_TRAINING, "--home", str(run_home), "train", "--preset", "seed-demo",
                               "--steps", "20", "--max-len", "32", "--batch-size", "8", "--checkpoint-every", "10",
                               "--device", "cpu", "--name", name)
        process.communicate(timeout=120)
        assert process.returncode == -9, errors(process)
        assert run_row(run_home, name)["status"] == "queued"  # as stored: the process died holding it
        code, out, _ = cli(capsys, run_home, "runs", "show", name, "--json")
        assert code == 0 and '"status": "failed"' in out and "never started" in out
        if round_ == 0:
            code, out, err = cli(capsys, run_home, "resume", name, "--json")
            assert code == 0 and "training it from step 0" in err, err
            assert run_row(run_home, name)["status"] == "completed"
            assert newest_checkpoint(run_home, run_row(run_home, name)["id"]) == 20
        else:
            assert cli(capsys, run_home, "runs", "delete", name, "--yes")[0] == 0
            assert run_row(run_home, name) is None  # the name is free again
        survived += 1
    print(f"\nkilled-before-training rounds survived: {survived}/2")
