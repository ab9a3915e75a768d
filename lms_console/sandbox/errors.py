"""Exceptions the sandbox raises, rendered exactly like Moodle renders them.

A web-service error is answered with HTTP 200 and ``{exception, errorcode,
message[, debuginfo]}``; ``debuginfo`` appears only when the site's debug
setting is on (fixtures in ``debug_on/``).  Some Moodle errors even change
their code and message with debugging (a missing record is ``invalidrecordunknown``
without it and ``invalidrecord`` naming the table with it), so rendering takes
the debug flag.

``login/token.php`` and ``webservice/upload.php`` are ``AJAX_SCRIPT`` pages
whose errors have another shape, see :meth:`MoodleError.ajax_dict`.
"""

from __future__ import annotations

EXC_MOODLE = "core\\exception\\moodle_exception"
EXC_INVALID_PARAM = "core\\exception\\invalid_parameter_exception"
EXC_CODING = "core\\exception\\coding_exception"
EXC_CAPABILITY = "core\\exception\\required_capability_exception"
EXC_REQUIRE_LOGIN = "core\\exception\\require_login_exception"
EXC_WS_ACCESS = "webservice_access_exception"
EXC_MISSING_RECORD = "dml_missing_record_exception"
EXC_DML_WRITE = "dml_write_exception"
EXC_FILE = "file_exception"


class MoodleError(Exception):
    """A Moodle exception as the REST server reports it."""

    def __init__(self, exception: str, errorcode: str | None, message: str, debuginfo: str | None = None):
        super().__init__(message)
        self.exception = exception
        self.errorcode = errorcode
        self.message = message
        self.debuginfo = debuginfo

    def as_dict(self, debug: bool) -> dict:
        out: dict = {"exception": self.exception}
        if self.errorcode is not None:
            out["errorcode"] = self.errorcode
        out["message"] = self.message
        if debug and self.debuginfo is not None:
            out["debuginfo"] = self.debuginfo
        return out

    def ajax_dict(self, debug: bool) -> dict:
        """Shape used by AJAX scripts (token.php, upload.php)."""
        return {
            "error": self.message,
            "errorcode": self.errorcode,
            "stacktrace": None,
            "debuginfo": self.debuginfo if debug else None,
            "reproductionlink": None,
        }


class MissingRecord(MoodleError):
    """``dml_missing_record_exception``: its code and text depend on debugging."""

    def __init__(self, table: str, sql: str = "", params: list | None = None, errorcode: str | None = None,
                 message: str | None = None):
        super().__init__(EXC_MISSING_RECORD, "invalidrecordunknown", "Can't find data record in database.")
        self.table = table
        self.sql = sql or f"SELECT * FROM {{{table}}} WHERE id = ?"
        self.params = params or []
        self._debug_code = errorcode or "invalidrecord"
        self._debug_message = message or f"Can't find data record in database table {table}."

    def as_dict(self, debug: bool) -> dict:
        if not debug:
            return super().as_dict(False)
        lines = "".join(f"  {i} => {_php_export(v)},\n" for i, v in enumerate(self.params))
        return {
            "exception": self.exception,
            "errorcode": self._debug_code,
            "message": self._debug_message,
            "debuginfo": f"{self.sql}\n[array (\n{lines})]",
        }


def _php_export(value) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def invalid_parameter(debuginfo: str | None = None) -> MoodleError:
    return MoodleError(EXC_INVALID_PARAM, "invalidparameter", "Invalid parameter value detected", debuginfo)


def moodle_exception(errorcode: str, message: str | None = None, debuginfo: str | None = None) -> MoodleError:
    """``new moodle_exception($errorcode)``; an unknown string renders as ``error/<code>``."""
    return MoodleError(EXC_MOODLE, errorcode, message if message is not None else f"error/{errorcode}", debuginfo)


def coding_error(text: str, debuginfo: str | None = None) -> MoodleError:
    return MoodleError(EXC_CODING, "codingerror",
                       f"Coding error detected, it must be fixed by a programmer: {text}", debuginfo)


def no_permission(capability_name: str) -> MoodleError:
    return MoodleError(EXC_CAPABILITY, "nopermissions",
                       f"Sorry, but you do not currently have permissions to do that ({capability_name}).")


def require_login(debuginfo: str = "Not enrolled") -> MoodleError:
    return MoodleError(EXC_REQUIRE_LOGIN, "requireloginerror", "Course or activity not accessible.", debuginfo)


def course_context_not_valid(courseid: int) -> MoodleError:
    return MoodleError(
        EXC_MOODLE, "errorcoursecontextnotvalid",
        f"You cannot execute functions in the course context (course id:{courseid}). "
        "The context error message was: Course or activity not accessible.",
    )


def access_exception(debuginfo: str) -> MoodleError:
    return MoodleError(EXC_WS_ACCESS, "accessexception", "Access control exception", debuginfo)


def invalid_token() -> MoodleError:
    return MoodleError(EXC_MOODLE, "invalidtoken", "Invalid token - token not found")


def dml_write_error(debuginfo: str | None = None) -> MoodleError:
    return MoodleError(EXC_DML_WRITE, "dmlwriteexception", "Error writing to database", debuginfo)


def php_type_error(message: str) -> MoodleError:
    """A PHP ``TypeError`` leaking out of a plugin: no errorcode at all."""
    return MoodleError("TypeError", None, message)
