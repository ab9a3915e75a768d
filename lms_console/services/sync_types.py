"""What a sync is asked and what it answers: the entities, the options, the results, and the
refusal when another sync of the same cache runs. The engine is :mod:`lms_console.services.sync`
(which re-exports all of these); the GUI and the CLI read these."""

from __future__ import annotations

from dataclasses import dataclass

from lms_console.services.lms.base import LmsWarning
from lms_console.services.lms.errors import LmsError

# Order matters only for display; dependencies are handled by follow-up tasks.
ENTITIES = ("site", "categories", "courses", "contents", "users", "cohorts", "groups", "enrolments",
            "completion", "activity_completion", "grades")
# What a sync fetches unless told otherwise. Grades are left out: Moodle's grade report has
# no paging and no "changed since", and answers ~1.5 KB of JSON per grade item (about
# 1.8 GB for 1,000,000 enrolments), for data only the assessment reports need. They are
# fetched on demand (per course, from the reports) or with `sync --only grades` / `--all`.
DEFAULT_ENTITIES = tuple(e for e in ENTITIES if e != "grades")

@dataclass(frozen=True, slots=True)
class SyncOptions:
    entities: tuple[str, ...] = DEFAULT_ENTITIES
    concurrency: int = 8
    max_partition: int = 1000  # users per email-prefix partition before it is split
    enrol_page: int = 500
    # "changed": only (user, course) pairs whose progress changed and is above 0 %
    # (0 % means no activity is complete, so nothing to fetch); "all"; "off".
    activity_completion: str = "changed"
    # Course progress: "recent" (users with new enrolments or recent activity, everyone once a day; see
    # sync_completion) or "all" (one request per enrolled user).
    completion: str = "recent"
    # Course-scoped entities (contents, groups, enrolments, grades) for these courses only;
    # () = every course. Sweeps stay per course, so a partial pass removes nothing elsewhere.
    courses: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class EntityResult:
    entity: str
    status: str  # ok | partial | failed | cancelled | skipped
    rows: int = 0
    requests: int = 0
    seconds: float = 0.0
    errors: tuple[str, ...] = ()
    warnings: tuple[LmsWarning, ...] = ()


@dataclass(frozen=True, slots=True)
class SyncResult:
    run_id: int
    status: str  # ok | partial | failed | cancelled
    entities: tuple[EntityResult, ...]
    seconds: float
    requests: int
    error: LmsError | None = None

    def entity(self, name: str) -> EntityResult:
        return next(e for e in self.entities if e.entity == name)


class SyncRunning(LmsError):
    """Another sync of the same cache file is running; this one did not start (nothing was written)."""

    title = "A sync is already running"
    default_hint = ("Wait for it to finish, or stop it (Cancel in the other window, Ctrl+C in its terminal), "
                    "then sync again.")

    def __init__(self, message: str) -> None:
        super().__init__(message, code="syncrunning")


__all__ = ["DEFAULT_ENTITIES", "ENTITIES", "EntityResult", "SyncOptions", "SyncResult", "SyncRunning"]
