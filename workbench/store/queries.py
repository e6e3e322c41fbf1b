"""SQL building blocks that `RunStore` uses inside its sessions: lookups, name checks, latest-metric upserts.

They take an open session and never commit; the `RunStore` method that calls them owns the transaction.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from workbench.store.records import StoreError
from workbench.store.schema import Corpus, LatestMetric, Metric, Run


def check_name(what: str, name: str) -> None:
    if not name.strip():
        raise StoreError(f"a {what} name cannot be empty")
    if name.isdigit():
        raise StoreError(f"a {what} name cannot be only digits ({name!r} would read as an id)")


def by_id_or_name(session: Session, model: type[Corpus] | type[Run], ref: int | str) -> Any:
    row = None
    if isinstance(ref, int) or ref.isdigit():
        row = session.get(model, int(ref))
    if row is None and isinstance(ref, str):
        row = session.scalar(select(model).where(model.name == ref))
    return row


def get_run_row(session: Session, run_id: int) -> Run:
    row = session.get(Run, int(run_id))
    if row is None:
        raise StoreError(f"no run with id {run_id}")
    return row


def delete_one(session: Session, model: type[Any], row_id: int, what: str) -> None:
    if session.execute(delete(model).where(model.id == row_id)).rowcount == 0:
        raise StoreError(f"no {what} with id {row_id}")


def check_free_run_name(session: Session, name: str) -> None:
    if session.scalar(select(Run.id).where(Run.name == name)) is not None:
        raise StoreError(f"a run named {name!r} already exists")


def free_run_name(session: Session, base: str) -> str:
    name, suffix = base, 1
    while session.scalar(select(Run.id).where(Run.name == name)) is not None:
        suffix += 1
        name = f"{base}-{suffix}"
    return name


def upsert_latest(session: Session, rows: list[dict[str, Any]]) -> None:
    """Keep, per key, the point with the highest step (the later one on ties)."""
    latest: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["key"] not in latest or row["step"] >= latest[row["key"]]["step"]:
            latest[row["key"]] = row
    stmt = sqlite_insert(LatestMetric)
    stmt = stmt.on_conflict_do_update(
        index_elements=[LatestMetric.run_id, LatestMetric.key],
        set_={"value": stmt.excluded.value, "step": stmt.excluded.step, "wall_time": stmt.excluded.wall_time},
        where=stmt.excluded.step >= LatestMetric.step,
    )
    session.execute(stmt, list(latest.values()))


def last_points(run_id: int) -> Select[tuple[Metric]]:
    """Each key's point at its highest step (the last written on ties)."""
    ranked = (
        select(
            Metric.id,
            func.row_number()
            .over(partition_by=Metric.key, order_by=(Metric.step.desc(), Metric.id.desc()))
            .label("rank"),
        )
        .where(Metric.run_id == run_id)
        .subquery()
    )
    return select(Metric).join(ranked, Metric.id == ranked.c.id).where(ranked.c.rank == 1)


def metric_row(point: Metric) -> dict[str, Any]:
    return {name: getattr(point, name) for name in ("run_id", "key", "step", "value", "wall_time")}


def to_db(value: float) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value  # SQLite turns NaN into NULL anyway; say so explicitly


def from_db(value: float | None) -> float:
    return math.nan if value is None else value


def finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)
