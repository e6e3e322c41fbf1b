"""What the run store hands out: frozen dataclasses (never live ORM rows) and its one error, `StoreError`.

Timestamps are kept as integer milliseconds in the database and become timezone-aware UTC datetimes here;
`to_dict()` gives JSON-ready dictionaries with ISO 8601 strings for the datetimes (for `--json` output).
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TypeVar


class StoreError(Exception):
    """A request the store cannot honour: a duplicate name, a missing row, an unknown status, a newer schema."""


class StoreWriteError(StoreError):
    """The database file could not be written: `problem` is "disk full" or "read-only file system", `code` the
    matching errno, so a training run can stop (resumable) instead of failing."""

    def __init__(self, message: str, problem: str, code: int) -> None:
        super().__init__(message)
        self.problem, self.code = problem, code


RUN_KINDS = ("pretrain", "finetune", "imported", "distill")  # what RunRecord.kind may be (imported: a Hugging Face
# model; distill: a student trained on a teacher run's predictions, the teacher its parent_run_id)
RUN_STATUSES = ("queued", "running", "paused", "completed", "failed", "stopped", "interrupted", "diverged")
MetricTuple = tuple[str, int, float, int]  # (key, step, value, wall_time_ms), as RunStore.log_metrics takes them
_TIMESTAMPS = ("created_at", "started_at", "ended_at", "heartbeat_at")  # integer milliseconds in the database
R = TypeVar("R")


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def from_ms(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


def record_from_row(cls: type[R], row: Any) -> R:
    """Copy an ORM row's columns into the record dataclass `cls`, timestamps as datetimes."""
    values = {name: getattr(row, name) for name in cls.__dataclass_fields__}  # type: ignore[attr-defined]
    for name in _TIMESTAMPS:
        if name in values:
            values[name] = from_ms(values[name])
    return cls(**values)


class _Record:
    def to_dict(self) -> dict[str, Any]:
        out = {}
        for field in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, field.name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, float) and not math.isfinite(value):
                value = None  # JSON has no NaN or infinity
            out[field.name] = value
        return out


@dataclass(frozen=True)
class CorpusRecord(_Record):
    id: int
    name: str
    paths: list[str]
    options: dict[str, Any]
    content_hash: str
    stats: dict[str, Any]
    problems: list[Any]
    scan: dict[str, Any] | None  # the latest scan, for `jobs.corpora.rescan` (may list thousands of files)
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        del out["scan"]  # bookkeeping, not something to show: `paths`, `stats` and `problems` say it all
        return out


@dataclass(frozen=True)
class TokenizerRecord(_Record):
    id: int
    corpus_id: int
    type: str
    vocab_size: int
    lowercase: bool
    path: str
    fingerprint: str
    config: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class RunRecord(_Record):
    id: int
    name: str
    kind: str
    status: str
    config: dict[str, Any]
    preset: str | None
    parent_run_id: int | None
    corpus_id: int | None
    tokenizer_id: int | None
    device: str | None
    pid: int | None
    hostname: str | None
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    notes: str | None
    tags: list[str]
    error: str | None
    last_step: int | None
    best_val_loss: float | None
    heartbeat_at: datetime | None = None  # the training process' last beat (see store/liveness.py)


@dataclass(frozen=True)
class MetricPoint(_Record):
    key: str
    step: int
    value: float  # NaN where the run logged NaN (SQLite keeps it as NULL)
    wall_time: int  # milliseconds since the epoch


@dataclass(frozen=True)
class CheckpointRecord(_Record):
    id: int
    run_id: int
    step: int
    path: str
    sha256: str  # of model.safetensors
    size: int
    metrics: dict[str, Any] | None
    created_at: datetime
    state_sha256: str | None = None  # of training_state.pt; None before revision 0005 and for imported weights
