"""Distillation runs: the runs table's kind check allows `distill` (a student trained on a teacher run's soft
predictions; the teacher is the run's `parent_run_id`).

The check is rebuilt exactly as revision 0004 rebuilt it for `imported` (batch mode, keeping the AUTOINCREMENT
counter), with 0004's own function: revisions are never edited, and a second copy of that rebuild could drift.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Callable

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

KINDS_BEFORE = "kind IN ('pretrain', 'finetune', 'imported')"
KINDS_AFTER = "kind IN ('pretrain', 'finetune', 'imported', 'distill')"


def _replace_kind_check() -> Callable[[str], None]:
    # a revision file's name starts with a digit, so it is loaded by path, as alembic itself loads it
    spec = importlib.util.spec_from_file_location("workbench_store_revision_0004",
                                                  Path(__file__).with_name("0004_imported_runs.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module._replace_kind_check


def upgrade() -> None:
    _replace_kind_check()(KINDS_AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM runs WHERE kind = 'distill'")  # rows the older check would refuse
    _replace_kind_check()(KINDS_BEFORE)
