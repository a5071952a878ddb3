"""Blind double review and page data: reviews needed, first reviewer, cluster, neighbours; decision phase and origin.

Revision ID: 0003_double_review
Revises: 0002_review_queue
Create Date: 2026-12-01

Every new column is nullable or has a server default, so the rows already there stay valid:
an existing entry needs one review and an existing decision was a single review made on the web.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_double_review"
down_revision = "0002_review_queue"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("review_queue") as batch:
        batch.add_column(sa.Column("reviews_needed", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("first_reviewer", sa.String(64), nullable=True))
        batch.add_column(sa.Column("cluster", sa.String(200), nullable=True))
        batch.add_column(sa.Column("neighbours", sa.JSON(), nullable=True))
        batch.create_index("ix_review_queue_cluster", ["cluster", "status"])
    with op.batch_alter_table("review_decisions") as batch:
        batch.add_column(sa.Column("phase", sa.String(16), nullable=False, server_default="review"))
        batch.add_column(sa.Column("origin", sa.String(200), nullable=False, server_default="web"))


def downgrade() -> None:
    with op.batch_alter_table("review_decisions") as batch:
        batch.drop_column("origin")
        batch.drop_column("phase")
    with op.batch_alter_table("review_queue") as batch:
        batch.drop_index("ix_review_queue_cluster")
        batch.drop_column("neighbours")
        batch.drop_column("cluster")
        batch.drop_column("first_reviewer")
        batch.drop_column("reviews_needed")
