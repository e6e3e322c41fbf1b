"""What a user changes on recorded runs besides training them: a run's name, notes and tags, and deleting
several runs at once (each refused while it trains, the others still deleted).
"""

from __future__ import annotations

from typing import Sequence

from workbench.jobs.errors import UserError
from workbench.jobs.pretrain import delete_run
from workbench.jobs.workspace import Workspace
from workbench.store.runstore import RunRecord, StoreError


def annotate_run(ws: Workspace, run_id: int, name: str, notes: str, tags: list[str]) -> RunRecord:
    """Rename run `run_id` and replace its notes and tags; a taken or all-digit name raises `StoreError`."""
    return ws.store.update_run(run_id, name=name.strip(), notes=notes, tags=tags)


def delete_runs(ws: Workspace, run_ids: Sequence[int]) -> list[str]:
    """Delete each run and its folder; returns why any could not be (a run still training is refused)."""
    problems = []
    for run_id in run_ids:
        try:
            delete_run(ws, run_id)
        except (UserError, StoreError) as error:
            problems.append(str(error))
    return problems
