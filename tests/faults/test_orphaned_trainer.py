"""The desktop window's training child when the window is killed with SIGKILL (issue 14 item 5, issue 15 defect
2): the child notices its parent is gone, saves a checkpoint, ends the run `stopped` and exits, instead of
training on alone. A real parent process starts the child exactly as the window does (`jobs.background`, a
spawned process and a shared `TrainControl`) and never reads its queue, as a dead window would not."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from conftest import RUN
from processes import kill, newest_checkpoint, run_row, start_script, wait_for

from workbench.store.processes import pid_alive

ROUNDS = 2
WINDOW = """
import multiprocessing, sys, time
from functools import partial
from pathlib import Path
from workbench.core.training_types import TrainControl
from workbench.jobs.background import child_main, train_resume

context = multiprocessing.get_context("spawn")
control, messages = TrainControl(context), context.Queue()  # kept: the child unpickles their semaphores
child = context.Process(target=child_main, args=(partial(train_resume, Path(sys.argv[1]), int(sys.argv[2])),
                                                 messages, control))
child.start()
print(child.pid, flush=True)
time.sleep(600)
"""


def test_a_training_child_stops_with_a_checkpoint_when_its_window_is_killed(run_home: Path) -> None:
    run_id = run_row(run_home, RUN)["id"]
    with sqlite3.connect(run_home / "workbench.db") as db:  # room to train on: the child resumes to this
        db.execute("UPDATE runs SET config = json_set(config, '$.train.steps', 2000) WHERE id = ?", (run_id,))
    survived, stopped_after = 0, []
    for round_ in range(ROUNDS):
        checkpoint = newest_checkpoint(run_home, run_id)
        window = start_script(WINDOW, str(run_home), str(run_id))
        child_pid = int(window.stdout.readline())
        wait_for(lambda: newest_checkpoint(run_home, run_id) >= checkpoint + 10, 120,
                 f"round {round_}: the child trains", window)
        killed_at = kill(window)
        wait_for(lambda: not pid_alive(child_pid), 60, "the orphaned child exits (it trained on alone)")
        stopped_after.append(time.monotonic() - killed_at)
        row = run_row(run_home, RUN)
        assert row["status"] == "stopped", row
        assert newest_checkpoint(run_home, run_id) >= max(row["last_step"], checkpoint + 10)  # saved where it stopped
        survived += 1
    print(f"\norphaned-child rounds survived: {survived}/{ROUNDS}; child stopped and exited "
          f"{', '.join(f'{s:.1f}' for s in stopped_after)} s after the kill")
