"""The upload queue: files, folders and URLs dropped onto course sections, kept across restarts.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "upload_items",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("batch", sa.Text(), server_default="", nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("parent", sa.Integer(), nullable=True),
        sa.Column("courseid", sa.Integer(), nullable=False),
        sa.Column("sectionid", sa.Integer(), nullable=False),
        sa.Column("after_cmid", sa.Integer(), nullable=True),
        sa.Column("destination", sa.Text(), server_default="", nullable=False),
        sa.Column("source", sa.Text(), server_default="", nullable=False),
        sa.Column("relpath", sa.Text(), server_default="/", nullable=False),
        sa.Column("name", sa.Text(), server_default="", nullable=False),
        sa.Column("filename", sa.Text(), server_default="", nullable=False),
        sa.Column("size", sa.Integer(), server_default="0", nullable=False),
        sa.Column("mimetype", sa.Text(), server_default="", nullable=False),
        sa.Column("visible", sa.Boolean(), server_default="1", nullable=False),
        sa.Column("state", sa.Text(), server_default="queued", nullable=False),
        sa.Column("draft_itemid", sa.Integer(), nullable=True),
        sa.Column("cmid", sa.Integer(), nullable=True),
        sa.Column("contextid", sa.Integer(), nullable=True),
        sa.Column("snapshot", sa.Text(), nullable=True),
        sa.Column("code", sa.Text(), server_default="", nullable=False),
        sa.Column("message", sa.Text(), server_default="", nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("cleared", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("created_at", sa.Integer(), server_default="0", nullable=False),
        sa.Column("updated_at", sa.Integer(), server_default="0", nullable=False),
    )
    op.create_index("ix_upload_items_state", "upload_items", ["cleared", "state"])
    op.create_index("ix_upload_items_parent", "upload_items", ["parent"])


def downgrade() -> None:
    op.drop_table("upload_items")
