"""A worker's own workspace (`in_workspace`) and marking the runs of dead processes interrupted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from workbench.jobs.workspace import Workspace, in_workspace, mark_dead_runs_interrupted

REPO = Path(__file__).resolve().parents[2]
CLAIM_AND_EXIT = """
import sys
from workbench.store import RunStore
with RunStore.open(sys.argv[1]) as store:
    store.set_status(int(sys.argv[2]), "running")
"""


def test_in_workspace_calls_with_the_arguments_and_closes_after(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    closed: list[Path] = []
    monkeypatch.setattr(Workspace, "close", lambda ws: closed.append(ws.home))
    assert in_workspace(home, lambda ws, a, b=0: (ws.home, a, b), 1, b=2) == (home, 1, 2)
    assert closed == [home]

    def fails(ws: Workspace) -> None:
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        in_workspace(home, fails)
    assert closed == [home, home]  # closed when the job raises too


def test_runs_of_a_dead_process_become_interrupted(home: Path) -> None:
    with Workspace(home) as ws:
        dead, ours = (ws.store.create_run(None, "pretrain", {}, None, None).id for _ in range(2))
        subprocess.run([sys.executable, "-c", CLAIM_AND_EXIT, str(ws.store.db_path), str(dead)], check=True, cwd=REPO)
        ws.store.set_status(ours, "running")  # this process is alive
        assert mark_dead_runs_interrupted(ws) == [dead]
        assert ws.store.get_run(dead).status == "interrupted" and ws.store.get_run(ours).status == "running"
        assert mark_dead_runs_interrupted(ws) == []
