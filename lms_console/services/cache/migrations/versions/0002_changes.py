"""The change engine's journal and outbox: change runs and their items.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28

One table serves as journal and outbox: an item is queued (the outbox), sending, then
done / failed / skipped, or held for the admin; every applied item keeps its before and
after values, the function that carried it, the LMS's answer and its inverse.

Also: enrolments keep their role ids as a JSON array (``roleids``), and triggers keep
``enrolment_roles`` in step, rewriting it only when the roles change (re-syncing a million
enrolments no longer rewrites a million role rows).
"""

from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


ROLE_TRIGGERS = (
    """CREATE TRIGGER enrolments_roles_ai AFTER INSERT ON enrolments WHEN new.roleids <> '[]' BEGIN
        INSERT INTO enrolment_roles (courseid, userid, roleid)
        SELECT DISTINCT new.courseid, new.userid, value FROM json_each(new.roleids);
    END""",
    """CREATE TRIGGER enrolments_roles_au AFTER UPDATE OF roleids ON enrolments
    WHEN new.roleids IS NOT old.roleids BEGIN
        DELETE FROM enrolment_roles WHERE courseid = new.courseid AND userid = new.userid;
        INSERT INTO enrolment_roles (courseid, userid, roleid)
        SELECT DISTINCT new.courseid, new.userid, value FROM json_each(new.roleids);
    END""",
)


def upgrade() -> None:
    op.add_column("enrolments", sa.Column("roleids", sa.Text(), server_default="[]", nullable=False))
    # Existing enrolments take their roles from enrolment_roles (before the triggers exist).
    op.execute("UPDATE enrolments SET roleids = coalesce((SELECT json_group_array(r.roleid) FROM enrolment_roles r "
               "WHERE r.courseid = enrolments.courseid AND r.userid = enrolments.userid), '[]')")
    for trigger in ROLE_TRIGGERS:
        op.execute(trigger)
    op.create_table(
        "change_runs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.Integer(), server_default="0", nullable=False),
        sa.Column("finished_at", sa.Integer(), nullable=True),
        sa.Column("profile", sa.Text(), server_default="", nullable=False),
        sa.Column("lms_user", sa.Text(), server_default="", nullable=False),
        sa.Column("title", sa.Text(), server_default="", nullable=False),
        sa.Column("origin", sa.Text(), server_default="gui", nullable=False),
        sa.Column("status", sa.Text(), server_default="queued", nullable=False),
        sa.Column("undo_of", sa.Integer(), nullable=True),
    )
    op.create_table(
        "change_items",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("target", sa.Text(), server_default="", nullable=False),
        sa.Column("title", sa.Text(), server_default="", nullable=False),
        sa.Column("data", sa.Text(), server_default="{}", nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), server_default="queued", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("function", sa.Text(), server_default="", nullable=False),
        sa.Column("code", sa.Text(), server_default="", nullable=False),
        sa.Column("message", sa.Text(), server_default="", nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("inverse", sa.Text(), nullable=True),
        sa.Column("depends_on", sa.Text(), server_default="[]", nullable=False),
        sa.Column("updated_at", sa.Integer(), server_default="0", nullable=False),
        sa.Column("applied_at", sa.Integer(), nullable=True),
        sa.Column("undone_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["change_runs.id"], ondelete="CASCADE"),
        sa.UniqueConstraint("run_id", "seq", name="uq_change_items_run_seq"),
    )
    op.create_index("ix_change_items_status", "change_items", ["status"])
    op.create_index("ix_change_items_target", "change_items", ["target"])
    op.create_index("ix_change_items_applied_at", "change_items", ["applied_at"])


def downgrade() -> None:
    op.drop_table("change_items")
    op.drop_table("change_runs")
    op.execute("DROP TRIGGER IF EXISTS enrolments_roles_au")
    op.execute("DROP TRIGGER IF EXISTS enrolments_roles_ai")
    op.execute("ALTER TABLE enrolments DROP COLUMN roleids")
