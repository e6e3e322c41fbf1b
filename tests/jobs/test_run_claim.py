"""Holding a run (`jobs/run_claim.py`): the lock refuses a second holder with one line, the heartbeat thread
beats while the run is held, deleting a held run is refused, and a parent watch stops a run's control when the
watched process ends (`jobs/parent_watch.py`)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

import workbench.jobs.parent_watch as parent_watch
import workbench.jobs.run_claim as run_claim
from workbench.core.file_lock import FileLock, LockHeld
from workbench.core.training_types import TrainControl
from workbench.jobs.errors import UserError
from workbench.jobs.pretrain import delete_run
from workbench.jobs.run_claim import RunBusy, claim_run
from workbench.jobs.workspace import Workspace
from workbench.store.records import now_ms


@pytest.fixture
def ws(tmp_path: Path):
    with Workspace(tmp_path / "home") as workspace:
        yield workspace


def test_a_held_run_beats_and_a_second_holder_is_refused(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run_claim, "BEAT_EVERY_S", 0.05)
    run = ws.store.create_run("held", "pretrain", {}, None, None)
    with claim_run(ws, run):
        first = ws.store.get_run(run.id).heartbeat_at
        assert first is not None and ws.store.get_run(run.id).pid == os.getpid()
        time.sleep(0.3)
        assert ws.store.get_run(run.id).heartbeat_at > first
        with pytest.raises(RunBusy) as busy:
            with claim_run(ws, run):
                pass
        assert str(busy.value) == f"run {run.id} ('held') is already running (pid {os.getpid()})"
        with pytest.raises(UserError, match="already running .* stop it before deleting it"):
            delete_run(ws, run.id)
    with claim_run(ws, run):  # given back on exit
        pass
    delete_run(ws, run.id)
    assert ws.store.get_run(run.id) is None


def test_a_run_beating_on_another_host_is_refused(ws: Workspace) -> None:
    run = ws.store.create_run("elsewhere", "pretrain", {}, None, None)
    ws.store.set_status(run.id, "running")
    with ws.store._engine.begin() as conn:
        conn.execute(text("UPDATE runs SET hostname = 'gpu-7', pid = 99, heartbeat_at = :now WHERE id = :id"),
                     {"now": now_ms(), "id": run.id})
    with pytest.raises(RunBusy, match=r"is already running \(pid 99 on gpu-7\)"):
        with claim_run(ws, ws.store.get_run(run.id)):
            pass


def test_the_lock_names_its_holder_in_another_process(tmp_path: Path) -> None:
    path = tmp_path / "run.lock"
    hold = ("import sys, time\nfrom workbench.core.file_lock import FileLock\n"
            "lock = FileLock.acquire(sys.argv[1])\nprint('held', flush=True)\ntime.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", hold, str(path)], stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).parents[2])
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LockHeld) as held:
            FileLock.acquire(path)
        assert held.value.pid == holder.pid
    finally:
        holder.kill()
        holder.wait()
    FileLock.acquire(path).release()  # a killed holder leaves no lock behind


def test_a_parent_watch_stops_the_control_when_the_parent_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parent_watch, "POLL_S", 0.05)
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    control = TrainControl()
    with parent_watch.stop_when_parent_dies(control, parent.pid) as watch:
        time.sleep(0.2)
        assert not control.stopped.is_set() and not watch.orphaned
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 5
        while not control.stopped.is_set() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert control.stopped.is_set() and watch.orphaned
    with parent_watch.stop_when_parent_dies(control, None) as none:
        assert none is None
