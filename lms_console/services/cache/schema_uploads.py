"""The upload queue's table (migration 0004): one row per queued file, folder or URL.

A dropped folder is one ``folder`` row plus one ``child`` row per file in it (``parent`` = the
folder row). Rows outlive the run that made them so an upload interrupted by a crash or a lost
link is found again on the next start; finished rows stay until the admin clears them
(``cleared`` = 1 hides them from the queue, the journal keeps the record).
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, Integer, Table, Text

from lms_console.services.cache.schema import metadata

upload_items = Table(
    "upload_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("batch", Text, nullable=False, server_default=""),  # one drop
    Column("kind", Text, nullable=False),  # file | folder | child | url
    Column("parent", Integer, nullable=True),  # the folder row of a child
    Column("courseid", Integer, nullable=False),
    Column("sectionid", Integer, nullable=False),
    Column("after_cmid", Integer, nullable=True),  # dropped on an activity: placed after it
    Column("destination", Text, nullable=False, server_default=""),  # "CS101 › Topic 1", for display
    Column("source", Text, nullable=False, server_default=""),  # local path, or the URL
    Column("relpath", Text, nullable=False, server_default="/"),  # a child's folder inside the Folder
    Column("name", Text, nullable=False, server_default=""),  # activity name (or a child's file name)
    Column("filename", Text, nullable=False, server_default=""),  # sanitised name sent to the site
    Column("size", Integer, nullable=False, server_default="0"),
    Column("mimetype", Text, nullable=False, server_default=""),
    Column("visible", Boolean, nullable=False, server_default="1"),
    Column("state", Text, nullable=False, server_default="queued"),
    Column("draft_itemid", Integer, nullable=True),
    Column("cmid", Integer, nullable=True),
    Column("contextid", Integer, nullable=True),
    Column("snapshot", Text, nullable=True),  # JSON cmids of the course before a create call
    Column("code", Text, nullable=False, server_default=""),
    Column("message", Text, nullable=False, server_default=""),
    Column("note", Text, nullable=False, server_default=""),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("cleared", Boolean, nullable=False, server_default="0"),
    Column("created_at", Integer, nullable=False, server_default="0"),
    Column("updated_at", Integer, nullable=False, server_default="0"),
    Index("ix_upload_items_state", "cleared", "state"),
    Index("ix_upload_items_parent", "parent"),
)
