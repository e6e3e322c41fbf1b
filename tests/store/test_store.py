"""Tests of the run store on temporary SQLite files: migrations, pragmas, every RunStore method, constraints,
interrupted-run detection, batched metric writes and a reader working while another connection writes."""

from __future__ import annotations

import dataclasses
import math
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from workbench.store import MetricsWriter, RunStore, StoreError
from workbench.store.database import (
    alembic_config,
    create_sqlite_engine,
    current_revisions,
    head_revisions,
    writer,
)
from workbench.store.schema import Base

REPO = Path(__file__).resolve().parents[2]
TABLES = {"corpora", "tokenizers", "runs", "metrics", "latest_metrics", "checkpoints"}


@pytest.fixture
def store(tmp_path: Path):
    with RunStore.open(tmp_path / "workbench.db") as opened:
        yield opened


def add_corpus(store: RunStore, name: str = "wiki"):
    return store.add_corpus(name, ["/data/a.txt"], {"doc_mode": "line"}, "abc123", {"documents": 13}, [])


def add_tokenizer(store: RunStore, corpus_id: int, vocab_size: int = 99):
    config = {"type": "wordpiece", "vocab_size": vocab_size, "lowercase": True, "special": ("[CLS]", "[SEP]")}
    return store.add_tokenizer(corpus_id, "wordpiece", vocab_size, True, f"/tok/{vocab_size}", "fp", config)


def count(store: RunStore, table: str) -> int:
    with store._engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


# ---- migrations and connection settings ------------------------------------------------------------------------


def test_open_creates_folder_and_migrates_empty_file_to_head(tmp_path: Path) -> None:
    db = tmp_path / "deep" / "er" / "workbench.db"
    with RunStore.open(db) as store:
        assert db.exists()
        with store._engine.connect() as conn:
            assert current_revisions(conn) == head_revisions() != ()
            assert TABLES <= set(inspect(conn).get_table_names())


def test_migrated_schema_matches_the_models(store: RunStore) -> None:
    with store._engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        runs_checks = {c["name"] for c in inspect(conn).get_check_constraints("runs")}
        assert runs_checks == {"ck_runs_kind", "ck_runs_status"}


def test_downgrade_to_base_then_reopen_upgrades_in_place(tmp_path: Path) -> None:
    db = tmp_path / "workbench.db"
    RunStore.open(db).close()
    engine = create_sqlite_engine(db, foreign_keys=False)
    with writer(engine).begin() as conn:
        command.downgrade(alembic_config(conn), "base")
    with engine.connect() as conn:
        assert current_revisions(conn) == ()
        assert not TABLES & set(inspect(conn).get_table_names())
    engine.dispose()
    with RunStore.open(db) as store:
        assert add_corpus(store).id == 1
        with store._engine.connect() as conn:
            assert current_revisions(conn) == head_revisions()


def test_a_first_version_database_upgrades_in_place_keeping_its_runs(tmp_path: Path) -> None:
    db = tmp_path / "workbench.db"
    with RunStore.open(db) as store:
        run_id = store.create_run(name="old", kind="pretrain", config={"a": 1}, corpus_id=None, tokenizer_id=None).id
    engine = create_sqlite_engine(db, foreign_keys=False)
    with writer(engine).begin() as conn:
        command.downgrade(alembic_config(conn), "0001")  # the schema as the first release wrote it
    engine.dispose()
    with RunStore.open(db) as store:  # opening an old database migrates it, rows kept
        assert store.get_run(run_id).config == {"a": 1}
        with store._engine.connect() as conn:
            assert current_revisions(conn) == head_revisions() != ("0001",)


def test_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "workbench.db"
    RunStore.open(db).close()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(StoreError, match="newer"):
        RunStore.open(db)


def test_pragmas_are_in_effect(store: RunStore) -> None:
    with store._engine.connect() as conn:
        pragma = lambda name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
        assert pragma("journal_mode") == "wal"
        assert pragma("foreign_keys") == 1
        assert pragma("busy_timeout") == 5000
        assert pragma("synchronous") == 1  # NORMAL


# ---- corpora and tokenizers ------------------------------------------------------------------------------------


def test_corpus_add_get_list_delete(store: RunStore) -> None:
    wiki = add_corpus(store, "wiki")
    books = add_corpus(store, "books")
    assert store.get_corpus("wiki") == wiki
    assert store.get_corpus(wiki.id) == wiki
    assert store.get_corpus(str(books.id)) == books
    assert store.get_corpus("nope") is None and store.get_corpus(999) is None
    assert [c.name for c in store.list_corpora()] == ["books", "wiki"]
    assert wiki.paths == ["/data/a.txt"] and wiki.stats == {"documents": 13}
    assert wiki.to_dict()["created_at"].endswith("+00:00")
    with pytest.raises(StoreError, match="'wiki' already exists"):
        add_corpus(store, "wiki")
    with pytest.raises(StoreError, match="only digits"):
        add_corpus(store, "42")
    with pytest.raises(dataclasses.FrozenInstanceError):
        wiki.name = "other"  # type: ignore[misc]
    store.delete_corpus(wiki.id)
    assert [c.name for c in store.list_corpora()] == ["books"]
    with pytest.raises(StoreError, match="no corpus"):
        store.delete_corpus(wiki.id)


def test_tokenizers_and_reuse_by_config(store: RunStore) -> None:
    wiki, books = add_corpus(store, "wiki"), add_corpus(store, "books")
    small = add_tokenizer(store, wiki.id, 99)
    large = add_tokenizer(store, wiki.id, 1000)
    other = add_tokenizer(store, books.id, 99)
    assert store.get_tokenizer(small.id) == small and store.get_tokenizer(999) is None
    assert small.config["special"] == ["[CLS]", "[SEP]"]  # JSON turns tuples into lists
    assert [t.id for t in store.list_tokenizers()] == [small.id, large.id, other.id]
    assert [t.id for t in store.list_tokenizers(corpus_id=wiki.id)] == [small.id, large.id]
    wanted = {"special": ("[CLS]", "[SEP]"), "lowercase": True, "vocab_size": 1000, "type": "wordpiece"}
    assert store.find_tokenizer(wiki.id, wanted) == large
    assert store.find_tokenizer(books.id, wanted) is None
    assert store.find_tokenizer(wiki.id, {**wanted, "lowercase": False}) is None


def test_deleting_a_corpus_drops_its_tokenizers_and_keeps_its_runs(store: RunStore) -> None:
    corpus = add_corpus(store)
    tokenizer = add_tokenizer(store, corpus.id)
    run = store.create_run("keep-me", "pretrain", {}, corpus.id, tokenizer.id)
    store.delete_corpus(corpus.id)
    assert store.get_tokenizer(tokenizer.id) is None
    kept = store.get_run(run.id)
    assert kept is not None and kept.corpus_id is None and kept.tokenizer_id is None


# ---- runs ------------------------------------------------------------------------------------------------------


def test_create_run_names_and_lookup(store: RunStore) -> None:
    corpus = add_corpus(store)
    first = store.create_run(None, "pretrain", {"model": {"hidden_size": 24}}, corpus.id, None, preset="tiny")
    assert (first.name, first.status, first.kind, first.preset) == ("run-1", "queued", "pretrain", "tiny")
    assert first.config == {"model": {"hidden_size": 24}} and first.tags == [] and first.started_at is None
    store.create_run("run-3", "finetune", {}, None, None, parent_run_id=first.id)
    third = store.create_run(None, "pretrain", {}, corpus.id, None)
    assert third.id == 3 and third.name == "run-3-2"
    assert store.get_run(1) == store.get_run("1") == store.get_run("run-1") == first
    assert store.get_run("run-3").parent_run_id == first.id
    assert store.get_run("missing") is None and store.get_run(99) is None
    with pytest.raises(StoreError, match="'run-1' already exists"):
        store.create_run("run-1", "pretrain", {}, corpus.id, None)
    with pytest.raises(StoreError, match="unknown run kind"):
        store.create_run(None, "distilled", {}, corpus.id, None)
    with pytest.raises(StoreError, match="refused"):
        store.create_run(None, "pretrain", {}, 12345, None)  # no such corpus


def test_ids_are_never_reused_after_delete(store: RunStore) -> None:
    run = store.create_run(None, "pretrain", {}, None, None)
    store.delete_run(run.id)
    assert store.create_run(None, "pretrain", {}, None, None).id == run.id + 1


def test_status_lifecycle(store: RunStore) -> None:
    run = store.create_run(None, "pretrain", {}, None, None)
    running = store.set_status(run.id, "running")
    assert running.pid == os.getpid() and running.hostname == socket.gethostname()
    assert running.started_at is not None and running.ended_at is None
    assert store.set_status(run.id, "paused").ended_at is None
    time.sleep(0.01)
    resumed = store.set_status(run.id, "running")
    assert resumed.started_at == running.started_at
    failed = store.set_status(run.id, "failed", error="CUDA out of memory")
    assert failed.ended_at is not None and failed.error == "CUDA out of memory"
    again = store.set_status(run.id, "running")
    assert again.ended_at is None and again.error is None
    assert store.set_status(run.id, "completed").ended_at >= again.started_at
    with pytest.raises(StoreError, match="unknown run status"):
        store.set_status(run.id, "exploded")
    with pytest.raises(StoreError, match="no run"):
        store.set_status(999, "running")


def test_check_constraints_guard_status_and_kind(store: RunStore) -> None:
    run = store.create_run(None, "pretrain", {}, None, None)
    for statement in ("UPDATE runs SET status = 'exploded'", "UPDATE runs SET kind = 'distilled'"):
        with pytest.raises(IntegrityError, match="CHECK constraint failed"):
            with store._engine.begin() as conn:
                conn.execute(text(statement + f" WHERE id = {run.id}"))
    assert store.get_run(run.id).status == "queued"


def test_update_run(store: RunStore) -> None:
    run = store.create_run("a", "pretrain", {"x": 1}, None, None)
    store.create_run("b", "pretrain", {}, None, None)
    updated = store.update_run(run.id, notes="lr too high", tags=["baseline", "tiny"], device="cpu")
    assert (updated.notes, updated.tags, updated.device, updated.name) == ("lr too high", ["baseline", "tiny"], "cpu", "a")
    renamed = store.update_run(run.id, name="c", config={"x": 2})
    assert renamed.name == "c" and renamed.config == {"x": 2} and renamed.notes == "lr too high"
    with pytest.raises(StoreError, match="'b' already exists"):
        store.update_run(run.id, name="b")
    with pytest.raises(StoreError, match="no run"):
        store.update_run(999, notes="x")


def test_list_runs_newest_first_and_filtered(store: RunStore) -> None:
    ids = [store.create_run(None, kind, {}, None, None).id for kind in ("pretrain", "finetune", "pretrain")]
    store.set_status(ids[2], "running")
    assert [r.id for r in store.list_runs()] == ids[::-1]
    assert [r.id for r in store.list_runs(kind="pretrain")] == [ids[2], ids[0]]
    assert [r.id for r in store.list_runs(status="running")] == [ids[2]]
    assert store.list_runs(kind="finetune", status="running") == []


def test_delete_run_cascades_and_unlinks_children(store: RunStore) -> None:
    parent = store.create_run(None, "pretrain", {}, None, None)
    child = store.create_run(None, "finetune", {}, None, None, parent_run_id=parent.id)
    other = store.create_run(None, "pretrain", {}, None, None)
    for run_id in (parent.id, other.id):
        store.log_metrics(run_id, [("loss", 1, 2.5, 0), ("val_loss", 1, 2.7, 0)])
        store.add_checkpoint(run_id, 1, f"/runs/{run_id}/step-1", "0" * 64, 10)
    store.delete_run(parent.id)
    assert store.get_run(parent.id) is None
    assert store.get_run(child.id).parent_run_id is None
    assert (count(store, "metrics"), count(store, "latest_metrics"), count(store, "checkpoints")) == (2, 2, 1)
    with pytest.raises(StoreError, match="no run"):
        store.delete_run(parent.id)


# ---- metrics and checkpoints -----------------------------------------------------------------------------------


def test_log_metrics_keeps_latest_last_step_and_best_val_loss(store: RunStore) -> None:
    run = store.create_run(None, "pretrain", {}, None, None)
    store.log_metrics(run.id, [("loss", 7, 3.0, 100), ("val_loss", 7, 2.9, 101), ("loss", 13, 2.5, 102)])
    # A later batch with an older step must not displace the latest value; NaN is kept but never "best".
    store.log_metrics(run.id, [("loss", 5, 9.9, 103), ("val_loss", 14, 2.4, 104), ("val_loss", 21, math.nan, 105)])
    store.log_metrics(run.id, [("val_loss", 20, 2.6, 106), ("lr", 21, 1e-4, 107), ("lr", 21, 2e-4, 108)])
    latest = store.latest_metrics(run.id)
    assert latest["loss"] == 2.5 and latest["lr"] == 2e-4 and math.isnan(latest["val_loss"])
    record = store.get_run(run.id)
    assert record.last_step == 21 and record.best_val_loss == pytest.approx(2.4)
    assert store.metric_keys(run.id) == ["loss", "lr", "val_loss"]
    points = store.metrics(run.id)
    assert [(p.key, p.step) for p in points][:3] == [("loss", 5), ("loss", 7), ("loss", 13)]
    assert [p.step for p in store.metrics(run.id, "val_loss")] == [7, 14, 20, 21]
    assert [p.value for p in store.metrics(run.id, "loss", after_step=5)] == [3.0, 2.5]
    assert store.metrics(run.id, "loss")[0].to_dict() == {"key": "loss", "step": 5, "value": 9.9, "wall_time": 103}
    assert store.metrics(run.id, "val_loss")[-1].to_dict()["value"] is None  # NaN is not JSON
    with pytest.raises(StoreError, match="no run"):
        store.log_metrics(999, [("loss", 1, 1.0, 0)])
    assert count(store, "metrics") == 9  # the failed batch wrote nothing


def test_truncate_metrics_recomputes_summaries(store: RunStore) -> None:
    run = store.create_run(None, "pretrain", {}, None, None)
    store.log_metrics(run.id, [("loss", s, 10.0 - s, s) for s in range(1, 11)])
    store.log_metrics(run.id, [("val_loss", 5, 4.0, 5), ("val_loss", 10, 3.0, 10), ("acc", 8, 0.3, 8)])
    store.truncate_metrics(run.id, after_step=6)
    assert [p.step for p in store.metrics(run.id, "loss")] == [1, 2, 3, 4, 5, 6]
    assert store.latest_metrics(run.id) == {"loss": 4.0, "val_loss": 4.0}
    record = store.get_run(run.id)
    assert record.last_step == 6 and record.best_val_loss == 4.0
    store.truncate_metrics(run.id, after_step=0)
    record = store.get_run(run.id)
    assert store.latest_metrics(run.id) == {} and record.last_step is None and record.best_val_loss is None


def test_checkpoints(store: RunStore) -> None:
    run = store.create_run(None, "pretrain", {}, None, None)
    assert store.latest_checkpoint(run.id) is None
    store.add_checkpoint(run.id, 200, "/runs/1/step-200", "b" * 64, 2048, {"val_loss": 3.1})
    first = store.add_checkpoint(run.id, 100, "/runs/1/step-100", "a" * 64, 1024)
    assert [c.step for c in store.checkpoints(run.id)] == [100, 200]
    assert store.latest_checkpoint(run.id).metrics == {"val_loss": 3.1}
    again = store.add_checkpoint(run.id, 100, "/runs/1/step-100", "c" * 64, 1025)
    assert again.id == first.id and again.sha256 == "c" * 64 and len(store.checkpoints(run.id)) == 2
    assert again.to_dict()["size"] == 1025
    store.delete_checkpoint(run.id, 200)
    assert store.latest_checkpoint(run.id).step == 100
    with pytest.raises(StoreError, match="no checkpoint"):
        store.delete_checkpoint(run.id, 200)
    with pytest.raises(StoreError, match="no run"):
        store.add_checkpoint(999, 1, "/x", "d" * 64, 1)


def test_metrics_writer_batches(store: RunStore) -> None:
    run = store.create_run(None, "pretrain", {}, None, None)
    with MetricsWriter(store, run.id, flush_every_n=4, flush_every_s=3600) as metrics_writer:
        for step in range(1, 11):
            metrics_writer.add("loss", step, 1.0 / step)
            assert len(store.metrics(run.id)) == step // 4 * 4
    assert len(store.metrics(run.id)) == 10  # the tail was flushed on exit
    timed = MetricsWriter(store, run.id, flush_every_n=1000, flush_every_s=0.0)
    timed.add("lr", 1, 0.1, wall_time_ms=42)
    assert store.metrics(run.id, "lr")[0].wall_time == 42


# ---- interrupted runs ------------------------------------------------------------------------------------------


CLAIM_IN_CHILD = """
import sys
from workbench.store import RunStore
with RunStore.open(sys.argv[1]) as store:
    store.set_status(int(sys.argv[2]), "running")
    store.set_status(int(sys.argv[3]), "running")
    store.set_status(int(sys.argv[3]), "paused")
"""


def test_mark_interrupted_finds_runs_of_dead_processes(tmp_path: Path, store: RunStore) -> None:
    dead_running, dead_paused, ours, elsewhere, done = (
        store.create_run(None, "pretrain", {}, None, None).id for _ in range(5)
    )
    # A child process claims two runs and exits: its pid is dead (and reaped) when we check.
    args = [sys.executable, "-c", CLAIM_IN_CHILD, str(store.db_path), str(dead_running), str(dead_paused)]
    subprocess.run(args, check=True, cwd=REPO)
    store.set_status(ours, "running")
    store.set_status(elsewhere, "running")
    with store._engine.begin() as conn:
        conn.execute(text(f"UPDATE runs SET hostname = 'another-machine' WHERE id = {elsewhere}"))
    store.set_status(done, "completed")
    assert sorted(store.mark_interrupted()) == [dead_running, dead_paused, elsewhere]
    for run_id in (dead_running, dead_paused, elsewhere):
        run = store.get_run(run_id)
        assert run.status == "interrupted" and run.ended_at is not None and f"pid {run.pid}" in run.error
    assert "while the run was paused" in store.get_run(dead_paused).error
    assert store.get_run(ours).status == "running"
    assert store.get_run(done).status == "completed"
    assert store.mark_interrupted() == []


# ---- concurrency -----------------------------------------------------------------------------------------------


def test_open_read_transaction_does_not_block_the_writer(store: RunStore) -> None:
    run = store.create_run(None, "pretrain", {}, None, None)
    store.log_metrics(run.id, [("loss", 1, 1.0, 0)])
    reader = sqlite3.connect(store.db_path, isolation_level=None, timeout=0.1)
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM metrics").fetchone() == (1,)
    started = time.monotonic()
    store.log_metrics(run.id, [("loss", 2, 0.9, 0)])  # would wait on the reader's lock without WAL
    assert time.monotonic() - started < 1.0
    assert reader.execute("SELECT count(*) FROM metrics").fetchone() == (1,)  # its snapshot is stable
    reader.execute("COMMIT")
    assert reader.execute("SELECT count(*) FROM metrics").fetchone() == (2,)
    reader.close()


def test_reader_sees_whole_batches_while_another_store_writes(tmp_path: Path) -> None:
    db, batch, batches = tmp_path / "shared.db", 20, 30
    with RunStore.open(db) as writing_store, RunStore.open(db) as reading_store:
        run = writing_store.create_run(None, "pretrain", {}, None, None)
        errors: list[BaseException] = []

        def train() -> None:
            try:
                with MetricsWriter(writing_store, run.id, flush_every_n=batch, flush_every_s=3600) as metrics_writer:
                    for step in range(batch * batches):
                        metrics_writer.add("loss", step, 1.0 / (step + 1))
                        if step % batch == 0:
                            time.sleep(0.002)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
                errors.append(exc)

        thread = threading.Thread(target=train)
        thread.start()
        seen = []
        while thread.is_alive():
            points = reading_store.metrics(run.id, "loss")
            seen.append(len(points))
            assert [p.step for p in points] == list(range(len(points)))
        thread.join()
        assert not errors
        seen.append(len(reading_store.metrics(run.id, "loss")))
        assert all(n % batch == 0 for n in seen) and seen == sorted(seen) and seen[-1] == batch * batches
        assert reading_store.get_run(run.id).last_step == batch * batches - 1


def test_importing_the_store_does_not_import_torch() -> None:
    code = "import sys, workbench.store, workbench.store.runstore; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert result.stdout.strip() == "False"
