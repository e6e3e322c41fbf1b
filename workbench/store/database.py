"""The SQLite engine of the run store and its alembic migrations, applied in code when a store is opened.

Every connection gets WAL journalling (readers never block the writer), enforced foreign keys, a 5 s busy
timeout and synchronous=NORMAL. pysqlite's own transaction handling is switched off so SQLAlchemy's `begin`
event emits the BEGIN: plain `BEGIN` for reads, `BEGIN IMMEDIATE` on the `writer(engine)` view, which takes the
write lock up front so a read-then-write transaction waits for a busy database instead of failing mid-way.
Migrations run from `migrations/` next to this file with a `Config` built here (no alembic.ini, no dependence on
the current directory). To add a revision after changing `schema.py`:

    with writer(engine).begin() as conn:
        command.revision(alembic_config(conn), "what changed", autogenerate=True, rev_id="0002")
"""

from __future__ import annotations

import errno
from pathlib import Path
from urllib.parse import quote

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from workbench.store.records import StoreError, StoreWriteError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_WRITE = "workbench_write"  # execution option that turns BEGIN into BEGIN IMMEDIATE


def create_sqlite_engine(db_path: str | Path, *, foreign_keys: bool = True, pooled: bool = True,
                         read_only: bool = False) -> Engine:
    """An engine on `db_path` with the store's pragmas on every new connection; `read_only` opens the file for
    reading only (a home on a read-only disk), where every write fails."""
    engine = create_engine(
        _read_only_url(Path(db_path)) if read_only else f"sqlite:///{db_path}",
        # The pool hands a connection to one thread at a time, so sharing it across threads is safe.
        connect_args={"check_same_thread": False},
        poolclass=None if pooled else NullPool,
    )
    pragmas = (
        *(() if read_only else ("PRAGMA journal_mode=WAL",)),  # a read-only file keeps the mode it has
        f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}",
        "PRAGMA busy_timeout=5000",
        "PRAGMA synchronous=NORMAL",
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see _on_begin)
        for pragma in pragmas:
            dbapi_connection.execute(pragma).close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(_WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _read_only_url(db_path: Path) -> str:
    # A WAL database needs its -shm file, which a read-only folder cannot get: without a -wal file nothing is
    # pending and the file can be read as immutable; with one, SQLite reads the pending pages through it.
    immutable = "&immutable=1" if not db_path.with_name(db_path.name + "-wal").exists() else ""
    return f"sqlite:///file:{quote(str(db_path))}?mode=ro{immutable}&uri=true"


def check_at_head(db_path: str | Path) -> None:
    """Refuse a database that is not at the newest schema, without changing it (for a read-only home)."""
    engine = create_sqlite_engine(db_path, pooled=False, read_only=True)
    try:
        with engine.connect() as connection:
            current = set(current_revisions(connection))
    finally:
        engine.dispose()
    if current != set(head_revisions()):
        raise StoreError(f"the database {db_path} needs upgrading to this version's schema, but its folder is "
                         "read-only; open it once where it can be written")


def writer(engine: Engine) -> Engine:
    """The same engine (same pool) whose transactions start with BEGIN IMMEDIATE."""
    return engine.execution_options(**{_WRITE: True})


def alembic_config(connection: Connection | None = None) -> Config:
    """An alembic `Config` for the store's migrations; `migrations/env.py` runs on `connection`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revisions() -> tuple[str, ...]:
    return tuple(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_revisions(connection: Connection) -> tuple[str, ...]:
    return tuple(MigrationContext.configure(connection).get_current_heads())


def migrate_to_head(db_path: str | Path) -> None:
    """Upgrade the database at `db_path` (created if missing) to the newest schema, then check it is there.

    Runs in one BEGIN IMMEDIATE transaction, so two processes opening a new database do not both migrate, and
    with foreign keys off, so batch-mode table rebuilds in later revisions cannot cascade deletes; the foreign
    keys are checked before committing instead.
    """
    script = ScriptDirectory.from_config(alembic_config())
    heads = set(script.get_heads())
    known = {revision.revision for revision in script.walk_revisions()}
    engine = create_sqlite_engine(db_path, foreign_keys=False, pooled=False)
    try:
        with writer(engine).begin() as connection:
            current = set(current_revisions(connection))
            if current - known:
                raise StoreError(
                    f"the database {db_path} has schema revision {', '.join(sorted(current - known))}, written by a "
                    f"newer MLM Workbench; this version knows revisions up to {', '.join(sorted(heads))}"
                )
            if current != heads:
                command.upgrade(alembic_config(connection), "heads")
                _check_foreign_keys(connection)
            if set(current_revisions(connection)) != heads:
                raise StoreError(f"the database {db_path} is not at schema revision {', '.join(sorted(heads))}")
    finally:
        engine.dispose()


def _check_foreign_keys(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise StoreError(f"a migration left {len(broken)} broken foreign key(s), first in table {broken[0][0]!r}")


# SQLite's primary result codes (the low byte of an extended one) that mean the disk, not the request.
_SQLITE_REFUSED = {13: ("disk full", errno.ENOSPC), 8: ("read-only file system", errno.EROFS)}
_SQLITE_NOT_A_DATABASE = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB


def sqlite_code(error: DBAPIError) -> int | None:
    code = getattr(error.orig, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def refused_write(error: DBAPIError, db_path: str | Path) -> StoreWriteError | None:
    """`error` as a StoreWriteError when the database's disk is full or read-only, else None."""
    refused = _SQLITE_REFUSED.get(sqlite_code(error))  # type: ignore[arg-type]
    if refused is None:
        return None
    problem, code = refused
    return StoreWriteError(f"{problem}: the database {db_path} could not be written ({error.orig})", problem, code)


def unreadable_database(error: DBAPIError, db_path: str | Path) -> StoreError | None:
    """`error` as one line when the file is not an SQLite database (random bytes, a truncated or damaged file)."""
    if sqlite_code(error) not in _SQLITE_NOT_A_DATABASE:
        return None
    return StoreError(f"{db_path} is not a readable workbench database ({error.orig}); move it aside to start a new "
                      "one, or choose another --home")
