"""What a reader shows for a run that claims a process: `store/liveness.py` on its own (a pure function of the
row, the clock, the host and a pid check), then through `RunStore` with real processes."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from workbench.store import RunStore
from workbench.store.liveness import ALIVE, ENDED, GONE, SILENT, STALE_AFTER_MS, Holder, liveness, shown_status
from workbench.store.records import now_ms

HOST, NOW = "here", 1_000_000_000


def judge(status: str, pid: int | None, host: str | None, beat_ago_ms: int | None, alive: bool = True) -> str:
    beat = None if beat_ago_ms is None else NOW - beat_ago_ms
    return liveness(Holder(status, pid, host, beat), NOW, HOST, lambda pid: alive)


@pytest.mark.parametrize("status", ["completed", "failed", "stopped", "interrupted", "diverged"])
def test_ended_runs_claim_no_process(status: str) -> None:
    assert judge(status, 7, HOST, None, alive=False) == ENDED


@pytest.mark.parametrize("status", ["queued", "running", "paused"])
def test_a_dead_pid_on_this_host_is_gone_whatever_its_beat(status: str) -> None:
    assert judge(status, 7, HOST, 0, alive=False) == GONE
    assert judge(status, 7, HOST, None, alive=False) == GONE


def test_a_live_pid_is_alive_until_its_beat_is_stale() -> None:
    assert judge("running", 7, HOST, None) == ALIVE  # created, not claimed yet: the pid decides
    assert judge("running", 7, HOST, STALE_AFTER_MS) == ALIVE
    assert judge("running", 7, HOST, STALE_AFTER_MS + 1) == SILENT  # a reused pid, or a hung process
    assert judge("running", 7, HOST, -60_000) == ALIVE  # a beat from the future (the clock stepped back)


def test_another_host_is_judged_by_its_beat_alone() -> None:
    assert judge("running", 7, "elsewhere", 1_000, alive=False) == ALIVE
    assert judge("running", 7, "elsewhere", STALE_AFTER_MS + 1) == GONE
    assert judge("running", 7, "elsewhere", None) == GONE
    assert judge("queued", None, None, None) == GONE  # a queued row from before revision 0006 names no process


def test_shown_status_says_why() -> None:
    running = Holder("paused", 42, HOST, NOW - 20_000)
    assert shown_status(running, GONE, NOW) == ("interrupted", f"its process (pid 42 on {HOST}) ended while the "
                                                                "run was paused")
    assert shown_status(running, SILENT, NOW) == ("interrupted", f"its process (pid 42 on {HOST}) has not "
                                                                  "reported for 20 s while the run was paused")
    status, error = shown_status(Holder("queued", 42, HOST, None), GONE, NOW)
    assert status == "failed" and error.startswith("never started: its process (pid 42")
    assert shown_status(Holder("queued", None, None, None), GONE, NOW)[1] == (
        "never started: the process that created it ended before training began")
    with pytest.raises(ValueError):
        shown_status(running, ALIVE, NOW)


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _set(store: RunStore, run_id: int, **values: object) -> None:
    assignments = ", ".join(f"{column} = :{column}" for column in values)
    with store._engine.begin() as conn:
        conn.execute(text(f"UPDATE runs SET {assignments} WHERE id = :id"), {**values, "id": run_id})


def test_readers_show_dead_and_silent_runs_ended_and_the_sweep_writes_only_the_dead(tmp_path: Path) -> None:
    with RunStore.open(tmp_path / "workbench.db") as store:
        live, dead, silent, never = (store.create_run(f"r{i}", "pretrain", {}, None, None).id for i in range(4))
        for run_id in (live, dead, silent):
            store.set_status(run_id, "running")
            store.beat(run_id)
        _set(store, dead, pid=_dead_pid())
        _set(store, never, pid=_dead_pid())
        sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])  # a pid that is there
        try:
            _set(store, silent, pid=sleeper.pid, heartbeat_at=now_ms() - STALE_AFTER_MS - 5_000)
            shown = {run.id: run for run in store.list_runs()}
            assert shown[live].status == "running" and shown[live].pid is not None
            assert shown[dead].status == "interrupted" and "ended while the run was running" in shown[dead].error
            assert shown[silent].status == "interrupted" and "has not reported for" in shown[silent].error
            assert shown[never].status == "failed" and shown[never].error.startswith("never started")
            assert {run.id for run in store.list_runs(status="interrupted")} == {dead, silent}
            with store._engine.connect() as conn:  # shown, not written
                assert set(conn.execute(text("SELECT status FROM runs")).scalars()) == {"running", "queued"}
            assert sorted(store.mark_interrupted()) == [dead, never]  # the silent one may still wake up
        finally:
            sleeper.kill()
            sleeper.wait()
        with store._engine.connect() as conn:
            rows = dict(conn.execute(text("SELECT id, status FROM runs")).all())
        assert rows == {live: "running", dead: "interrupted", silent: "running", never: "failed"}
        assert store.get_run(live).hostname == socket.gethostname()


def test_a_zombie_counts_as_gone(tmp_path: Path) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("zombies are read from /proc")
    from workbench.store.processes import pid_alive

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        for _ in range(200):  # exited but not reaped: a zombie until wait()
            if not pid_alive(child.pid):
                break
            time.sleep(0.05)
        assert not pid_alive(child.pid)
    finally:
        child.wait()
