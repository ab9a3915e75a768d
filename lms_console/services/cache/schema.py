"""The cache schema as SQLAlchemy Core tables (the migrations are the source of truth on disk).

Conventions
- Times are Unix seconds; 0 = never (as in Moodle), NULL = unknown / not reported.
- ``seen_run`` is the id of the last ``sync_runs`` row that saw the row at the LMS; ``CacheWriter.sweep``
  deletes rows of an entity not seen by a COMPLETE pass.
- Child tables reference their *structural* parent with ``ON DELETE CASCADE`` (sections -> courses,
  modules -> sections, ...). Nothing references ``users``: a sync fetches entities in parallel in any
  order; a trigger removes a deleted user's rows from the per-user tables instead.
- Text columns that panes sort and filter on are ``COLLATE NOCASE`` so their plain indexes serve
  case-insensitive ``ORDER BY`` / ``=`` / prefix ``LIKE``.
- ``users.customfields`` is JSON: ``[[shortname, value, displayvalue, name, type], ...]`` (arrays, not
  objects: the ingest path encodes it 3x faster). Triggers keep ``user_custom_fields`` (one row per
  field, for filtering) in step with it.

Objects the tables below do not show (created by migration 0001, kept by triggers in the writer's
transaction):
- ``users_fts``: FTS5 external-content index on users (see :data:`FTS_COLUMNS`), tokenizer
  ``unicode61 remove_diacritics 2``, prefix indexes 2 and 3. Its UPDATE trigger fires only when a
  searched column really changed, so re-syncing unchanged users does not touch the index.
- ``user_access_history``: a row appended (INSERT OR IGNORE) when a user's site ``lastaccess``
  (courseid 0) or an enrolment's ``lastcourseaccess`` is first seen or changes.
- ``user_custom_fields`` maintained from ``users.customfields``.
- deleting a user deletes its memberships, enrolments, progress, completion, grades and history.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

FTS_TABLE = "users_fts"
FTS_COLUMNS = ("username", "firstname", "lastname", "email", "idnumber", "department")
# FTS5 keeps its index in shadow tables; migrations/autogenerate must ignore them.
FTS_SHADOW_TABLES = frozenset({FTS_TABLE} | {f"{FTS_TABLE}_{s}" for s in ("data", "idx", "docsize", "config", "content")})

APPLICATION_ID = 0x4C4D5343  # "LMSC": PRAGMA application_id of every cache file


def _text(name: str, *, nocase: bool = False, nullable: bool = False, default: str | None = "") -> Column:
    return Column(
        name,
        Text(collation="NOCASE") if nocase else Text(),
        nullable=nullable,
        server_default=None if default is None else default,
    )


def _int(name: str, *, nullable: bool = False, default: int | None = 0) -> Column:
    return Column(name, Integer, nullable=nullable, server_default=None if default is None else str(default))


def _bool(name: str, default: bool) -> Column:
    return Column(name, Boolean, nullable=False, server_default="1" if default else "0")


def _seen() -> Column:
    return Column("seen_run", Integer, nullable=False, server_default="0")


site_info = Table(
    "site_info",
    metadata,
    # A singleton; sitesecret / userprivateaccesskey are secrets and are never stored (not in the DTO).
    Column("id", Integer, primary_key=True, autoincrement=False),
    _int("siteid"),
    _text("sitename"),
    _text("siteurl"),
    _text("release"),
    _text("version"),
    _int("userid"),
    _text("username"),
    _text("fullname"),
    _bool("is_site_admin", False),
    _bool("upload_allowed", False),
    _bool("download_allowed", False),
    _int("max_upload_bytes"),
    _int("user_quota"),
    _text("lang"),
    _text("theme"),
    _text("functions", default="[]"),  # JSON array of function names, sorted
    _int("fetched_at"),
)

# Column order matters: the writer's hot path binds DTO attributes in this order (USER_DTO_COLUMNS).
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    _text("username", nocase=True),
    _text("firstname", nocase=True),
    _text("lastname", nocase=True),
    _text("email", nocase=True),
    _text("idnumber"),
    _text("department", nocase=True),
    _text("institution", nocase=True),
    _text("city", nocase=True),
    _text("country", nocase=True),
    _text("auth", nocase=True, default="manual"),
    _bool("suspended", False),
    _bool("confirmed", True),
    _int("firstaccess"),
    _int("lastaccess"),
    _text("lang"),
    _text("timezone"),
    _text("phone1"),
    _text("phone2"),
    _text("address"),
    _text("description"),
    _text("customfields", default="[]"),
    _seen(),
    _int("synced_at"),
    Index("ix_users_username", "username"),
    Index("ix_users_firstname", "firstname"),
    Index("ix_users_lastname", "lastname"),
    Index("ix_users_email", "email"),
    Index("ix_users_lastaccess", "lastaccess"),
    Index("ix_users_suspended", "suspended"),
    Index("ix_users_auth", "auth"),
    Index("ix_users_department", "department"),
    Index("ix_users_country", "country"),
)

USER_DTO_COLUMNS = tuple(c.name for c in users.c)[: -3]  # every User field except customfields
USER_COLUMNS = tuple(c.name for c in users.c)

user_custom_fields = Table(
    "user_custom_fields",
    metadata,
    Column("userid", Integer, nullable=False),
    Column("shortname", Text, nullable=False),
    _text("value", nullable=True, default=None),
    _text("displayvalue", nullable=True, default=None),
    PrimaryKeyConstraint("userid", "shortname"),
    Index("ix_user_custom_fields_shortname_value", "shortname", "value"),
    sqlite_with_rowid=False,
)

user_access_history = Table(
    "user_access_history",
    metadata,
    Column("userid", Integer, nullable=False),
    Column("courseid", Integer, nullable=False),  # 0 = site
    Column("lastaccess", Integer, nullable=False),
    _int("observed_at"),
    PrimaryKeyConstraint("userid", "courseid", "lastaccess"),
    Index("ix_user_access_history_course_time", "courseid", "lastaccess"),
    sqlite_with_rowid=False,
)

categories = Table(
    "categories",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    _text("name", nocase=True),
    _int("parent"),
    _text("idnumber"),
    _text("path"),
    _int("depth", default=1),
    _int("sortorder"),
    _bool("visible", True),
    _int("coursecount"),
    _text("description"),
    _seen(),
    Index("ix_categories_parent", "parent"),
)

courses = Table(
    "courses",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    _text("shortname", nocase=True),
    _text("fullname", nocase=True),
    _int("categoryid"),
    _text("idnumber"),
    _bool("visible", True),
    _int("startdate"),
    _int("enddate"),
    _text("format", default="topics"),
    _bool("enablecompletion", False),
    _int("timecreated"),
    _int("timemodified"),
    _text("summary"),
    _seen(),
    Index("ix_courses_categoryid", "categoryid"),
    Index("ix_courses_shortname", "shortname"),
    Index("ix_courses_fullname", "fullname"),
)

sections = Table(
    "sections",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("courseid", Integer, ForeignKey("courses.id", ondelete="CASCADE"), nullable=False),
    _int("section"),
    _text("name"),
    _bool("visible", True),
    _text("summary"),
    _bool("uservisible", True),
    _text("component", nullable=True, default=None),
    _int("itemid", nullable=True, default=None),
    _seen(),
    Index("ix_sections_courseid", "courseid", "section"),
)

modules = Table(
    "modules",
    metadata,
    Column("cmid", Integer, primary_key=True, autoincrement=False),
    _int("courseid"),
    Column("sectionid", Integer, ForeignKey("sections.id", ondelete="CASCADE"), nullable=False),
    _text("name", nocase=True),
    _text("modname"),
    _int("instance"),
    _int("contextid"),
    _bool("visible", True),
    _bool("visibleoncoursepage", True),
    _bool("uservisible", True),
    _text("url"),
    _text("availability", nullable=True, default=None),
    _int("completion"),
    _int("indent"),
    _int("position"),
    _seen(),
    Index("ix_modules_sectionid", "sectionid", "position"),
    Index("ix_modules_courseid", "courseid"),
)

module_files = Table(
    "module_files",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("cmid", Integer, ForeignKey("modules.cmid", ondelete="CASCADE"), nullable=False),
    _text("filename"),
    _text("filepath", default="/"),
    _int("filesize"),
    _text("fileurl"),
    _text("mimetype"),
    _text("type", default="file"),
    _int("timecreated", nullable=True, default=None),
    _int("timemodified", nullable=True, default=None),
    _int("sortorder"),
    _text("author"),
    _text("license"),
    Index("ix_module_files_cmid", "cmid"),
)

cohorts = Table(
    "cohorts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    _text("name", nocase=True),
    _text("idnumber"),
    _text("description"),
    _bool("visible", True),
    _int("contextid", nullable=True, default=None),
    _text("theme"),
    _int("categoryid", nullable=True, default=None),  # 0 = system; NULL = not known (see set_cohort_categories)
    _seen(),
)

cohort_members = Table(
    "cohort_members",
    metadata,
    Column("cohortid", Integer, ForeignKey("cohorts.id", ondelete="CASCADE"), nullable=False),
    Column("userid", Integer, nullable=False),
    PrimaryKeyConstraint("cohortid", "userid"),
    Index("ix_cohort_members_userid", "userid"),
    sqlite_with_rowid=False,
)

groups = Table(
    "groups",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("courseid", Integer, ForeignKey("courses.id", ondelete="CASCADE"), nullable=False),
    _text("name", nocase=True),
    _text("idnumber"),
    _text("description"),
    _int("visibility"),
    _bool("participation", True),
    _seen(),
    Index("ix_groups_courseid", "courseid"),
)

groupings = Table(
    "groupings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("courseid", Integer, ForeignKey("courses.id", ondelete="CASCADE"), nullable=False),
    _text("name", nocase=True),
    _text("idnumber"),
    _text("description"),
    _seen(),
    Index("ix_groupings_courseid", "courseid"),
)

grouping_groups = Table(
    "grouping_groups",
    metadata,
    Column("groupingid", Integer, ForeignKey("groupings.id", ondelete="CASCADE"), nullable=False),
    Column("groupid", Integer, ForeignKey("groups.id", ondelete="CASCADE"), nullable=False),
    PrimaryKeyConstraint("groupingid", "groupid"),
    Index("ix_grouping_groups_groupid", "groupid"),
    sqlite_with_rowid=False,
)

group_members = Table(
    "group_members",
    metadata,
    Column("groupid", Integer, ForeignKey("groups.id", ondelete="CASCADE"), nullable=False),
    Column("userid", Integer, nullable=False),
    PrimaryKeyConstraint("groupid", "userid"),
    Index("ix_group_members_userid", "userid"),
    sqlite_with_rowid=False,
)

roles = Table(
    "roles",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    _text("shortname"),
    _text("name"),
    _int("sortorder"),
)

enrolments = Table(
    "enrolments",
    metadata,
    Column("courseid", Integer, ForeignKey("courses.id", ondelete="CASCADE"), nullable=False),
    Column("userid", Integer, nullable=False),
    _bool("suspended", False),
    _int("lastcourseaccess", nullable=True, default=None),
    _int("timestart", nullable=True, default=None),
    _int("timeend", nullable=True, default=None),
    _text("method"),
    # The role ids as a JSON array; triggers keep enrolment_roles (for filtering by role) in step,
    # rewriting it only when the roles really change.
    _text("roleids", default="[]"),
    _seen(),
    _int("synced_at"),
    PrimaryKeyConstraint("courseid", "userid"),
    Index("ix_enrolments_userid", "userid"),
    sqlite_with_rowid=False,
)

enrolment_roles = Table(
    "enrolment_roles",
    metadata,
    Column("courseid", Integer, nullable=False),
    Column("userid", Integer, nullable=False),
    Column("roleid", Integer, nullable=False),
    PrimaryKeyConstraint("courseid", "userid", "roleid"),
    ForeignKeyConstraint(
        ["courseid", "userid"], ["enrolments.courseid", "enrolments.userid"], ondelete="CASCADE"
    ),
    Index("ix_enrolment_roles_roleid", "roleid"),
    sqlite_with_rowid=False,
)

course_progress = Table(
    "course_progress",
    metadata,
    Column("userid", Integer, nullable=False),
    Column("courseid", Integer, nullable=False),
    Column("progress", Float, nullable=True),  # percent; NULL = completion not tracked
    _bool("completed", False),
    _int("lastaccess", nullable=True, default=None),
    _int("timecompleted", nullable=True, default=None),
    _seen(),
    _int("changed_run"),  # last run that saw progress/completed/timecompleted change (or the row appear)
    PrimaryKeyConstraint("userid", "courseid"),
    Index("ix_course_progress_courseid", "courseid"),
    sqlite_with_rowid=False,
)

activity_completion = Table(
    "activity_completion",
    metadata,
    Column("userid", Integer, nullable=False),
    Column("cmid", Integer, nullable=False),
    _int("courseid"),
    _int("state"),
    _int("timecompleted"),
    _int("tracking"),
    _int("overrideby", nullable=True, default=None),
    _seen(),
    PrimaryKeyConstraint("userid", "cmid"),
    Index("ix_activity_completion_courseid", "courseid", "userid"),
    sqlite_with_rowid=False,
)

grade_items = Table(
    "grade_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("courseid", Integer, ForeignKey("courses.id", ondelete="CASCADE"), nullable=False),
    _text("itemname"),
    _text("itemtype"),
    _text("itemmodule", nullable=True, default=None),
    _int("cmid", nullable=True, default=None),
    Column("grademin", Float, nullable=False, server_default="0"),
    Column("grademax", Float, nullable=False, server_default="100"),
    _seen(),
    Index("ix_grade_items_courseid", "courseid"),
)

grades = Table(
    "grades",
    metadata,
    Column("itemid", Integer, ForeignKey("grade_items.id", ondelete="CASCADE"), nullable=False),
    Column("userid", Integer, nullable=False),
    _int("courseid"),
    Column("graderaw", Float, nullable=True),
    Column("percentage", Float, nullable=True),
    _int("gradedategraded", nullable=True, default=None),
    PrimaryKeyConstraint("itemid", "userid"),
    Index("ix_grades_userid", "userid"),
    Index("ix_grades_courseid", "courseid", "userid"),
    sqlite_with_rowid=False,
)

sync_runs = Table(
    "sync_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _int("started_at"),
    _int("finished_at", nullable=True, default=None),
    _text("status", default="running"),  # running | ok | failed | cancelled | interrupted
    _text("entities", default="[]"),  # JSON array
    _text("error", nullable=True, default=None),
)

sync_state = Table(
    "sync_state",
    metadata,
    Column("entity", Text, primary_key=True),
    _text("status"),
    _int("run_id", nullable=True, default=None),
    _int("last_success_at", nullable=True, default=None),  # freshness: "as of"
    _int("last_attempt_at", nullable=True, default=None),
    _int("rows", nullable=True, default=None),
    _text("error", nullable=True, default=None),
    _text("detail", nullable=True, default=None),  # JSON object
)

sync_partitions = Table(
    "sync_partitions",
    metadata,
    Column("entity", Text, nullable=False),
    Column("key", Text, nullable=False),
    _int("last_count", nullable=True, default=None),
    _int("done_run", nullable=True, default=None),
    PrimaryKeyConstraint("entity", "key"),
)

# Tables holding per-user rows (the user-delete trigger and delete_users clean these).
PER_USER_TABLES = (
    "user_custom_fields",
    "user_access_history",
    "cohort_members",
    "group_members",
    "enrolments",
    "course_progress",
    "activity_completion",
    "grades",
)


# -- the change engine (migration 0002): journal and outbox in one table --------------------------

change_runs = Table(
    "change_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _int("created_at"),
    _int("finished_at", nullable=True, default=None),
    _text("profile"),
    _text("lms_user"),
    _text("title"),
    _text("origin", default="gui"),  # gui | cli | undo | import | retry
    _text("status", default="queued"),  # queued | applying | done | partial | failed | waiting | cancelled | held
    _int("undo_of", nullable=True, default=None),
)

change_items = Table(
    "change_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("change_runs.id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("kind", Text, nullable=False),
    _text("target"),
    _text("title"),
    _text("data", default="{}"),
    _text("before", nullable=True, default=None),
    _text("after", nullable=True, default=None),
    _text("status", default="queued"),  # see services.changes.model.Status
    _int("attempts"),
    _text("function"),
    _text("code"),
    _text("message"),
    _text("result", nullable=True, default=None),
    _text("inverse", nullable=True, default=None),
    _text("depends_on", default="[]"),
    _int("updated_at"),
    _int("applied_at", nullable=True, default=None),
    _int("undone_by", nullable=True, default=None),
    UniqueConstraint("run_id", "seq", name="uq_change_items_run_seq"),
    Index("ix_change_items_status", "status"),
    Index("ix_change_items_target", "target"),
    Index("ix_change_items_applied_at", "applied_at"),
)


# -- saved user filters and report snapshots (migration 0003) ------------------------------------

saved_filters = Table(
    "saved_filters",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False),
    _text("spec", default="{}"),
    _int("position"),
    _int("created_at"),
    _int("updated_at"),
    UniqueConstraint("name", name="uq_saved_filters_name"),
)

report_snapshots = Table(
    "report_snapshots",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", Text, nullable=False),
    _text("title"),
    _text("params", default="{}"),
    _text("data", default="{}"),
    _int("schema_version", default=1),
    _int("as_of"),
    _int("created_at"),
    _bool("auto", False),
    Index("ix_report_snapshots_kind", "kind", "created_at"),
)



# Tables owned by other parts of the console live in their own modules (migration 0004 on);
# importing them here puts them on `metadata`, so the migration/metadata comparison sees them.
from lms_console.services.cache import schema_rules, schema_uploads  # noqa: E402,F401
