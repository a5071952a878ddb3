"""The review queue: reviewers, queue entries and their verifier flags, decisions, audit log.

Revision ID: 0002_review_queue
Revises: 0001_baseline
Create Date: 2026-12-01

The schema `create_all` made from commit ebe2c60 (the first review queue) to 56bb4b7; such a
database (no `alembic_version` table) is stamped with this revision before it is upgraded.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_review_queue"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reviewers",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "review_queue",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("item_id", sa.String(64), nullable=False),
        sa.Column("suite", sa.String(200), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("generator", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("priority", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("item", sa.JSON(), nullable=False),
        sa.Column("edited_item", sa.JSON(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("suite", "item_id", name="uq_review_queue_suite_item"),
    )
    op.create_index("ix_review_queue_item", "review_queue", ["item_id"])
    op.create_index("ix_review_queue_status_priority", "review_queue", ["status", "priority", "id"])
    op.create_index("ix_review_queue_suite_status_priority", "review_queue", ["suite", "status", "priority", "id"])
    op.create_index("ix_review_queue_run", "review_queue", ["run_id", "status"])
    op.create_index("ix_review_queue_generator", "review_queue", ["generator", "status"])
    op.create_index("ix_review_queue_decided_by", "review_queue", ["decided_by", "status"])
    op.create_index("ix_review_queue_score", "review_queue", ["score"])
    op.create_table(
        "review_queue_flags",
        sa.Column("entry_id", sa.Integer(), sa.ForeignKey("review_queue.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("stage", sa.String(200), primary_key=True),
        sa.Column("reason", sa.Text(), nullable=True),
    )
    op.create_index("ix_review_queue_flags_stage", "review_queue_flags", ["stage", "entry_id"])
    op.create_table(
        "review_decisions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("entry_id", sa.Integer(), sa.ForeignKey("review_queue.id", ondelete="CASCADE"), nullable=False),
        sa.Column("item_id", sa.String(64), nullable=False),
        sa.Column("reviewer", sa.String(64), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("reason_code", sa.String(64), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("edited_fields", sa.JSON(), nullable=True),
        sa.Column("diff", sa.Text(), nullable=True),
        sa.Column("entry_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_review_decisions_entry", "review_decisions", ["entry_id", "created_at"])
    op.create_index("ix_review_decisions_reviewer", "review_decisions", ["reviewer", "created_at"])
    op.create_table(
        "review_audit",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("item_id", sa.String(64), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
    )
    op.create_index("ix_review_audit_entry", "review_audit", ["entry_id", "id"])
    op.create_index("ix_review_audit_at", "review_audit", ["at"])


def downgrade() -> None:
    for table in ("review_audit", "review_decisions", "review_queue_flags", "review_queue", "reviewers"):
        op.drop_table(table)
