"""What every LMS backend returns: frozen DTOs, the backend protocol and the feature map.

DTOs are immutable (``frozen=True, slots=True``) so they can cross threads and
queues safely; the sync writer turns them into cache rows, never the other way.
Times are Unix seconds (``int``); 0 means "never" as in Moodle, ``None`` means
"unknown / not reported".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Iterable, Protocol, Sequence, TypeVar, runtime_checkable

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class LmsWarning:
    """A partial failure the LMS reported next to a successful answer (Moodle ``warnings[]``)."""

    item: str = ""
    itemid: int | None = None
    warningcode: str = ""
    message: str = ""

    def __str__(self) -> str:
        target = f"{self.item} {self.itemid}".strip() if self.itemid is not None else self.item
        return f"{target}: {self.message} [{self.warningcode}]" if target else f"{self.message} [{self.warningcode}]"


@dataclass(frozen=True, slots=True)
class Fetched(Generic[T]):
    """Items of one answer plus the warnings that came with it (never dropped)."""

    items: tuple[T, ...]
    warnings: tuple[LmsWarning, ...] = ()


@dataclass(frozen=True, slots=True)
class SiteInfo:
    siteid: int
    sitename: str
    siteurl: str
    release: str
    version: str
    userid: int
    username: str
    fullname: str
    is_site_admin: bool
    functions: frozenset[str]
    upload_allowed: bool
    download_allowed: bool
    max_upload_bytes: int  # usermaxuploadfilesize: -1 unlimited (Moodle USER_CAN_IGNORE_FILE_SIZE_LIMITS)
    user_quota: int
    lang: str = ""
    theme: str = ""


@dataclass(frozen=True, slots=True)
class CustomField:
    shortname: str
    value: str
    name: str = ""
    type: str = ""
    displayvalue: str | None = None


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    firstname: str = ""
    lastname: str = ""
    email: str = ""
    idnumber: str = ""
    department: str = ""
    institution: str = ""
    city: str = ""
    country: str = ""
    auth: str = "manual"
    suspended: bool = False
    confirmed: bool = True
    firstaccess: int = 0
    lastaccess: int = 0
    lang: str = ""
    timezone: str = ""
    phone1: str = ""
    phone2: str = ""
    address: str = ""
    description: str = ""
    customfields: tuple[CustomField, ...] = ()

    @property
    def fullname(self) -> str:
        return f"{self.firstname} {self.lastname}".strip()


@dataclass(frozen=True, slots=True)
class Category:
    id: int
    name: str
    parent: int = 0
    idnumber: str = ""
    path: str = ""
    depth: int = 1
    sortorder: int = 0
    visible: bool = True
    coursecount: int = 0
    description: str = ""


@dataclass(frozen=True, slots=True)
class Course:
    id: int
    shortname: str
    fullname: str
    categoryid: int
    idnumber: str = ""
    visible: bool = True
    startdate: int = 0
    enddate: int = 0
    format: str = "topics"
    enablecompletion: bool = False
    timecreated: int = 0
    timemodified: int = 0
    summary: str = ""


@dataclass(frozen=True, slots=True)
class ModuleFile:
    filename: str
    filepath: str = "/"
    filesize: int = 0
    fileurl: str = ""  # never contains a token: the client strips it
    mimetype: str = ""
    type: str = "file"  # file | url | content
    timecreated: int | None = None
    timemodified: int | None = None
    sortorder: int = 0
    author: str = ""
    license: str = ""


@dataclass(frozen=True, slots=True)
class Module:
    """A course module (activity or resource) as listed in a section."""

    id: int  # cmid
    courseid: int
    sectionid: int
    name: str
    modname: str
    instance: int = 0
    contextid: int = 0
    visible: bool = True
    visibleoncoursepage: bool = True  # False + visible = "stealth" (available but not shown)
    uservisible: bool = True
    url: str = ""
    availability: str | None = None
    completion: int = 0  # 0 none, 1 manual, 2 automatic
    indent: int = 0
    position: int = 0
    customdata: str = ""  # module-specific JSON from Moodle (e.g. an assignment's duedate)
    files: tuple[ModuleFile, ...] = ()


@dataclass(frozen=True, slots=True)
class Section:
    id: int
    courseid: int
    section: int  # number within the course (0 = general)
    name: str
    visible: bool = True
    summary: str = ""
    uservisible: bool = True
    component: str | None = None  # e.g. mod_subsection for delegated sections
    itemid: int | None = None
    modules: tuple[Module, ...] = ()


@dataclass(frozen=True, slots=True)
class Cohort:
    id: int
    name: str
    idnumber: str = ""
    description: str = ""
    visible: bool = True
    contextid: int | None = None  # Moodle does not report it; kept for backends that do
    categoryid: int | None = None  # 0 = system cohort, N = category cohort, None = not known
    theme: str = ""


@dataclass(frozen=True, slots=True)
class Members:
    """Member ids of one cohort or group (``container_id`` = cohortid or groupid)."""

    container_id: int
    userids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Group:
    id: int
    courseid: int
    name: str
    idnumber: str = ""
    description: str = ""
    visibility: int = 0
    participation: bool = True


@dataclass(frozen=True, slots=True)
class Grouping:
    id: int
    courseid: int
    name: str
    idnumber: str = ""
    description: str = ""
    groupids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Role:
    id: int
    shortname: str
    name: str = ""
    sortorder: int = 0


@dataclass(frozen=True, slots=True)
class Enrolment:
    """One user's enrolment in one course, as far as the LMS reports it."""

    courseid: int
    userid: int
    roles: tuple[Role, ...] = ()
    # Not active in Moodle's sense (its `onlysuspended`): suspended, enrolment method disabled,
    # not started yet or already ended. About the enrolment, not the account.
    suspended: bool = False
    lastcourseaccess: int | None = None
    timestart: int | None = None  # Moodle WS does not report these for others; kept when the console sets them
    timeend: int | None = None
    method: str = ""


@dataclass(frozen=True, slots=True)
class CourseProgress:
    """Completion state of one user in one course (``core_enrol_get_users_courses``)."""

    userid: int
    courseid: int
    progress: float | None  # percent, None when completion is not tracked
    completed: bool
    lastaccess: int | None = None
    timecompleted: int | None = None


@dataclass(frozen=True, slots=True)
class ActivityCompletion:
    userid: int
    courseid: int
    cmid: int
    state: int  # 0 incomplete, 1 complete, 2 complete pass, 3 complete fail
    timecompleted: int = 0
    tracking: int = 0
    overrideby: int | None = None


@dataclass(frozen=True, slots=True)
class GradeItem:
    id: int
    courseid: int
    itemname: str
    itemtype: str
    itemmodule: str | None = None
    cmid: int | None = None
    grademin: float = 0.0
    grademax: float = 100.0


@dataclass(frozen=True, slots=True)
class Grade:
    itemid: int
    courseid: int
    userid: int
    graderaw: float | None
    percentage: float | None = None
    gradedategraded: int | None = None


@dataclass(frozen=True, slots=True)
class CourseGrades:
    courseid: int
    items: tuple[GradeItem, ...]
    grades: tuple[Grade, ...]


# ---------------------------------------------------------------------------
# Feature map: which console feature needs which web-service functions.
# The doctor and the GUI read this to grey out what will not work and say why.


@dataclass(frozen=True, slots=True)
class Feature:
    key: str
    title: str
    functions: tuple[str, ...]
    needs_upload: bool = False
    needs_download: bool = False
    optional_functions: tuple[str, ...] = ()  # nice to have; missing ones degrade, not disable


FEATURES: tuple[Feature, ...] = (
    Feature("site", "Site information", ("core_webservice_get_site_info",)),
    Feature("users_read", "Read users", ("core_user_get_users", "core_user_get_users_by_field")),
    Feature("users_write", "Create, change, suspend and delete users",
            ("core_user_create_users", "core_user_update_users", "core_user_delete_users")),
    Feature("cohorts", "Cohorts", (
        "core_cohort_get_cohorts", "core_cohort_get_cohort_members", "core_cohort_create_cohorts",
        "core_cohort_update_cohorts", "core_cohort_delete_cohorts", "core_cohort_add_cohort_members",
        "core_cohort_delete_cohort_members"), optional_functions=("core_cohort_search_cohorts",)),
    Feature("groups", "Course groups and groupings", (
        "core_group_get_course_groups", "core_group_get_group_members", "core_group_create_groups",
        "core_group_delete_groups", "core_group_add_group_members", "core_group_delete_group_members",
        "core_group_get_course_groupings", "core_group_get_groupings", "core_group_create_groupings",
        "core_group_assign_grouping", "core_group_unassign_grouping"),
        optional_functions=("core_group_update_groups", "core_group_update_groupings", "core_group_delete_groupings")),
    Feature("enrolments", "Enrolments", (
        "core_enrol_get_enrolled_users", "enrol_manual_enrol_users", "enrol_manual_unenrol_users"),
        optional_functions=("core_role_unassign_roles",)),  # undo of a role added to an enrolment
    Feature("contents", "Course categories, courses and content", (
        "core_course_get_categories", "core_course_get_courses_by_field", "core_course_get_contents"),
        optional_functions=("core_course_create_courses", "core_course_update_courses",
                            "core_course_delete_courses", "core_course_duplicate_course",
                            "core_courseformat_update_course", "core_update_inplace_editable",
                            "core_course_delete_modules")),
    Feature("completion", "Course and activity completion", (
        "core_enrol_get_users_courses", "core_completion_get_activities_completion_status"),
        optional_functions=("core_completion_get_course_completion_status",
                            "core_completion_override_activity_completion_status")),
    Feature("grades", "Grades", ("gradereport_user_get_grade_items",)),
    Feature("uploads", "File uploads into course sections", (
        "local_course_add_new_course_module_resource", "local_course_add_new_course_module_directory",
        "local_course_add_files_to_directory", "local_course_add_new_course_module_url",
        "core_courseformat_update_course"), needs_upload=True),
)

FEATURES_BY_KEY = {f.key: f for f in FEATURES}

# Where each function's fix lives: plugin functions need the plugin installed first.
PLUGIN_OF_FUNCTION = {
    "local_course_add_new_course_module_resource": "local_sync_service",
    "local_course_add_new_course_module_directory": "local_sync_service",
    "local_course_add_files_to_directory": "local_sync_service",
    "local_course_add_new_course_module_url": "local_sync_service",
}


@dataclass(frozen=True, slots=True)
class FeatureStatus:
    feature: Feature
    missing: tuple[str, ...] = ()
    missing_optional: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()  # plain-language reasons beyond missing functions

    @property
    def available(self) -> bool:
        return not self.missing and not self.problems


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What the token can do, derived from site info (and probes where functions cannot tell)."""

    statuses: tuple[FeatureStatus, ...]

    def status(self, key: str) -> FeatureStatus:
        for s in self.statuses:
            if s.feature.key == key:
                return s
        raise KeyError(key)

    def can(self, key: str) -> bool:
        return self.status(key).available

    @property
    def healthy(self) -> bool:
        return all(s.available for s in self.statuses if s.feature.key != "uploads")


def capabilities_from(site: SiteInfo, features: Sequence[Feature] = FEATURES) -> Capabilities:
    statuses = []
    for feat in features:
        missing = tuple(f for f in feat.functions if f not in site.functions)
        missing_opt = tuple(f for f in feat.optional_functions if f not in site.functions)
        problems: list[str] = []
        if feat.needs_upload and not site.upload_allowed:
            problems.append("The service does not allow file uploads: tick 'Can upload files' in its settings.")
        if feat.needs_download and not site.download_allowed:
            problems.append("The service does not allow file downloads: tick 'Can download files' in its settings.")
        if feat.key in ("users_write", "cohorts") and not site.is_site_admin and not missing:
            problems.append(
                f"The token's user ({site.username}) is not a site administrator; "
                "writes will fail where that user lacks the capability.")
        statuses.append(FeatureStatus(feat, missing, missing_opt, tuple(problems)))
    return Capabilities(tuple(statuses))


@runtime_checkable
class LmsBackend(Protocol):
    """What the sync engine and the change engine need from any LMS.

    Every call takes a cancel token (checked between pages/chunks) and raises
    :class:`~lms_console.services.lms.errors.LmsError` subclasses only.
    """

    def site_info(self) -> SiteInfo: ...

    def categories(self) -> Fetched[Category]: ...

    def courses(self) -> Fetched[Course]: ...

    def users_matching(self, email_prefix: str) -> Fetched[User]: ...

    def users_by_ids(self, ids: Iterable[int]) -> Fetched[User]: ...

    def cohorts(self) -> Fetched[Cohort]: ...

    def cohort_members(self, cohort_ids: Sequence[int]) -> Fetched[Members]: ...

    def course_contents(self, courseid: int) -> Fetched[Section]: ...

    def course_groups(self, courseid: int) -> Fetched[Group]: ...

    def course_groupings(self, courseid: int) -> Fetched[Grouping]: ...

    def group_members(self, group_ids: Sequence[int]) -> Fetched[Members]: ...

    def enrolments_page(self, courseid: int, offset: int, limit: int, *, suspended_only: bool = False
                        ) -> Fetched[Enrolment]: ...

    def user_courses(self, userid: int) -> Fetched[CourseProgress]: ...

    def activity_completion(self, courseid: int, userid: int) -> Fetched[ActivityCompletion]: ...

    def course_grades(self, courseid: int) -> CourseGrades: ...

