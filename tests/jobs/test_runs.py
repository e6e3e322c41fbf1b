"""What a user changes on recorded runs: name, notes and tags; deleting several; their metrics as one CSV file."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from workbench.jobs.metrics_csv import METRICS_CSV_HEADER, export_metrics_csv
from workbench.jobs.runs import annotate_run, delete_runs
from workbench.jobs.workspace import Workspace
from workbench.store.records import StoreError


@pytest.fixture
def ws(home: Path):
    with Workspace(home) as workspace:
        yield workspace


def test_annotate_run_renames_and_replaces_notes_and_tags(ws: Workspace) -> None:
    run = ws.store.create_run("first", "pretrain", {}, None, None)
    ws.store.create_run("taken", "pretrain", {}, None, None)
    changed = annotate_run(ws, run.id, "  renamed ", "what it tried", ["lr-sweep", "night"])
    assert (changed.name, changed.notes, changed.tags) == ("renamed", "what it tried", ["lr-sweep", "night"])
    assert ws.store.get_run(run.id) == changed
    with pytest.raises(StoreError, match="taken"):
        annotate_run(ws, run.id, "taken", "", [])
    with pytest.raises(StoreError):
        annotate_run(ws, run.id, "123", "", [])
    assert ws.store.get_run(run.id).name == "renamed"


def test_delete_runs_deletes_what_it_can_and_says_why_not_the_rest(ws: Workspace) -> None:
    done, live, other = (ws.store.create_run(name, "pretrain", {}, None, None) for name in ("done", "live", "other"))
    folder = ws.layout.run_dir(done.id)
    folder.mkdir(parents=True)
    ws.store.set_status(live.id, "running")
    problems = delete_runs(ws, [done.id, live.id, other.id])
    assert len(problems) == 1 and "'live' is running" in problems[0]
    assert [run.name for run in ws.store.list_runs()] == ["live"] and not folder.exists()


def test_export_metrics_csv_writes_every_runs_points_in_order(ws: Workspace, tmp_path: Path) -> None:
    first, second = (ws.store.create_run(name, "pretrain", {}, None, None) for name in ("a", "b"))
    ws.store.log_metrics(first.id, [("train_loss", 10, 5.5, 1000), ("val_loss", 10, float("nan"), 1001)])
    ws.store.log_metrics(second.id, [("train_loss", 10, 0.1 + 0.2, 2000)])
    path = tmp_path / "out.csv"
    assert export_metrics_csv(ws.store, [second.id, first.id], path) == 3
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    a, b = str(first.id), str(second.id)
    assert rows == [list(METRICS_CSV_HEADER), [b, "train_loss", "10", repr(0.1 + 0.2), "2000"],
                    [a, "train_loss", "10", "5.5", "1000"], [a, "val_loss", "10", "nan", "1001"]]
