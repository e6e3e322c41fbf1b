"""The run store's tables as SQLAlchemy 2 typed declarative classes (modelled on MLflow's tracking store).

Every constraint has a name (from `NAMING_CONVENTION`) so alembic batch migrations on SQLite can find it;
timestamps are integer milliseconds since the epoch; JSON columns hold configs, options and lists. `metrics` is
append-only and indexed by (run_id, key, step); `latest_metrics` keeps the last value per key so run lists stay
fast. These classes are never handed out: `runstore.RunStore` converts rows to frozen dataclasses.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from workbench.store.records import RUN_KINDS, RUN_STATUSES

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# A run in one of these has ended: it gets an ended_at and no longer needs a live process.
TERMINAL_STATUSES = frozenset({"completed", "failed", "stopped", "interrupted", "diverged"})
# A run in one of these claims a live process (its pid, and its heartbeat once claimed): `liveness` checks it.
LIVE_STATUSES = frozenset({"queued", "running", "paused"})


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Corpus(Base):
    __tablename__ = "corpora"
    # AUTOINCREMENT: ids name folders on disk, so a deleted id must never come back.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    paths: Mapped[list[Any]]
    options: Mapped[dict[str, Any]]
    content_hash: Mapped[str] = mapped_column(String(128))
    stats: Mapped[dict[str, Any]]
    problems: Mapped[list[Any]]
    # The latest scan (files, structured problems, file fingerprint), made at add time and replaced by each
    # fresh read, so a rescan can reuse it while no file changed; NULL for corpora added before revision 0003
    # until their first read.
    scan: Mapped[dict[str, Any] | None]
    created_at: Mapped[int] = mapped_column(BigInteger)


class Tokenizer(Base):
    __tablename__ = "tokenizers"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    corpus_id: Mapped[int] = mapped_column(ForeignKey("corpora.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(32))
    vocab_size: Mapped[int] = mapped_column(Integer)
    lowercase: Mapped[bool] = mapped_column(Boolean)
    path: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(128))
    config: Mapped[dict[str, Any]]
    created_at: Mapped[int] = mapped_column(BigInteger)


class Run(Base):
    __tablename__ = "runs"
    __table_args__ = (
        CheckConstraint(_one_of("kind", RUN_KINDS), name="kind"),
        CheckConstraint(_one_of("status", RUN_STATUSES), name="status"),
        Index(None, "created_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    config: Mapped[dict[str, Any]]
    preset: Mapped[str | None] = mapped_column(String(64))
    # Runs outlive what they came from: deleting a parent, corpus or tokenizer keeps the run's history.
    parent_run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"), index=True)
    corpus_id: Mapped[int | None] = mapped_column(ForeignKey("corpora.id", ondelete="SET NULL"), index=True)
    tokenizer_id: Mapped[int | None] = mapped_column(ForeignKey("tokenizers.id", ondelete="SET NULL"), index=True)
    device: Mapped[str | None] = mapped_column(String(200))
    pid: Mapped[int | None] = mapped_column(Integer)
    hostname: Mapped[str | None] = mapped_column(String(255))
    # When the training process last said it is alive (every few seconds while it holds the run; revision 0006).
    heartbeat_at: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[int] = mapped_column(BigInteger)
    started_at: Mapped[int | None] = mapped_column(BigInteger)
    ended_at: Mapped[int | None] = mapped_column(BigInteger)
    notes: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[Any]]
    error: Mapped[str | None] = mapped_column(Text)
    last_step: Mapped[int | None] = mapped_column(Integer)
    best_val_loss: Mapped[float | None] = mapped_column(Float)


class Metric(Base):
    __tablename__ = "metrics"
    __table_args__ = (Index(None, "run_id", "key", "step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(250))
    step: Mapped[int] = mapped_column(Integer)
    # Nullable because SQLite stores NaN as NULL; a diverged run logs NaN losses and they must not be lost.
    value: Mapped[float | None] = mapped_column(Float)
    wall_time: Mapped[int] = mapped_column(BigInteger)


class LatestMetric(Base):
    __tablename__ = "latest_metrics"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[float | None] = mapped_column(Float)
    step: Mapped[int] = mapped_column(Integer)
    wall_time: Mapped[int] = mapped_column(BigInteger)


class Checkpoint(Base):
    __tablename__ = "checkpoints"
    __table_args__ = (UniqueConstraint("run_id", "step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    step: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))  # of model.safetensors
    # of training_state.pt; NULL for checkpoints saved before revision 0005 (and for imported weights: no state)
    state_sha256: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[int] = mapped_column(BigInteger)


class ProbeResult(Base):
    """A probe suite's metrics on one checkpoint of a run; re-evaluating the same suite version replaces the row."""

    __tablename__ = "probe_results"
    __table_args__ = (UniqueConstraint("run_id", "checkpoint_step", "suite_sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    checkpoint_step: Mapped[int] = mapped_column(Integer)
    suite_name: Mapped[str] = mapped_column(String(200))
    suite_sha256: Mapped[str] = mapped_column(String(64))
    metrics: Mapped[dict[str, Any]]
    created_at: Mapped[int] = mapped_column(BigInteger)
