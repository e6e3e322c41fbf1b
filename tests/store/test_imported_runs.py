"""Revision 0004: the runs table takes kind `imported`; its downgrade drops those rows (the older check would
refuse them) and the rebuilt table still never reuses an id."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import inspect

from workbench.store import RunStore
from workbench.store.database import alembic_config, create_sqlite_engine, writer


def test_imported_runs_survive_until_a_downgrade_below_0004(tmp_path: Path) -> None:
    db = tmp_path / "workbench.db"
    with RunStore.open(db) as store:
        kept = store.create_run("trained", "pretrain", {}, None, None).id
        imported = store.create_run("bert", "imported", {"source": "/models/bert"}, None, None).id
        assert store.get_run(imported).kind == "imported"
    engine = create_sqlite_engine(db, foreign_keys=False)
    with writer(engine).begin() as conn:
        command.downgrade(alembic_config(conn), "0003")
    engine.dispose()
    with RunStore.open(db) as store:  # upgraded to head again on open
        assert [r.name for r in store.list_runs()] == ["trained"] and store.get_run(kept) is not None
        assert store.create_run("again", "imported", {}, None, None).id > imported
        with store._engine.connect() as conn:
            checks = {c["name"]: c["sqltext"] for c in inspect(conn).get_check_constraints("runs")}
    assert "'imported'" in checks["ck_runs_kind"]
