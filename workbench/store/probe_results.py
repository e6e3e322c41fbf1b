"""Probe results in the run store: one row per (run, checkpoint step, probe-suite version) with its metrics.

`RunStore.add_probe_result` / `RunStore.probe_results` open the session and call the helpers here; the
suite is identified by the sha256 of its file, so a plot of knowledge against step never mixes two versions
of a suite that share a name. `metric_series` turns the rows into the (step, value) points of such a plot.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.store.queries import get_run_row
from workbench.store.records import StoreError, _Record, now_ms, record_from_row
from workbench.store.schema import ProbeResult


@dataclass(frozen=True)
class ProbeResultRecord(_Record):
    id: int
    run_id: int
    checkpoint_step: int
    suite_name: str
    suite_sha256: str
    metrics: dict[str, Any]  # {"k", "n_items", "overall": {...}, "groups": {name: {...}}}
    created_at: datetime


def save_probe_result(
    session: Session, run_id: int, checkpoint_step: int, suite_name: str, suite_sha256: str, metrics: dict[str, Any]
) -> ProbeResultRecord:
    """Insert a result, or replace the one of the same run, step and suite version."""
    get_run_row(session, run_id)
    row = session.scalar(select(ProbeResult).where(
        ProbeResult.run_id == run_id,
        ProbeResult.checkpoint_step == checkpoint_step,
        ProbeResult.suite_sha256 == suite_sha256,
    ))
    if row is None:
        row = ProbeResult(run_id=run_id, checkpoint_step=checkpoint_step, suite_sha256=suite_sha256)
        session.add(row)
    # A JSON round trip: the record then equals what later reads return (tuples become lists).
    row.suite_name, row.metrics, row.created_at = suite_name, json.loads(json.dumps(metrics)), now_ms()
    session.flush()
    return record_from_row(ProbeResultRecord, row)


def load_probe_results(session: Session, run_id: int, suite_sha256: str | None = None) -> list[ProbeResultRecord]:
    """A run's results by step (then suite name), optionally of one suite version."""
    query = select(ProbeResult).where(ProbeResult.run_id == run_id)
    if suite_sha256 is not None:
        query = query.where(ProbeResult.suite_sha256 == suite_sha256)
    query = query.order_by(ProbeResult.checkpoint_step, ProbeResult.suite_name, ProbeResult.id)
    return [record_from_row(ProbeResultRecord, row) for row in session.scalars(query)]


def metric_series(
    results: Sequence[ProbeResultRecord], metric: str = "precision_at_1", group: str | None = None
) -> list[tuple[int, float]]:
    """(checkpoint_step, value) of one metric, overall or of one group, for results of a single suite version."""
    versions = {r.suite_sha256 for r in results}
    if len(versions) > 1:
        raise StoreError(f"these results mix {len(versions)} versions of probe suites; pick one by its sha256")
    points = []
    for result in results:
        scope = result.metrics["overall"] if group is None else result.metrics["groups"].get(group)
        if scope is None:
            raise StoreError(f"no group {group!r} in the probe suite; known: {', '.join(result.metrics['groups'])}")
        if metric not in scope:
            raise StoreError(f"no metric {metric!r} in probe results; known: {', '.join(sorted(scope))}")
        points.append((result.checkpoint_step, float(scope[metric])))
    return points
