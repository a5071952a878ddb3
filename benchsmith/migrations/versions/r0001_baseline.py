"""Baseline: the workspace store as it was before the review queue (runs and their items).

Revision ID: 0001_baseline
Revises:
Create Date: 2026-12-01

The schema `Base.metadata.create_all` made up to commit 87c9d89; such a database (no
`alembic_version` table) is stamped with this revision before it is upgraded.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("suite", sa.String(200), nullable=False),
        sa.Column("spec_hash", sa.String(64), nullable=False),
        sa.Column("spec_path", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stop_reason", sa.String(200), nullable=True),
        sa.Column("version", sa.String(64), nullable=True),
        sa.Column("funnel", sa.JSON(), nullable=True),
        sa.Column("usage", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
    )
    op.create_index("ix_runs_suite_started", "runs", ["suite", "started_at"])
    op.create_table(
        "items",
        sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("suite", sa.String(200), nullable=False),
        sa.Column("item", sa.JSON(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("drop_stage", sa.String(200), nullable=True),
        sa.Column("drop_reason", sa.Text(), nullable=True),
        sa.Column("review_status", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_items_suite", "items", ["suite"])
    op.create_index("ix_items_run_passed", "items", ["run_id", "passed"])
    op.create_index("ix_items_review_status", "items", ["review_status"])


def downgrade() -> None:
    op.drop_table("items")
    op.drop_table("runs")
