"""Checkpoint training states get a checksum: `checkpoints.state_sha256`, the sha256 of `training_state.pt`,
checked (with the weights' `sha256`) before a checkpoint is loaded.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # nullable: checkpoints saved before this revision have no recorded state checksum; only their weights are checked
    op.add_column("checkpoints", sa.Column("state_sha256", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("checkpoints") as batch:  # SQLite drops a column by rebuilding the table
        batch.drop_column("state_sha256")
