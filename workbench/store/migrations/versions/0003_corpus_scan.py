"""Corpus scans: the scan made when a corpus was added, so a rescan can skip reading unchanged files.

Revision ID: 0003
Revises: 0002
Create Date: 2025-01-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # nullable: corpora added before this revision have no stored scan and are re-read as before
    op.add_column("corpora", sa.Column("scan", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("corpora") as batch:  # SQLite drops a column by rebuilding the table
        batch.drop_column("scan")
