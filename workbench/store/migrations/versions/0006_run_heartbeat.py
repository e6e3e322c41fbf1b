"""Runs get a heartbeat: `runs.heartbeat_at`, written every few seconds by the process that trains the run, so a
reader can tell a live run from one whose process died or hangs (`store.liveness`).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # nullable: runs recorded before this revision, and runs no process has claimed yet, have never beaten
    op.add_column("runs", sa.Column("heartbeat_at", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    # SQLite drops a column by rebuilding the table, which would restart the AUTOINCREMENT counter at the highest
    # id left (a deleted run's id, the name of its folder, could come back): carry the counter over, as 0004 does.
    bind = op.get_bind()
    counter = bind.execute(sa.text("SELECT seq FROM sqlite_sequence WHERE name = 'runs'")).scalar()
    with op.batch_alter_table("runs", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_column("heartbeat_at")
    if counter is not None:
        bind.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = 'runs'"))
        bind.execute(sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES ('runs', :seq)"), {"seq": counter})
