"""The run store: SQLAlchemy tables, alembic migrations and a RunStore API of plain dataclasses."""

from __future__ import annotations

from workbench.store.metrics_writer import MetricsWriter
from workbench.store.records import (
    CheckpointRecord,
    CorpusRecord,
    MetricPoint,
    RunRecord,
    StoreError,
    TokenizerRecord,
)
from workbench.store.runstore import RunStore

__all__ = [
    "CheckpointRecord",
    "CorpusRecord",
    "MetricPoint",
    "MetricsWriter",
    "RunRecord",
    "RunStore",
    "StoreError",
    "TokenizerRecord",
]
