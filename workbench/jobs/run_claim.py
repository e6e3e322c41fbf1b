"""Holding a run while a process trains it: an exclusive lock on `run.lock` in the run's folder and a heartbeat.

Whoever trains a run (a new run once it is recorded, a resumed one before anything of it changes) claims it
first. The lock makes a second process that wants the same run fail at once with one line, "run 3 is already
running (pid 1234)" (before, two resumes of one run both truncated and rewrote its metrics: 109 train_loss rows
for 60 steps); the system drops it when the holder exits, even after a kill -9. The heartbeat thread writes
`runs.heartbeat_at` every `BEAT_EVERY_S` seconds whatever the training loop is doing (a long evaluation, a pause,
a slow step), so a reader that sees no beat for 15 s knows the process is gone or hung (`store/liveness.py`).
A beat the disk refuses is skipped: the training loop reports a full disk itself.
"""

from __future__ import annotations

import logging
import socket
import threading
from contextlib import contextmanager
from typing import Iterator

from workbench.core.file_lock import FileLock, LockHeld
from workbench.jobs.errors import UserError
from workbench.jobs.workspace import Workspace
from workbench.store.liveness import BEAT_EVERY_S
from workbench.store.records import RunRecord

log = logging.getLogger(__name__)
LOCK_NAME = "run.lock"


class RunBusy(UserError):
    """The run is held by another process (it trains it now)."""


def busy_message(run: RunRecord, pid: int | None, host: str | None = None) -> str:
    where = "" if host in (None, socket.gethostname()) else f" on {host}"
    return f"run {run.id} ({run.name!r}) is already running (pid {pid or 'unknown'}{where})"


@contextmanager
def claim_run(ws: Workspace, run: RunRecord) -> Iterator[None]:
    """Hold `run` for the duration: refuse it (`RunBusy`) when another process holds it, else lock it and beat."""
    if run.status in ("running", "paused") and run.hostname != socket.gethostname():
        raise RunBusy(busy_message(run, run.pid, run.hostname))  # alive elsewhere: its beat is fresh
    run_dir = ws.layout.run_dir(run.id)
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        lock = FileLock.acquire(run_dir / LOCK_NAME)
    except LockHeld as held:
        raise RunBusy(busy_message(run, held.pid or run.pid)) from None
    try:
        ws.store.beat(run.id)  # at once: the run's last beat may be old, and it is about to be `running` again
        with _Heartbeat(ws, run.id):
            yield
    finally:
        lock.release()


class _Heartbeat:
    def __init__(self, ws: Workspace, run_id: int) -> None:
        self._ws, self._run_id = ws, run_id
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-run-{run_id}", daemon=True)

    def _beat(self) -> None:
        while not self._done.wait(BEAT_EVERY_S):
            try:
                self._ws.store.beat(self._run_id)
            except Exception as error:  # a full disk, a database locked past its timeout: the next beat may pass,
                log.warning("heartbeat of run %d skipped: %s", self._run_id, error)  # and this thread must not end

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()
