"""Imported runs: the runs table's kind check allows `imported` (a Hugging Face model brought in).

SQLite cannot alter a CHECK constraint, so batch mode rebuilds the table with the new one.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

KINDS_BEFORE = "kind IN ('pretrain', 'finetune')"
KINDS_AFTER = "kind IN ('pretrain', 'finetune', 'imported')"


def _replace_kind_check(condition: str) -> None:
    # The rebuild starts a new AUTOINCREMENT counter at the highest id left, so a deleted run's id (and the
    # name of its folder) could come back: carry the old counter over.
    bind = op.get_bind()
    counter = bind.execute(sa.text("SELECT seq FROM sqlite_sequence WHERE name = 'runs'")).scalar()
    with op.batch_alter_table("runs", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_constraint(op.f("ck_runs_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_runs_kind"), condition)
    if counter is not None:
        bind.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = 'runs'"))
        bind.execute(sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES ('runs', :seq)"), {"seq": counter})


def upgrade() -> None:
    _replace_kind_check(KINDS_AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM runs WHERE kind = 'imported'")  # rows the older check would refuse
    _replace_kind_check(KINDS_BEFORE)
