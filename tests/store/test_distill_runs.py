"""Revision 0007: the runs table takes kind `distill`, linked to its teacher by parent_run_id; its downgrade drops
those rows (the older check would refuse them) and the rebuilt table still never reuses an id."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect

from workbench.store import RunStore
from workbench.store.database import alembic_config, create_sqlite_engine, writer
from workbench.store.records import StoreError


def test_a_distill_run_links_to_its_teacher_until_a_downgrade_below_0007(tmp_path: Path) -> None:
    db = tmp_path / "workbench.db"
    with RunStore.open(db) as store:
        teacher = store.create_run("teacher", "pretrain", {}, None, None).id
        student = store.create_run("student", "distill", {}, None, None, parent_run_id=teacher).id
        assert (store.get_run(student).kind, store.get_run(student).parent_run_id) == ("distill", teacher)
        with pytest.raises(StoreError, match="unknown run kind 'distilled'"):
            store.create_run("typo", "distilled", {}, None, None)
    engine = create_sqlite_engine(db, foreign_keys=False)
    with writer(engine).begin() as conn:
        command.downgrade(alembic_config(conn), "0006")
        checks = {c["name"]: c["sqltext"] for c in inspect(conn).get_check_constraints("runs")}
    engine.dispose()
    assert "'distill'" not in checks["ck_runs_kind"] and "'imported'" in checks["ck_runs_kind"]
    with RunStore.open(db) as store:  # upgraded to head again on open
        assert [r.name for r in store.list_runs()] == ["teacher"]
        assert store.create_run("again", "distill", {}, None, None, parent_run_id=teacher).id > student
        with store._engine.connect() as conn:
            checks = {c["name"]: c["sqltext"] for c in inspect(conn).get_check_constraints("runs")}
    assert "'distill'" in checks["ck_runs_kind"]
