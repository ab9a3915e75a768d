"""Initial schema: every table, the users FTS5 index and the triggers that keep derived tables in step.

Revision ID: 0001
Revises:
Create Date: 2026-11-28

Frozen: later changes go into new revisions, never here (caches in the field were built by this file).
"""

from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPLICATION_ID = 0x4C4D5343  # "LMSC"

_FTS_COLS = "username, firstname, lastname, email, idnumber, department"
_PER_USER = ("user_custom_fields", "user_access_history", "cohort_members", "group_members",
             "enrolments", "course_progress", "activity_completion", "grades")
# Custom fields are stored as JSON arrays [shortname, value, displayvalue, name, type].
# No "INSERT OR IGNORE/REPLACE" in trigger bodies: the conflict policy of the statement that fires a
# trigger (an UPSERT: abort) overrides theirs. Duplicates are avoided explicitly instead.
_CF_INSERT = """INSERT INTO user_custom_fields (userid, shortname, value, displayvalue)
        SELECT new.id, sn, v, dv FROM (
            SELECT json_extract(j.value, '$[0]') AS sn, json_extract(j.value, '$[1]') AS v,
                   json_extract(j.value, '$[2]') AS dv, max(j.key)
            FROM json_each(new.customfields) AS j GROUP BY 1) WHERE sn IS NOT NULL"""


def _history(userid: str, courseid: str, lastaccess: str) -> str:
    return f"""INSERT INTO user_access_history (userid, courseid, lastaccess, observed_at)
        SELECT {userid}, {courseid}, {lastaccess}, new.synced_at WHERE NOT EXISTS (
            SELECT 1 FROM user_access_history
            WHERE userid = {userid} AND courseid = {courseid} AND lastaccess = {lastaccess})"""


FTS_AND_TRIGGERS = (
    # External-content FTS5 index: the text lives once, in users; triggers keep the index in step.
    f"""CREATE VIRTUAL TABLE users_fts USING fts5({_FTS_COLS}, content='users', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2', prefix='2 3')""",
    f"""CREATE TRIGGER users_fts_ai AFTER INSERT ON users BEGIN
        INSERT INTO users_fts (rowid, {_FTS_COLS})
        VALUES (new.id, new.username, new.firstname, new.lastname, new.email, new.idnumber, new.department);
    END""",
    f"""CREATE TRIGGER users_fts_ad AFTER DELETE ON users BEGIN
        INSERT INTO users_fts (users_fts, rowid, {_FTS_COLS})
        VALUES ('delete', old.id, old.username, old.firstname, old.lastname, old.email, old.idnumber, old.department);
    END""",
    # Only when a searched column really changed (BINARY: the columns themselves are NOCASE), so a
    # re-sync of unchanged users does not rewrite the index.
    f"""CREATE TRIGGER users_fts_au AFTER UPDATE OF {_FTS_COLS} ON users
    WHEN old.username IS NOT new.username COLLATE BINARY OR old.firstname IS NOT new.firstname COLLATE BINARY
      OR old.lastname IS NOT new.lastname COLLATE BINARY OR old.email IS NOT new.email COLLATE BINARY
      OR old.idnumber IS NOT new.idnumber COLLATE BINARY OR old.department IS NOT new.department COLLATE BINARY
    BEGIN
        INSERT INTO users_fts (users_fts, rowid, {_FTS_COLS})
        VALUES ('delete', old.id, old.username, old.firstname, old.lastname, old.email, old.idnumber, old.department);
        INSERT INTO users_fts (rowid, {_FTS_COLS})
        VALUES (new.id, new.username, new.firstname, new.lastname, new.email, new.idnumber, new.department);
    END""",
    f"""CREATE TRIGGER users_cf_ai AFTER INSERT ON users WHEN new.customfields <> '[]' BEGIN
        {_CF_INSERT};
    END""",
    f"""CREATE TRIGGER users_cf_au AFTER UPDATE OF customfields ON users
    WHEN old.customfields IS NOT new.customfields BEGIN
        DELETE FROM user_custom_fields WHERE userid = old.id;
        {_CF_INSERT};
    END""",
    # Moodle has no log API: engagement over time is built from these observations.
    f"""CREATE TRIGGER users_access_ai AFTER INSERT ON users WHEN new.lastaccess > 0 BEGIN
        {_history("new.id", "0", "new.lastaccess")};
    END""",
    f"""CREATE TRIGGER users_access_au AFTER UPDATE OF lastaccess ON users
    WHEN new.lastaccess > 0 AND new.lastaccess IS NOT old.lastaccess BEGIN
        {_history("new.id", "0", "new.lastaccess")};
    END""",
    f"""CREATE TRIGGER enrolments_access_ai AFTER INSERT ON enrolments WHEN new.lastcourseaccess > 0 BEGIN
        {_history("new.userid", "new.courseid", "new.lastcourseaccess")};
    END""",
    f"""CREATE TRIGGER enrolments_access_au AFTER UPDATE OF lastcourseaccess ON enrolments
    WHEN new.lastcourseaccess > 0 AND new.lastcourseaccess IS NOT old.lastcourseaccess BEGIN
        {_history("new.userid", "new.courseid", "new.lastcourseaccess")};
    END""",
    # Nothing has a FOREIGN KEY to users (entities sync in parallel, in any order), so a deleted
    # user's rows go here.
    "CREATE TRIGGER users_cleanup_ad AFTER DELETE ON users BEGIN\n"
    + "".join(f"        DELETE FROM {t} WHERE userid = old.id;\n" for t in _PER_USER)
    + "    END",
)

_TABLES_CHILDREN_FIRST = (
    "module_files", "modules", "sections", "grouping_groups", "group_members", "groupings", "groups",
    "grades", "grade_items", "enrolment_roles", "enrolments", "cohort_members", "cohorts", "users_fts",
    "user_custom_fields", "user_access_history", "users", "roles", "course_progress", "activity_completion",
    "courses", "categories", "site_info", "sync_partitions", "sync_state", "sync_runs",
)


def upgrade() -> None:
    op.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    op.create_table('activity_completion',
    sa.Column('userid', sa.Integer(), nullable=False),
    sa.Column('cmid', sa.Integer(), nullable=False),
    sa.Column('courseid', sa.Integer(), server_default='0', nullable=False),
    sa.Column('state', sa.Integer(), server_default='0', nullable=False),
    sa.Column('timecompleted', sa.Integer(), server_default='0', nullable=False),
    sa.Column('tracking', sa.Integer(), server_default='0', nullable=False),
    sa.Column('overrideby', sa.Integer(), nullable=True),
    sa.Column('seen_run', sa.Integer(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('userid', 'cmid'),
    sqlite_with_rowid=False
    )
    op.create_index('ix_activity_completion_courseid', 'activity_completion', ['courseid', 'userid'])

    op.create_table('categories',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('name', sa.Text(collation='NOCASE'), server_default='', nullable=False),
    sa.Column('parent', sa.Integer(), server_default='0', nullable=False),
    sa.Column('idnumber', sa.Text(), server_default='', nullable=False),
    sa.Column('path', sa.Text(), server_default='', nullable=False),
    sa.Column('depth', sa.Integer(), server_default='1', nullable=False),
    sa.Column('sortorder', sa.Integer(), server_default='0', nullable=False),
    sa.Column('visible', sa.Boolean(), server_default='1', nullable=False),
    sa.Column('coursecount', sa.Integer(), server_default='0', nullable=False),
    sa.Column('description', sa.Text(), server_default='', nullable=False),
    sa.Column('seen_run', sa.Integer(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_categories_parent', 'categories', ['parent'])

    op.create_table('cohorts',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('name', sa.Text(collation='NOCASE'), server_default='', nullable=False),
    sa.Column('idnumber', sa.Text(), server_default='', nullable=False),
    sa.Column('description', sa.Text(), server_default='', nullable=False),
    sa.Column('visible', sa.Boolean(), server_default='1', nullable=False),
    sa.Column('contextid', sa.Integer(), nullable=True),
    sa.Column('theme', sa.Text(), server_default='', nullable=False),
    sa.Column('categoryid', sa.Integer(), nullable=True),
    sa.Column('seen_run', sa.Integer(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('course_progress',
    sa.Column('userid', sa.Integer(), nullable=False),
    sa.Column('courseid', sa.Integer(), nullable=False),
    sa.Column('progress', sa.Float(), nullable=True),
    sa.Column('completed', sa.Boolean(), server_default='0', nullable=False),
    sa.Column('lastaccess', sa.Integer(), nullable=True),
    sa.Column('timecompleted', sa.Integer(), nullable=True),
    sa.Column('seen_run', sa.Integer(), server_default='0', nullable=False),
    sa.Column('changed_run', sa.Integer(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('userid', 'courseid'),
    sqlite_with_rowid=False
    )
    op.create_index('ix_course_progress_courseid', 'course_progress', ['courseid'])

    op.create_table('courses',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('shortname', sa.Text(collation='NOCASE'), server_default='', nullable=False),
    sa.Column('fullname', sa.Text(collation='NOCASE'), server_default='', nullable=False),
    sa.Column('categoryid', sa.Integer(), server_default='0', nullable=False),
    sa.Column('idnumber', sa.Text(), server_default='', nullable=False),
    sa.Column('visible', sa.Boolean(), server_default='1', nullable=False),
    sa.Column('startdate', sa.Integer(), server_default='0', nullable=False),
    sa.Column('enddate', sa.Integer(), server_default='0', nullable=False),
    sa.Column('format', sa.Text(), server_default='topics', nullable=False),
    sa.Column('enablecompletion', sa.Boolean(), server_default='0', nullable=False),
    sa.Column('timecreated', sa.Integer(), server_default='0', nullable=False),
    sa.Column('timemodified', sa.Integer(), server_default='0', nullable=False),
    sa.Column('summary', sa.Text(), server_default='', nullable=False),
    sa.Column('seen_run', sa.Integer(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_courses_categoryid', 'courses', ['categoryid'])
    op.create_index('ix_courses_fullname', 'courses', ['fullname'])
    op.create_index('ix_courses_shortname', 'courses', ['shortname'])

    op.create_table('roles',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('shortname', sa.Text(), server_default='', nullable=False),
    sa.Column('name', sa.Text(), server_default='', nullable=False),
    sa.Column('sortorder', sa.Integer(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('site_info',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('siteid', sa.Integer(), server_default='0', nullable=False),
    sa.Column('sitename', sa.Text(), server_default='', nullable=False),
    sa.Column('siteurl', sa.Text(), server_default='', nullable=False),
    sa.Column('release', sa.Text(), server_default='', nullable=False),
    sa.Column('version', sa.Text(), server_default='', nullable=False),
    sa.Column('userid', sa.Integer(), server_default='0', nullable=False),
    sa.Column('username', sa.Text(), server_default='', nullable=False),
    sa.Column('fullname', sa.Text(), server_default='', nullable=False),
    sa.Column('is_site_admin', sa.Boolean(), server_default='0', nullable=False),
    sa.Column('upload_allowed', sa.Boolean(), server_default='0', nullable=False),
    sa.Column('download_allowed', sa.Boolean(), server_default='0', nullable=False),
    sa.Column('max_upload_bytes', sa.Integer(), server_default='0', nullable=False),
    sa.Column('user_quota', sa.Integer(), server_default='0', nullable=False),
    sa.Column('lang', sa.Text(), server_default='', nullable=False),
    sa.Column('theme', sa.Text(), server_default='', nullable=False),
    sa.Column('functions', sa.Text(), server_default='[]', nullable=False),
    sa.Column('fetched_at', sa.Integer(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('sync_partitions',
    sa.Column('entity', sa.Text(), nullable=False),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('last_count', sa.Integer(), nullable=True),
    sa.Column('done_run', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('entity', 'key')
    )
    op.create_table('sync_runs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('started_at', sa.Integer(), server_default='0', nullable=False),
    sa.Column('finished_at', sa.Integer(), nullable=True),
    sa.Column('status', sa.Text(), server_default='running', nullable=False),
    sa.Column('entities', sa.Text(), server_default='[]', nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('sync_state',
    sa.Column('entity', sa.Text(), nullable=False),
    sa.Column('status', sa.Text(), server_default='', nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('last_success_at', sa.Integer(), nullable=True),
    sa.Column('last_attempt_at', sa.Integer(), nullable=True),
    sa.Column('rows', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('entity')
    )
    op.create_table('user_access_history',
    sa.Column('userid', sa.Integer(), nullable=False),
    sa.Column('courseid', sa.Integer(), nullable=False),
    sa.Column('lastaccess', sa.Integer(), nullable=False),
    sa.Column('observed_at', sa.Integer(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('userid', 'courseid', 'lastaccess'),
    sqlite_with_rowid=False
    )
    op.create_index('ix_user_access_history_course_time', 'user_access_history', ['courseid', 'lastaccess'])

    op.create_table('user_custom_fields',
    sa.Column('userid', sa.Integer(), nullable=False),
    sa.Column('shortname', sa.Text(), nullable=False),
    sa.Column('value', sa.Text(), nullable=True),
    sa.Column('displayvalue', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('userid', 'shortname'),
    sqlite_with_rowid=False
    )
    op.create_index('ix_user_custom_fields_shortname_value', 'user_custom_fields', ['shortname', 'value'])

    op.create_table('users',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('username', sa.Text(collation='NOCASE'), server_default='', nullable=False),
    sa.Column('firstname', sa.Text(collation='NOCASE'), server_default='', nullable=False),
    sa.Column('lastname', sa.Text(collation='NOCASE'), server_default='', nullable=False),
    sa.Column('email', sa.Text(collation='NOCASE'), server_default='', nullable=False),
    sa.Column('idnumber', sa.Text(), server_default='', nullable=False),
    sa.Column('department', sa.Text(collation='NOCASE'), server_default='', nullable=False),
    sa.Column('institution', sa.Text(collation='NOCASE'), server_default='', nullable=False),
    sa.Column('city', sa.Text(collation='NOCASE'), server_default='', nullable=False),
    sa.Column('country', sa.Text(collation='NOCASE'), server_default='', nullable=False),
    sa.Column('auth', sa.Text(collation='NOCASE'), server_default='manual', nullable=False),
    sa.Column('suspended', sa.Boolean(), server_default='0', nullable=False),
    sa.Column('confirmed', sa.Boolean(), server_default='1', nullable=False),
    sa.Column('firstaccess', sa.Integer(), server_default='0', nullable=False),
    sa.Column('lastaccess', sa.Integer(), server_default='0', nullable=False),
    sa.Column('lang', sa.Text(), server_default='', nullable=False),
    sa.Column('timezone', sa.Text(), server_default='', nullable=False),
    sa.Column('phone1', sa.Text(), server_default='', nullable=False),
    sa.Column('phone2', sa.Text(), server_default='', nullable=False),
    sa.Column('address', sa.Text(), server_default='', nullable=False),
    sa.Column('description', sa.Text(), server_default='', nullable=False),
    sa.Column('customfields', sa.Text(), server_default='[]', nullable=False),
    sa.Column('seen_run', sa.Integer(), server_default='0', nullable=False),
    sa.Column('synced_at', sa.Integer(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_users_auth', 'users', ['auth'])
    op.create_index('ix_users_country', 'users', ['country'])
    op.create_index('ix_users_department', 'users', ['department'])
    op.create_index('ix_users_email', 'users', ['email'])
    op.create_index('ix_users_firstname', 'users', ['firstname'])
    op.create_index('ix_users_lastaccess', 'users', ['lastaccess'])
    op.create_index('ix_users_lastname', 'users', ['lastname'])
    op.create_index('ix_users_suspended', 'users', ['suspended'])
    op.create_index('ix_users_username', 'users', ['username'])

    op.create_table('cohort_members',
    sa.Column('cohortid', sa.Integer(), nullable=False),
    sa.Column('userid', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['cohortid'], ['cohorts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('cohortid', 'userid'),
    sqlite_with_rowid=False
    )
    op.create_index('ix_cohort_members_userid', 'cohort_members', ['userid'])

    op.create_table('enrolments',
    sa.Column('courseid', sa.Integer(), nullable=False),
    sa.Column('userid', sa.Integer(), nullable=False),
    sa.Column('suspended', sa.Boolean(), server_default='0', nullable=False),
    sa.Column('lastcourseaccess', sa.Integer(), nullable=True),
    sa.Column('timestart', sa.Integer(), nullable=True),
    sa.Column('timeend', sa.Integer(), nullable=True),
    sa.Column('method', sa.Text(), server_default='', nullable=False),
    sa.Column('seen_run', sa.Integer(), server_default='0', nullable=False),
    sa.Column('synced_at', sa.Integer(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['courseid'], ['courses.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('courseid', 'userid'),
    sqlite_with_rowid=False
    )
    op.create_index('ix_enrolments_userid', 'enrolments', ['userid'])

    op.create_table('grade_items',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('courseid', sa.Integer(), nullable=False),
    sa.Column('itemname', sa.Text(), server_default='', nullable=False),
    sa.Column('itemtype', sa.Text(), server_default='', nullable=False),
    sa.Column('itemmodule', sa.Text(), nullable=True),
    sa.Column('cmid', sa.Integer(), nullable=True),
    sa.Column('grademin', sa.Float(), server_default='0', nullable=False),
    sa.Column('grademax', sa.Float(), server_default='100', nullable=False),
    sa.Column('seen_run', sa.Integer(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['courseid'], ['courses.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_grade_items_courseid', 'grade_items', ['courseid'])

    op.create_table('groupings',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('courseid', sa.Integer(), nullable=False),
    sa.Column('name', sa.Text(collation='NOCASE'), server_default='', nullable=False),
    sa.Column('idnumber', sa.Text(), server_default='', nullable=False),
    sa.Column('description', sa.Text(), server_default='', nullable=False),
    sa.Column('seen_run', sa.Integer(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['courseid'], ['courses.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_groupings_courseid', 'groupings', ['courseid'])

    op.create_table('groups',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('courseid', sa.Integer(), nullable=False),
    sa.Column('name', sa.Text(collation='NOCASE'), server_default='', nullable=False),
    sa.Column('idnumber', sa.Text(), server_default='', nullable=False),
    sa.Column('description', sa.Text(), server_default='', nullable=False),
    sa.Column('visibility', sa.Integer(), server_default='0', nullable=False),
    sa.Column('participation', sa.Boolean(), server_default='1', nullable=False),
    sa.Column('seen_run', sa.Integer(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['courseid'], ['courses.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_groups_courseid', 'groups', ['courseid'])

    op.create_table('sections',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('courseid', sa.Integer(), nullable=False),
    sa.Column('section', sa.Integer(), server_default='0', nullable=False),
    sa.Column('name', sa.Text(), server_default='', nullable=False),
    sa.Column('visible', sa.Boolean(), server_default='1', nullable=False),
    sa.Column('summary', sa.Text(), server_default='', nullable=False),
    sa.Column('uservisible', sa.Boolean(), server_default='1', nullable=False),
    sa.Column('component', sa.Text(), nullable=True),
    sa.Column('itemid', sa.Integer(), nullable=True),
    sa.Column('seen_run', sa.Integer(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['courseid'], ['courses.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_sections_courseid', 'sections', ['courseid', 'section'])

    op.create_table('enrolment_roles',
    sa.Column('courseid', sa.Integer(), nullable=False),
    sa.Column('userid', sa.Integer(), nullable=False),
    sa.Column('roleid', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['courseid', 'userid'], ['enrolments.courseid', 'enrolments.userid'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('courseid', 'userid', 'roleid'),
    sqlite_with_rowid=False
    )
    op.create_index('ix_enrolment_roles_roleid', 'enrolment_roles', ['roleid'])

    op.create_table('grades',
    sa.Column('itemid', sa.Integer(), nullable=False),
    sa.Column('userid', sa.Integer(), nullable=False),
    sa.Column('courseid', sa.Integer(), server_default='0', nullable=False),
    sa.Column('graderaw', sa.Float(), nullable=True),
    sa.Column('percentage', sa.Float(), nullable=True),
    sa.Column('gradedategraded', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['itemid'], ['grade_items.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('itemid', 'userid'),
    sqlite_with_rowid=False
    )
    op.create_index('ix_grades_courseid', 'grades', ['courseid', 'userid'])
    op.create_index('ix_grades_userid', 'grades', ['userid'])

    op.create_table('group_members',
    sa.Column('groupid', sa.Integer(), nullable=False),
    sa.Column('userid', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['groupid'], ['groups.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('groupid', 'userid'),
    sqlite_with_rowid=False
    )
    op.create_index('ix_group_members_userid', 'group_members', ['userid'])

    op.create_table('grouping_groups',
    sa.Column('groupingid', sa.Integer(), nullable=False),
    sa.Column('groupid', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['groupid'], ['groups.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['groupingid'], ['groupings.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('groupingid', 'groupid'),
    sqlite_with_rowid=False
    )
    op.create_index('ix_grouping_groups_groupid', 'grouping_groups', ['groupid'])

    op.create_table('modules',
    sa.Column('cmid', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('courseid', sa.Integer(), server_default='0', nullable=False),
    sa.Column('sectionid', sa.Integer(), nullable=False),
    sa.Column('name', sa.Text(collation='NOCASE'), server_default='', nullable=False),
    sa.Column('modname', sa.Text(), server_default='', nullable=False),
    sa.Column('instance', sa.Integer(), server_default='0', nullable=False),
    sa.Column('contextid', sa.Integer(), server_default='0', nullable=False),
    sa.Column('visible', sa.Boolean(), server_default='1', nullable=False),
    sa.Column('visibleoncoursepage', sa.Boolean(), server_default='1', nullable=False),
    sa.Column('uservisible', sa.Boolean(), server_default='1', nullable=False),
    sa.Column('url', sa.Text(), server_default='', nullable=False),
    sa.Column('availability', sa.Text(), nullable=True),
    sa.Column('completion', sa.Integer(), server_default='0', nullable=False),
    sa.Column('indent', sa.Integer(), server_default='0', nullable=False),
    sa.Column('position', sa.Integer(), server_default='0', nullable=False),
    sa.Column('seen_run', sa.Integer(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['sectionid'], ['sections.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('cmid')
    )
    op.create_index('ix_modules_courseid', 'modules', ['courseid'])
    op.create_index('ix_modules_sectionid', 'modules', ['sectionid', 'position'])

    op.create_table('module_files',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('cmid', sa.Integer(), nullable=False),
    sa.Column('filename', sa.Text(), server_default='', nullable=False),
    sa.Column('filepath', sa.Text(), server_default='/', nullable=False),
    sa.Column('filesize', sa.Integer(), server_default='0', nullable=False),
    sa.Column('fileurl', sa.Text(), server_default='', nullable=False),
    sa.Column('mimetype', sa.Text(), server_default='', nullable=False),
    sa.Column('type', sa.Text(), server_default='file', nullable=False),
    sa.Column('timecreated', sa.Integer(), nullable=True),
    sa.Column('timemodified', sa.Integer(), nullable=True),
    sa.Column('sortorder', sa.Integer(), server_default='0', nullable=False),
    sa.Column('author', sa.Text(), server_default='', nullable=False),
    sa.Column('license', sa.Text(), server_default='', nullable=False),
    sa.ForeignKeyConstraint(['cmid'], ['modules.cmid'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_module_files_cmid', 'module_files', ['cmid'])

    for statement in FTS_AND_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    for table in _TABLES_CHILDREN_FIRST:  # triggers go with their tables
        op.execute(f'DROP TABLE IF EXISTS "{table}"')
