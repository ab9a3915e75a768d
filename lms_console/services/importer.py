"""CSV/XLSX bulk import of accounts: read, map columns, dry-run against the cache, plan changes.

    table = read_table("people.csv")                      # ImportFileError: one message for the file
    targets = auto_map(table.headers)                      # the admin may change them
    report = check_mapping(table.headers, targets)         # errors block the dry run, warnings do not
    result = run_dry_run(db, table, targets, ImportOptions())   # any thread; progress + cancel
    result.counts, result.rows                             # create/update/unchanged/conflict/error/skipped
    engine.plan(result.changes, title=result.title)        # the change engine previews and applies
    export_failed_rows(result, table, "fix-me.xlsx")       # the failed rows + a reason column

Nothing is sent from here. Rows with a conflict or an error produce NO changes. Memberships
and enrolments of accounts the same import creates refer to the creating change
(``{"ref": seq, "field": "id"}``, resolved when the plan is applied).

The pieces: ``importer_read`` (files, encodings, delimiters), ``importer_mapping`` (columns),
``importer_rows`` (the dry run), ``importer_lookup`` (cache questions, value parsers),
``importer_model`` (results), ``importer_export`` (failed rows out).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from lms_console.services.importer_export import export_failed_rows, formula_safe
from lms_console.services.importer_mapping import (
    FIELD_TARGETS,
    IGNORE,
    MappingReport,
    auto_map,
    check_mapping,
    column_name,
    is_target,
    match_header,
    target_choices,
    target_label,
)
from lms_console.services.importer_model import (
    CLASS_ORDER,
    CLASS_WORDS,
    MODES,
    DryRun,
    ImportOptions,
    RowClass,
    RowIssue,
    RowResult,
    RowResults,
)
from lms_console.services.importer_read import (
    DELIMITERS,
    ENCODINGS,
    MAX_BYTES,
    MAX_ROWS,
    ImportFileError,
    SourceInfo,
    Table,
    human_size,
    read_table,
)
from lms_console.services.importer_rows import DryRunner
from lms_console.services.progress import CancelToken, ProgressEvent


def dry_run(table: Table, targets: Sequence[str], conn, options: ImportOptions | None = None,
            progress: Callable[[ProgressEvent], None] | None = None, cancel: CancelToken | None = None) -> DryRun:
    """Classify every row of ``table`` against the cache (``conn``: a read connection of it).

    Raises ImportFileError when the mapping has errors or the file cannot be read to the end,
    Cancelled when ``cancel`` is set."""
    return DryRunner(table, targets, conn, options or ImportOptions()).run(progress, cancel)


def run_dry_run(db, table: Table, targets: Sequence[str], options: ImportOptions | None = None,
                progress: Callable[[ProgressEvent], None] | None = None,
                cancel: CancelToken | None = None) -> DryRun:
    """:func:`dry_run` in one read snapshot of ``db`` (a CacheDb): for the TaskRunner and the CLI."""
    with db.read() as conn:
        return dry_run(table, targets, conn, options, progress, cancel)


def known_profile_fields(db) -> list[str]:
    """Short names of the custom profile fields the cache has seen (for the mapping menus)."""
    from lms_console.services.importer_lookup import profile_field_names

    with db.read() as conn:
        return profile_field_names(conn)


__all__ = ["CLASS_ORDER", "CLASS_WORDS", "DELIMITERS", "ENCODINGS", "FIELD_TARGETS", "IGNORE", "MAX_BYTES",
           "MAX_ROWS", "MODES", "DryRun", "DryRunner", "ImportFileError", "ImportOptions", "MappingReport",
           "RowClass", "RowIssue", "RowResult", "RowResults", "SourceInfo", "Table", "auto_map", "check_mapping", "column_name",
           "dry_run", "export_failed_rows", "formula_safe", "human_size", "is_target", "known_profile_fields",
           "match_header", "read_table", "run_dry_run", "target_choices", "target_label"]
