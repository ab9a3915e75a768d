"""Moodle Web Services (REST, JSON) client: the Moodle implementation of ``LmsBackend``.

It absorbs Moodle's quirks (LMS_APIS.md section O) so nothing above it has to:
errors arrive as HTTP 200 with an ``exception`` body (or the AJAX ``error``
shape from upload.php and token.php), success may be ``null``, booleans must be
1/0, unknown keys are rejected, PHP silently truncates a form past
``max_input_vars`` (so every request is checked against a field budget), and
lists are unpaged.  The token travels in POST bodies only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import IO, Any, Callable, Iterable, Iterator, Mapping, Sequence, TypeVar

import orjson

from lms_console.services.lms import parse
from lms_console.services.lms.base import (
    ActivityCompletion,
    Category,
    Cohort,
    Course,
    CourseGrades,
    CourseProgress,
    Enrolment,
    Fetched,
    Group,
    Grouping,
    Members,
    Section,
    SiteInfo,
    User,
)
from lms_console.services.lms.errors import (
    ApiRejected,
    AuthExpired,
    BadResponse,
    Cancelled,
    FunctionNotAvailable,
    InvalidParameter,
    LmsError,
    PermissionDenied,
    Unreachable,
)
from lms_console.services.lms.parse import strip_token_from_url
from lms_console.services.lms.http import (
    HttpResponse,
    HttpTransport,
    flatten_params,
    html_title,
    strip_html,
)
from lms_console.services.progress import NEVER_CANCELLED, CancelToken

REST_PATH = "/webservice/rest/server.php"
UPLOAD_PATH = "/webservice/upload.php"
TOKEN_PATH = "/login/token.php"

# PHP's max_input_vars defaults to 1,000 and Moodle's workaround does not run for
# web services: stay well under it, reserved fields included.
MAX_FIELDS = 800
# Id lists per read call (one field each).
IDS_PER_CALL = 500

T = TypeVar("T")

_IDENT_RE = re.compile(r"^[a-z0-9_]+$")

_AUTH_CODES = {"invalidtoken", "wsaccessusersuspended", "wsaccessuserdeleted", "wsaccessusernologin",
               "wsaccessuserunconfirmed", "wsaccessusersuspended", "usernotfullysetup", "invalidlogin"}
_PERMISSION_CODES = {"nopermissions", "requireloginerror", "errorcoursecontextnotvalid", "wsusercannotassign",
                     "cannotcreatetoken", "usernotallowed", "requirecapability", "accessdenied",
                     "useradminodelete", "usernotdeletederror", "notenroled", "usernotenroled"}
_HINTS = {
    "invalidtoken": "The site does not know this token (deleted, mistyped or for another site). "
                    "Paste a valid token into the connection profile.",
    "sitemaintenance": "The site is in maintenance mode. Try again when the site is back.",
    "invalidlogin": "Wrong username or password (accounts lock after repeated failures).",
    "cannotcreatetoken": "Moodle never creates tokens for administrators through sign-in: create one in "
                         "Site administration > Server > Web services > Manage tokens and paste it.",
    "usernotallowed": "The token's user is not on the service's list of authorised users.",
    "nopermissions": "The token's user lacks the capability named in the message.",
    "requireloginerror": "The token's user cannot access this (plugin functions need a site administrator).",
    "errorcoursecontextnotvalid": "The token's user cannot access this course (not enrolled, or course hidden).",
    "wsusercannotassign": "The token's user may not assign this role in the course.",
    "wsnoinstance": "The course has no manual enrolment method: add one in the course's enrolment methods.",
    "shortnametaken": "Another course already uses this short name.",
    "nocriteriaset": "The course has no completion criteria: set them in the course's completion settings.",
    "useradminodelete": "Site administrators cannot be deleted. Suspend the account, or remove the admin role first.",
    "usernotdeletederror": "You cannot delete the account the console is signed in with.",
    "invalidparameter": InvalidParameter.default_hint,
    "accessexception": "Access denied by the web-service layer: the token may have expired, be restricted to "
                       "other IP addresses, belong to a disabled service, or its user lacks "
                       "'webservice/rest:use'.",
    "restdisabled": "The REST protocol is disabled: Site administration > Server > Web services > Manage protocols.",
}


@dataclass(frozen=True, slots=True)
class DraftFile:
    """One entry of a webservice/upload.php answer (a stored file, or a per-file error)."""

    filename: str
    itemid: int = 0
    filesize: int = 0
    contextid: int = 0
    filepath: str = "/"
    errortype: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.errortype


def like_prefix(prefix: str) -> str:
    """A case-insensitive SQL LIKE pattern matching values that start with ``prefix``."""
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


class MoodleClient:
    """Moodle REST client. Thread-safe: share one per profile across the HTTP pool."""

    backend = "moodle"

    def __init__(self, transport: HttpTransport, token: object, *, max_fields: int = MAX_FIELDS) -> None:
        reveal = getattr(token, "reveal", None)
        secret = reveal() if callable(reveal) else str(token)
        if not secret:
            raise ValueError("empty token")
        self._transport = transport
        self._token = secret
        self.max_fields = max_fields
        transport.add_secret(secret)
        # Set from site info; lets errors say "function missing from the service" precisely.
        self.service_functions: frozenset[str] | None = None

    def __repr__(self) -> str:
        return f"MoodleClient({self._transport.base_url!r})"

    @property
    def transport(self) -> HttpTransport:
        return self._transport

    @property
    def base_url(self) -> str:
        return self._transport.base_url

    # -- generic call ----------------------------------------------------------
    def request_fields(self, function: str, params: Mapping[str, object] | None = None) -> list[tuple[str, str]]:
        """The exact form fields a call sends, token first (callers showing them must mask it)."""
        return [("wstoken", self._token), ("wsfunction", function), ("moodlewsrestformat", "json"),
                *flatten_params(params)]

    def call(self, function: str, params: Mapping[str, object] | None = None, *, write: bool = False,
             cancel: CancelToken = NEVER_CANCELLED) -> Any:
        """Call one web-service function; returns decoded JSON (``None`` for Moodle's ``null``).

        ``write=True`` marks a non-idempotent call: it is never retried, and a lost
        answer raises :class:`~lms_console.services.lms.errors.OutcomeUnknown`.
        """
        fields = self.request_fields(function, params)
        if len(fields) > self.max_fields:
            # Moodle would silently drop the tail of the request: refuse instead.
            raise ValueError(f"{function}: {len(fields)} form fields exceed the budget of {self.max_fields}; "
                             "split the request into chunks")
        attempts = 1 if write else max(1, self._transport.retry.attempts)
        for attempt in range(1, attempts + 1):
            resp = self._transport.post_form(REST_PATH, fields, idempotent=not write, cancel=cancel,
                                             label=function)
            try:
                return self._decode(resp, function)
            except BadResponse:
                # A truncated or garbled answer to a read is worth another try (a write's is
                # not, and neither is a 404 or an HTML error status).
                if attempt == attempts or resp.status != 200:
                    raise
                self._transport.stats.retries += 1
                if cancel.wait(self._transport.retry.delay(attempt, self._transport.rng)):
                    raise Cancelled() from None
        raise AssertionError("unreachable")

    def _decode(self, resp: HttpResponse, function: str) -> Any:
        body = resp.body
        if resp.status != 200:
            if resp.status == 403 and not body.strip().startswith(b"{"):
                raise ApiRejected("the site refused web-service access (HTTP 403)", code="restdisabled",
                                  hint=_HINTS["restdisabled"], function=function, status=403)
            if resp.status == 404:
                raise BadResponse(f"no Moodle web-service endpoint at {self.base_url} (HTTP 404)", status=404,
                                  function=function, code="http404",
                                  hint="Check the site URL: it must be the Moodle root (the address of its front page).")
            raise BadResponse(f"HTTP {resp.status} {html_title(body)}", status=resp.status, function=function,
                              code=f"http{resp.status}")
        stripped = body.strip()
        if stripped == b"null":
            return None
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            kind = "an HTML page" if stripped[:1] == b"<" else "a body that is not JSON"
            detail = html_title(body) if stripped[:1] == b"<" else f"{len(body)} bytes, truncated or malformed"
            raise BadResponse(f"the site answered with {kind} ({detail})", function=function,
                              status=resp.status, code="badresponse") from None
        if isinstance(data, dict):
            if "exception" in data and "errorcode" in data:
                raise self.api_error(data, function)
            if "error" in data and "errorcode" in data and len(data) <= 6:
                raise self.api_error(data, function)
        return data

    def api_error(self, data: Mapping[str, Any], function: str) -> LmsError:
        """Map a Moodle error body (REST or AJAX shape) to a typed error."""
        raw_code = str(data.get("errorcode") or "")
        message = strip_html(str(data.get("message") or data.get("error") or ""))
        if raw_code and not _IDENT_RE.match(raw_code):
            # Some exceptions carry a sentence as their code (the password policy does).
            message = strip_html(raw_code)
            raw_code = "error"
        if message.startswith("error/"):
            message = message[len("error/"):]
        debug = strip_html(str(data.get("debuginfo") or ""))
        if debug:
            message = f"{message} ({debug})"
        code = raw_code
        kw = {"code": code, "function": function}
        hint = _HINTS.get(code)
        if code == "accessexception":
            if self.service_functions is not None and function not in self.service_functions:
                return FunctionNotAvailable(f"{function} is not in the token's web service", **kw)
            if "expired" in debug.lower() or function == "core_webservice_get_site_info":
                return AuthExpired(message or "access denied", hint=hint, **kw)
            return PermissionDenied(message or "access denied", hint=hint, **kw)
        if code == "invalidrecordunknown" and self.service_functions is not None \
                and function not in self.service_functions:
            return FunctionNotAvailable(f"{function} does not exist on the site or is not in the token's service",
                                        **kw)
        if code in _AUTH_CODES:
            return AuthExpired(message, hint=hint, **kw)
        if code == "sitemaintenance":
            return Unreachable(message, hint=hint, **kw)
        if code in _PERMISSION_CODES:
            return PermissionDenied(message, hint=hint, **kw)
        if code == "invalidparameter":
            return InvalidParameter(message, hint=hint, **kw)
        return ApiRejected(message or code, hint=hint, **kw) if hint else ApiRejected(message or code, **kw)

    def _ids_call(self, function: str, key: str, ids: Sequence[int], cancel: CancelToken,
                  **extra: object) -> list[Any]:
        out: list[Any] = []
        for part in chunks(list(ids), IDS_PER_CALL):
            cancel.raise_if_cancelled()
            out.extend(self.call(function, {key: list(part), **extra}, cancel=cancel) or [])
        return out

    # -- site and sign-in --------------------------------------------------------
    def site_info(self, cancel: CancelToken = NEVER_CANCELLED) -> SiteInfo:
        info = parse.site_info(self.call("core_webservice_get_site_info", cancel=cancel))
        self.service_functions = info.functions
        return info

    @staticmethod
    def sign_in(transport: HttpTransport, username: str, password: str, service: str,
                cancel: CancelToken = NEVER_CANCELLED) -> str:
        """Get a token with a password through login/token.php (where the site allows it)."""
        transport.add_secret(password)
        resp = transport.post_form(TOKEN_PATH, [("username", username), ("password", password),
                                                ("service", service)], idempotent=False, cancel=cancel,
                                   label="login/token.php")
        probe = MoodleClient.__new__(MoodleClient)
        probe._transport, probe.service_functions = transport, None
        data = probe._decode(resp, "login/token.php")
        if not isinstance(data, dict) or not data.get("token"):
            raise BadResponse("login/token.php answered without a token", function="login/token.php")
        transport.add_secret(data["token"])
        return str(data["token"])

    # -- directory ----------------------------------------------------------------
    def users_matching(self, email_prefix: str, cancel: CancelToken = NEVER_CANCELLED) -> Fetched[User]:
        """Users whose email starts with ``email_prefix`` (case-insensitive); '' = everyone with an email."""
        data = self.call("core_user_get_users",
                         {"criteria": [{"key": "email", "value": like_prefix(email_prefix)}]}, cancel=cancel)
        return Fetched(tuple(parse.user(u) for u in data.get("users", [])), parse.warnings(data))

    def users_by_field(self, field: str, values: Sequence[object],
                       cancel: CancelToken = NEVER_CANCELLED) -> Fetched[User]:
        rows = self._ids_call("core_user_get_users_by_field", "values", values, cancel, field=field)
        return Fetched(tuple(parse.user(u) for u in rows))

    def users_by_ids(self, ids: Iterable[int], cancel: CancelToken = NEVER_CANCELLED) -> Fetched[User]:
        return self.users_by_field("id", list(ids), cancel)

    # -- structure ------------------------------------------------------------------
    def categories(self, cancel: CancelToken = NEVER_CANCELLED) -> Fetched[Category]:
        data = self.call("core_course_get_categories", {"addsubcategories": True}, cancel=cancel)
        return Fetched(tuple(parse.category(c) for c in data or []))

    def courses(self, cancel: CancelToken = NEVER_CANCELLED) -> Fetched[Course]:
        # get_courses_by_field (no field) lists what the token can see and reports the rest
        # as warnings; core_course_get_courses stops at the first course it cannot see.
        data = self.call("core_course_get_courses_by_field", cancel=cancel)
        courses = tuple(parse.course(c) for c in data.get("courses", []) if c.get("format") != "site"
                        and int(c.get("id", 0)) != 1)
        return Fetched(courses, parse.warnings(data))

    def course_contents(self, courseid: int, cancel: CancelToken = NEVER_CANCELLED) -> Fetched[Section]:
        data = self.call("core_course_get_contents",
                         {"courseid": courseid, "options": [{"name": "includestealthmodules", "value": 1}]},
                         cancel=cancel)
        return Fetched(tuple(parse.section(courseid, s) for s in data or []))

    # -- cohorts ----------------------------------------------------------------------
    def cohorts(self, cancel: CancelToken = NEVER_CANCELLED) -> Fetched[Cohort]:
        data = self.call("core_cohort_get_cohorts", {"cohortids": []}, cancel=cancel)
        return Fetched(tuple(parse.cohort(c) for c in data or []))

    def cohort_ids_in_context(self, categoryid: int, cancel: CancelToken = NEVER_CANCELLED) -> set[int]:
        """Ids of cohorts defined exactly in the system context (0) or a category's."""
        if categoryid:
            context: dict[str, object] = {"contextlevel": "coursecat", "instanceid": categoryid}
        else:
            context = {"contextlevel": "system", "instanceid": 0}
        ids: set[int] = set()
        offset, page = 0, 500
        while True:
            data = self.call("core_cohort_search_cohorts",
                             {"query": "", "context": context, "includes": "self", "limitfrom": offset,
                              "limitnum": page}, cancel=cancel)
            batch = data.get("cohorts", []) if isinstance(data, dict) else []
            ids.update(int(c["id"]) for c in batch)
            if len(batch) < page:
                return ids
            offset += page

    def cohort_members(self, cohort_ids: Sequence[int], cancel: CancelToken = NEVER_CANCELLED) -> Fetched[Members]:
        rows = self._ids_call("core_cohort_get_cohort_members", "cohortids", cohort_ids, cancel)
        return Fetched(tuple(Members(int(r["cohortid"]), tuple(int(u) for u in r.get("userids", [])))
                             for r in rows))

    # -- groups -----------------------------------------------------------------------
    def course_groups(self, courseid: int, cancel: CancelToken = NEVER_CANCELLED) -> Fetched[Group]:
        data = self.call("core_group_get_course_groups", {"courseid": courseid}, cancel=cancel)
        return Fetched(tuple(parse.group(g) for g in data or []))

    def course_groupings(self, courseid: int, cancel: CancelToken = NEVER_CANCELLED) -> Fetched[Grouping]:
        data = self.call("core_group_get_course_groupings", {"courseid": courseid}, cancel=cancel) or []
        if not data:
            return Fetched(())
        ids = [int(g["id"]) for g in data]
        full = self._ids_call("core_group_get_groupings", "groupingids", ids, cancel, returngroups=True)
        return Fetched(tuple(parse.grouping(g) for g in full))

    def group_members(self, group_ids: Sequence[int], cancel: CancelToken = NEVER_CANCELLED) -> Fetched[Members]:
        rows = self._ids_call("core_group_get_group_members", "groupids", group_ids, cancel)
        return Fetched(tuple(Members(int(r["groupid"]), tuple(int(u) for u in r.get("userids", [])))
                             for r in rows))

    # -- enrolments, completion, grades ----------------------------------------------------
    def enrolments_page(self, courseid: int, offset: int, limit: int, *, suspended_only: bool = False,
                        cancel: CancelToken = NEVER_CANCELLED) -> Fetched[Enrolment]:
        options: list[dict[str, object]] = [
            {"name": "limitfrom", "value": offset},
            {"name": "limitnumber", "value": limit},
            # Trimmed fields: a page of 50 drops from ~1.2 s to ~0.4 s on a real site.
            {"name": "userfields", "value": "id,roles,lastcourseaccess"},
            {"name": "sortby", "value": "id"},
        ]
        if suspended_only:
            options.append({"name": "onlysuspended", "value": 1})
        data = self.call("core_enrol_get_enrolled_users", {"courseid": courseid, "options": options}, cancel=cancel)
        return Fetched(tuple(parse.enrolment(courseid, u, suspended_only) for u in data or []))

    def user_courses(self, userid: int, cancel: CancelToken = NEVER_CANCELLED) -> Fetched[CourseProgress]:
        data = self.call("core_enrol_get_users_courses", {"userid": userid, "returnusercount": False},
                         cancel=cancel)
        return Fetched(tuple(parse.course_progress(userid, c) for c in data or []))

    def activity_completion(self, courseid: int, userid: int,
                            cancel: CancelToken = NEVER_CANCELLED) -> Fetched[ActivityCompletion]:
        data = self.call("core_completion_get_activities_completion_status",
                         {"courseid": courseid, "userid": userid}, cancel=cancel)
        return Fetched(tuple(parse.activity_completion(courseid, userid, s) for s in data.get("statuses", [])),
                       parse.warnings(data))

    def course_grades(self, courseid: int, cancel: CancelToken = NEVER_CANCELLED) -> CourseGrades:
        data = self.call("gradereport_user_get_grade_items", {"courseid": courseid, "userid": 0}, cancel=cancel)
        return parse.course_grades(courseid, data)

    # -- files ---------------------------------------------------------------------------
    def upload(self, files: Sequence[tuple[str, IO[bytes], str]], *, itemid: int = 0, filepath: str = "/",
               cancel: CancelToken = NEVER_CANCELLED, progress: Callable[[int], None] | None = None
               ) -> list[DraftFile]:
        """Stream files into a draft area via webservice/upload.php; one result per file.

        ``files`` are (filename, binary stream, mime type).  Moodle stores the files
        that fit and reports the others per file (``fileoversized``), so every entry
        of the answer is checked.
        """
        fields = [("token", self._token), ("filearea", "draft"), ("itemid", str(itemid)), ("filepath", filepath)]
        parts = [(f"file_{i + 1}", name, stream, mime) for i, (name, stream, mime) in enumerate(files)]
        resp = self._transport.post_multipart(UPLOAD_PATH, fields, parts, cancel=cancel, label="webservice/upload.php",
                                              progress=progress)
        if resp.status == 413:
            raise ApiRejected(f"the upload is larger than the web server accepts ({html_title(resp.body)})",
                              code="http413", status=413, function="webservice/upload.php",
                              hint="Upload smaller files, or raise the server's upload limits (PHP post_max_size, "
                                   "nginx client_max_body_size).")
        data = self._decode(resp, "webservice/upload.php")
        if not isinstance(data, list):
            raise BadResponse("webservice/upload.php answered without a file list", function="webservice/upload.php")
        return [parse.draft_file(d, DraftFile) for d in data]

    def download(self, fileurl: str, sink: IO[bytes], *, cancel: CancelToken = NEVER_CANCELLED,
                 progress: Callable[[int, int], None] | None = None) -> int:
        """Download a ``webservice/pluginfile.php`` URL; the token goes in the POST body."""
        url = strip_token_from_url(fileurl)
        return self._transport.download(url, [("token", self._token)], sink, cancel=cancel, progress=progress,
                                        label="webservice/pluginfile.php")
