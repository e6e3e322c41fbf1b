"""A training process does not go on alone when the process that started it is killed (issue 14 item 5, issue
15 defect 2): the desktop window's training child, and the ranks `train --nproc` starts through torchrun.

A daemon thread looks at the parent once a second; when it is gone it asks the run's `TrainControl` to stop, so
the trainer saves a checkpoint and ends the run `stopped` (resumable), exactly as a Stop button would. On POSIX a
direct parent's death shows as a new parent pid (the child is adopted by init or a subreaper), which no reused
pid can fake; a farther ancestor (the command a torchrun rank was launched from) is watched by its pid.
`PR_SET_PDEATHSIG` is not used: Linux sends it when the *thread* that started the child ends, and the window
starts its child from a worker thread that ends long before the window does.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from contextlib import contextmanager
from typing import Iterator

from workbench.core.training_types import TrainControl
from workbench.store.processes import pid_alive

log = logging.getLogger(__name__)
LAUNCHER_PID_ENV = "MLM_WORKBENCH_LAUNCHER_PID"  # set by `--nproc` for the ranks torchrun starts
POLL_S = 1.0


class ParentWatch:
    """Whether the watched parent is gone (`orphaned`); see `stop_when_parent_dies`."""

    def __init__(self, parent_pid: int, control: TrainControl) -> None:
        self.parent_pid, self._control = parent_pid, control
        self._direct = sys.platform != "win32" and os.getppid() == parent_pid
        self._done = threading.Event()
        self.orphaned = False
        self._thread = threading.Thread(target=self._watch, name=f"parent-watch-{parent_pid}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._done.set()

    def parent_gone(self) -> bool:
        return os.getppid() != self.parent_pid if self._direct else not pid_alive(self.parent_pid)

    def _watch(self) -> None:
        while not self._done.wait(POLL_S):
            if self.parent_gone():
                self.orphaned = True
                log.warning("the parent process (pid %d) is gone: stopping the run after this step",
                            self.parent_pid)
                self._control.stop()
                return


@contextmanager
def stop_when_parent_dies(control: TrainControl, parent_pid: int | None) -> Iterator[ParentWatch | None]:
    """While inside, stop `control` if the process `parent_pid` ends (no watch when None)."""
    if parent_pid is None:
        yield None
        return
    watch = ParentWatch(parent_pid, control)
    watch.start()
    try:
        yield watch
    finally:
        watch.close()


def launcher_pid() -> int | None:
    """The pid of the command that launched this torchrun rank (`--nproc`), if it did."""
    value = os.environ.get(LAUNCHER_PID_ENV, "")
    return int(value) if value.isdigit() else None
