"""Saved user filters (navigation-tree nodes) and report snapshots (for offline review).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "saved_filters",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("spec", sa.Text(), server_default="{}", nullable=False),  # JSON filter definition
        sa.Column("position", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.Integer(), server_default="0", nullable=False),
        sa.Column("updated_at", sa.Integer(), server_default="0", nullable=False),
        sa.UniqueConstraint("name", name="uq_saved_filters_name"),
    )
    op.create_table(
        "report_snapshots",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.Text(), nullable=False),  # completion | completion_over_time | engagement | ...
        sa.Column("title", sa.Text(), server_default="", nullable=False),
        sa.Column("params", sa.Text(), server_default="{}", nullable=False),  # JSON
        sa.Column("data", sa.Text(), server_default="{}", nullable=False),  # JSON: table(s) behind the chart
        sa.Column("schema_version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("as_of", sa.Integer(), server_default="0", nullable=False),  # freshness of the data
        sa.Column("created_at", sa.Integer(), server_default="0", nullable=False),
        sa.Column("auto", sa.Boolean(), server_default="0", nullable=False),  # saved after a sync
    )
    op.create_index("ix_report_snapshots_kind", "report_snapshots", ["kind", "created_at"])


def downgrade() -> None:
    op.drop_table("report_snapshots")
    op.drop_table("saved_filters")
