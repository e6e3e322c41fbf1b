"""RunStore: the one door to the workbench database (corpora, tokenizers, runs, metrics, checkpoints).

Opening a store creates the file, applies migrations to head and checks the schema is there. Each call uses its
own short session (reads in a plain BEGIN, writes in BEGIN IMMEDIATE) that is closed before returning, and hands
back frozen dataclasses from `records.py`, so records are safe to pass between threads and outlive the session.
With WAL, several RunStore instances (threads or processes) may share one file: readers see whole committed
batches while a training process writes (`metrics_writer.MetricsWriter` batches a training loop's metrics).
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from workbench.store.database import (
    check_at_head,
    create_sqlite_engine,
    migrate_to_head,
    refused_write,
    unreadable_database,
    writer,
)
from workbench.store.liveness import ALIVE, ENDED, GONE, Holder, liveness, shown_status
from workbench.store.probe_results import ProbeResultRecord, load_probe_results, save_probe_result
from workbench.store.processes import pid_alive
from workbench.store.queries import (
    by_id_or_name,
    check_free_run_name,
    check_name,
    delete_one,
    finite,
    free_run_name,
    from_db,
    get_run_row,
    last_points,
    metric_row,
    to_db,
    upsert_latest,
)
from workbench.store.records import (
    RUN_KINDS,
    RUN_STATUSES,
    CheckpointRecord,
    CorpusRecord,
    MetricPoint,
    MetricTuple,
    RunRecord,
    StoreError,
    TokenizerRecord,
    now_ms,
    record_from_row,
)
from workbench.store.schema import (
    LIVE_STATUSES,
    TERMINAL_STATUSES,
    Checkpoint,
    Corpus,
    LatestMetric,
    Metric,
    Run,
    Tokenizer,
)

__all__ = [
    "CheckpointRecord",
    "CorpusRecord",
    "MetricPoint",
    "RunRecord",
    "RunStore",
    "StoreError",
    "TokenizerRecord",
]


def _holder(row: Run) -> Holder:
    return Holder(row.status, row.pid, row.hostname, row.heartbeat_at)


def _shown_run(row: Run, host: str, now: int) -> RunRecord:
    """The run as readers see it: a run whose process is gone or silent shows as ended (`store/liveness.py`)."""
    record = record_from_row(RunRecord, row)
    holder = _holder(row)
    verdict = liveness(holder, now, host, pid_alive)
    if verdict in (ALIVE, ENDED):
        return record
    status, error = shown_status(holder, verdict, now)
    return dataclasses.replace(record, status=status, error=error)


def _as_json(value: Any) -> Any:
    """`value` as it will read back from a JSON column (tuples become lists; a private copy), so the record an
    add or update returns equals what later reads return, and the caller's objects are never shared."""
    return json.loads(json.dumps(value))


class RunStore:
    """Records of the workbench in one SQLite file; use `RunStore.open(path)`, then `close()` (or `with`)."""

    def __init__(self, db_path: Path, read_only: bool = False) -> None:
        self.db_path = db_path
        self._engine = create_sqlite_engine(db_path, read_only=read_only)
        self._reader = sessionmaker(self._engine, expire_on_commit=False)
        self._writer = sessionmaker(writer(self._engine), expire_on_commit=False)

    @classmethod
    def open(cls, db_path: str | os.PathLike[str], read_only: bool = False) -> RunStore:
        """Open (creating if needed) the database at `db_path`, migrated to the newest schema; `read_only` (a
        home on a read-only disk) reads an existing database at the newest schema and refuses every write."""
        path = Path(db_path).expanduser().resolve()
        try:
            if read_only:
                if not path.is_file():
                    raise StoreError(f"there is no database at {path}, and its folder is read-only")
                check_at_head(path)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                migrate_to_head(path)
        except DBAPIError as exc:  # random bytes, a damaged file, or a disk that refuses the migration
            named = unreadable_database(exc, path) or refused_write(exc, path)
            if named is None:
                raise
            raise named from exc
        return cls(path, read_only)

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with self._reader() as session:
            yield session

    @contextmanager
    def _write(self) -> Iterator[Session]:
        try:
            with self._writer.begin() as session:
                yield session
        except IntegrityError as exc:
            raise StoreError(f"the database refused the change: {exc.orig}") from exc
        except OperationalError as exc:  # a full or read-only disk: one line, and a training run stops resumable
            refused = refused_write(exc, self.db_path)
            if refused is None:
                raise
            raise refused from exc

    # ---- corpora -------------------------------------------------------------------------------------------

    def add_corpus(
        self,
        name: str,
        paths: list[str],
        options: dict[str, Any],
        content_hash: str,
        stats: dict[str, Any],
        problems: list[Any],
        scan: dict[str, Any] | None = None,
    ) -> CorpusRecord:
        check_name("corpus", name)
        with self._write() as session:
            if session.scalar(select(Corpus.id).where(Corpus.name == name)) is not None:
                raise StoreError(f"a corpus named {name!r} already exists")
            row = Corpus(
                name=name,
                paths=_as_json(list(paths)),
                options=_as_json(options),
                content_hash=content_hash,
                stats=_as_json(stats),
                problems=_as_json(list(problems)),
                scan=_as_json(scan),
                created_at=now_ms(),
            )
            session.add(row)
            session.flush()
            return record_from_row(CorpusRecord, row)

    def get_corpus(self, name_or_id: str | int) -> CorpusRecord | None:
        with self._read() as session:
            row = by_id_or_name(session, Corpus, name_or_id)
            return None if row is None else record_from_row(CorpusRecord, row)

    def list_corpora(self) -> list[CorpusRecord]:
        with self._read() as session:
            return [record_from_row(CorpusRecord, row) for row in session.scalars(select(Corpus).order_by(Corpus.name))]

    def update_corpus_scan(self, corpus_id: int, scan: dict[str, Any]) -> None:
        """Replace the corpus' stored scan (a newer read of its files, see `workbench.core.corpus.rescan_corpus`)."""
        with self._write() as session:
            changed = session.execute(update(Corpus).where(Corpus.id == corpus_id).values(scan=_as_json(scan)))
            if changed.rowcount == 0:
                raise StoreError(f"no corpus with id {corpus_id}")

    def delete_corpus(self, corpus_id: int) -> None:
        """Delete a corpus and its tokenizers' rows; runs made from it keep their history (corpus_id NULL)."""
        with self._write() as session:
            delete_one(session, Corpus, corpus_id, "corpus")

    # ---- tokenizers ----------------------------------------------------------------------------------------

    def add_tokenizer(
        self,
        corpus_id: int,
        type: str,
        vocab_size: int,
        lowercase: bool,
        path: str,
        fingerprint: str,
        config: dict[str, Any],
    ) -> TokenizerRecord:
        with self._write() as session:
            row = Tokenizer(
                corpus_id=corpus_id,
                type=type,
                vocab_size=vocab_size,
                lowercase=lowercase,
                path=str(path),
                fingerprint=fingerprint,
                config=_as_json(config),
                created_at=now_ms(),
            )
            session.add(row)
            session.flush()
            return record_from_row(TokenizerRecord, row)

    def get_tokenizer(self, tokenizer_id: int) -> TokenizerRecord | None:
        with self._read() as session:
            row = session.get(Tokenizer, int(tokenizer_id))
            return None if row is None else record_from_row(TokenizerRecord, row)

    def list_tokenizers(self, corpus_id: int | None = None) -> list[TokenizerRecord]:
        query = select(Tokenizer).order_by(Tokenizer.id)
        if corpus_id is not None:
            query = query.where(Tokenizer.corpus_id == corpus_id)
        with self._read() as session:
            return [record_from_row(TokenizerRecord, row) for row in session.scalars(query)]

    def find_tokenizer(self, corpus_id: int, config: dict[str, Any]) -> TokenizerRecord | None:
        """The newest tokenizer trained on `corpus_id` with exactly `config`, to reuse instead of retraining."""
        wanted = _as_json(config)
        matches = [t for t in self.list_tokenizers(corpus_id) if t.config == wanted]
        return matches[-1] if matches else None

    # ---- runs ----------------------------------------------------------------------------------------------

    def create_run(
        self,
        name: str | None,
        kind: str,
        config: dict[str, Any],
        corpus_id: int | None,
        tokenizer_id: int | None,
        preset: str | None = None,
        parent_run_id: int | None = None,
        device: str | None = None,
    ) -> RunRecord:
        """Record a new `queued` run held by this process (its pid and host, so that a reader can tell a run whose
        process died before training began); with no name it is called `run-<id>`."""
        if kind not in RUN_KINDS:
            raise StoreError(f"unknown run kind {kind!r}; expected one of {', '.join(RUN_KINDS)}")
        if name is not None:
            check_name("run", name)
        with self._write() as session:
            if name is not None:
                check_free_run_name(session, name)
            row = Run(
                name=name or f"unnamed-{os.getpid()}-{now_ms()}",
                kind=kind,
                status="queued",
                config=_as_json(config),
                preset=preset,
                parent_run_id=parent_run_id,
                corpus_id=corpus_id,
                tokenizer_id=tokenizer_id,
                device=device,
                pid=os.getpid(),
                hostname=socket.gethostname(),
                created_at=now_ms(),
                tags=[],
            )
            session.add(row)
            session.flush()  # assigns row.id, which names the run
            if name is None:
                row.name = free_run_name(session, f"run-{row.id}")
            return self._shown(row)

    def set_status(self, run_id: int, status: str, error: str | None = None) -> RunRecord:
        """Move a run to `status`; `error` replaces its error text (None clears it).

        Becoming `running` records this process (pid, hostname) and the first start time and clears `ended_at`
        (a resumed run is live again); a terminal status records `ended_at`.
        """
        if status not in RUN_STATUSES:
            raise StoreError(f"unknown run status {status!r}; expected one of {', '.join(RUN_STATUSES)}")
        now = now_ms()
        with self._write() as session:
            row = get_run_row(session, run_id)
            row.status = status
            row.error = error
            row.ended_at = now if status in TERMINAL_STATUSES else None
            if status == "running":
                row.started_at = row.started_at or now
                row.pid = os.getpid()
                row.hostname = socket.gethostname()
            return self._shown(row)

    def update_run(
        self,
        run_id: int,
        *,
        name: str | None = None,
        notes: str | None = None,
        tags: list[str] | None = None,
        device: str | None = None,
        config: dict[str, Any] | None = None,
    ) -> RunRecord:
        """Change the given fields of a run (None leaves a field as it is)."""
        with self._write() as session:
            row = get_run_row(session, run_id)
            if name is not None and name != row.name:
                check_name("run", name)
                check_free_run_name(session, name)
                row.name = name
            for field, value in {"notes": notes, "device": device}.items():
                if value is not None:
                    setattr(row, field, value)
            for field, value in {"tags": tags, "config": config}.items():
                if value is not None:
                    setattr(row, field, _as_json(value))
            return self._shown(row)

    @staticmethod
    def _shown(row: Run) -> RunRecord:
        return _shown_run(row, socket.gethostname(), now_ms())

    def get_run(self, id_or_name: int | str) -> RunRecord | None:
        """A run by id (7 or "7") or by name, as readers see it (`_shown_run`); None if there is none."""
        with self._read() as session:
            row = by_id_or_name(session, Run, id_or_name)
            return None if row is None else self._shown(row)

    def list_runs(self, kind: str | None = None, status: str | None = None) -> list[RunRecord]:
        """Runs, newest first, optionally of one kind and/or (shown) status."""
        query = select(Run).order_by(Run.created_at.desc(), Run.id.desc())
        if kind is not None:
            query = query.where(Run.kind == kind)
        host, now = socket.gethostname(), now_ms()
        with self._read() as session:
            runs = [_shown_run(row, host, now) for row in session.scalars(query)]
        return runs if status is None else [run for run in runs if run.status == status]

    def beat(self, run_id: int) -> None:
        """Say that this process still holds run `run_id` (its heartbeat, every few seconds: `jobs.run_claim`)."""
        with self._write() as session:
            # Only the time: the pid and host are the run's own (creation, `running`), and a refused resume that
            # held the run for a moment must not rewrite who trained it.
            session.execute(update(Run).where(Run.id == run_id).values(heartbeat_at=now_ms()))

    def delete_run(self, run_id: int) -> None:
        """Delete a run's rows (metrics and checkpoints cascade); its files are the caller's to delete."""
        with self._write() as session:
            delete_one(session, Run, run_id, "run")

    def mark_interrupted(self) -> list[int]:
        """Write down what readers already show for runs whose process is gone: running/paused ones become
        `interrupted` (resumable), queued ones `failed` ("never started"); returns their ids.

        A process on another host cannot be asked, so its runs count as gone once their heartbeat is stale. A
        process that is there but silent is left alone: it may still wake up and finish (`store/liveness.py`).
        """
        host, now = socket.gethostname(), now_ms()
        ended = []
        with self._write() as session:
            for row in session.scalars(select(Run).where(Run.status.in_(LIVE_STATUSES))):
                holder = _holder(row)
                if liveness(holder, now, host, pid_alive) != GONE:
                    continue
                row.status, row.error = shown_status(holder, GONE, now)
                row.ended_at = now
                ended.append(row.id)
        return ended

    # ---- metrics -------------------------------------------------------------------------------------------

    def log_metrics(self, run_id: int, points: Iterable[MetricTuple]) -> None:
        """Append (key, step, value, wall_time_ms) points in one transaction and update the run's summaries."""
        rows = [
            {"run_id": run_id, "key": key, "step": int(step), "value": to_db(value), "wall_time": int(wall_time)}
            for key, step, value, wall_time in points
        ]
        if not rows:
            return
        with self._write() as session:
            run = get_run_row(session, run_id)
            session.execute(insert(Metric), rows)
            upsert_latest(session, rows)
            top_step = max(row["step"] for row in rows)
            run.last_step = top_step if run.last_step is None else max(run.last_step, top_step)
            val_losses = [r["value"] for r in rows if r["key"] == "val_loss" and finite(r["value"])]
            if val_losses:
                best = min(val_losses)
                run.best_val_loss = best if run.best_val_loss is None else min(run.best_val_loss, best)

    def truncate_metrics(self, run_id: int, after_step: int) -> None:
        """Drop a run's points after `after_step` (before resuming from a checkpoint) and redo its summaries."""
        with self._write() as session:
            run = get_run_row(session, run_id)
            session.execute(delete(Metric).where(Metric.run_id == run_id, Metric.step > after_step))
            session.execute(delete(LatestMetric).where(LatestMetric.run_id == run_id))
            last = session.scalars(last_points(run_id)).all()
            if last:
                upsert_latest(session, [metric_row(point) for point in last])
            run.last_step = max((point.step for point in last), default=None)
            best = session.scalar(
                select(func.min(Metric.value)).where(Metric.run_id == run_id, Metric.key == "val_loss")
            )
            run.best_val_loss = best if best is not None and finite(best) else None

    def metrics(self, run_id: int, key: str | None = None, after_step: int | None = None) -> list[MetricPoint]:
        """A run's points ordered by key then step; `after_step` keeps only later steps (for polling)."""
        query = select(Metric).where(Metric.run_id == run_id).order_by(Metric.key, Metric.step, Metric.id)
        if key is not None:
            query = query.where(Metric.key == key)
        if after_step is not None:
            query = query.where(Metric.step > after_step)
        with self._read() as session:
            return [
                MetricPoint(row.key, row.step, from_db(row.value), row.wall_time) for row in session.scalars(query)
            ]

    def metric_keys(self, run_id: int) -> list[str]:
        with self._read() as session:
            query = select(LatestMetric.key).where(LatestMetric.run_id == run_id).order_by(LatestMetric.key)
            return list(session.scalars(query))

    def latest_metrics(self, run_id: int) -> dict[str, float]:
        """The value at the highest step of each key."""
        with self._read() as session:
            rows = session.scalars(select(LatestMetric).where(LatestMetric.run_id == run_id))
            return {row.key: from_db(row.value) for row in rows}

    # ---- checkpoints ---------------------------------------------------------------------------------------

    def add_checkpoint(
        self, run_id: int, step: int, path: str, sha256: str, size: int, metrics: dict[str, Any] | None = None,
        state_sha256: str | None = None,
    ) -> CheckpointRecord:
        """Record a checkpoint (`sha256` of its weights, `state_sha256` of its training state); one saved again at
        the same step (after a resume) replaces the earlier row."""
        with self._write() as session:
            get_run_row(session, run_id)
            row = session.scalar(select(Checkpoint).where(Checkpoint.run_id == run_id, Checkpoint.step == step))
            if row is None:
                row = Checkpoint(run_id=run_id, step=step)
                session.add(row)
            row.path, row.sha256, row.state_sha256, row.size = str(path), sha256, state_sha256, int(size)
            row.metrics, row.created_at = _as_json(metrics), now_ms()
            session.flush()
            return record_from_row(CheckpointRecord, row)

    def checkpoints(self, run_id: int) -> list[CheckpointRecord]:
        """A run's checkpoints by step."""
        query = select(Checkpoint).where(Checkpoint.run_id == run_id).order_by(Checkpoint.step)
        with self._read() as session:
            return [record_from_row(CheckpointRecord, row) for row in session.scalars(query)]

    def latest_checkpoint(self, run_id: int) -> CheckpointRecord | None:
        query = select(Checkpoint).where(Checkpoint.run_id == run_id).order_by(Checkpoint.step.desc()).limit(1)
        with self._read() as session:
            row = session.scalar(query)
            return None if row is None else record_from_row(CheckpointRecord, row)

    def delete_checkpoint(self, run_id: int, step: int) -> None:
        """Forget the checkpoint of `run_id` at `step` (after its files were pruned)."""
        with self._write() as session:
            result = session.execute(delete(Checkpoint).where(Checkpoint.run_id == run_id, Checkpoint.step == step))
            if result.rowcount == 0:
                raise StoreError(f"run {run_id} has no checkpoint at step {step}")

    # ---- probe results -------------------------------------------------------------------------------------

    def add_probe_result(
        self, run_id: int, checkpoint_step: int, suite_name: str, suite_sha256: str, metrics: dict[str, Any]
    ) -> ProbeResultRecord:
        """Record a probe suite's metrics on one checkpoint (the same step and suite version replace the row)."""
        with self._write() as session:
            return save_probe_result(session, run_id, checkpoint_step, suite_name, suite_sha256, metrics)

    def probe_results(self, run_id: int, suite_sha256: str | None = None) -> list[ProbeResultRecord]:
        """A run's probe results by checkpoint step, optionally of one suite version (see probe_results.py)."""
        with self._read() as session:
            return load_probe_results(session, run_id, suite_sha256)
