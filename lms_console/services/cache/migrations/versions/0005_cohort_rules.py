"""Rule-based cohorts: a users filter per cohort, and the drift seen after the last sync.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cohort_rules",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("cohortid", sa.Integer(), nullable=False),
        sa.Column("spec", sa.Text(), server_default="{}", nullable=False),  # UserFilter JSON
        sa.Column("remove_others", sa.Boolean(), server_default="1", nullable=False),
        sa.Column("created_at", sa.Integer(), server_default="0", nullable=False),
        sa.Column("updated_at", sa.Integer(), server_default="0", nullable=False),
        sa.Column("checked_at", sa.Integer(), nullable=True),
        sa.Column("joins", sa.Integer(), nullable=True),
        sa.Column("leaves", sa.Integer(), nullable=True),
        sa.Column("in_step_since", sa.Integer(), nullable=True),
        sa.UniqueConstraint("cohortid", name="uq_cohort_rules_cohortid"),
    )


def downgrade() -> None:
    op.drop_table("cohort_rules")
