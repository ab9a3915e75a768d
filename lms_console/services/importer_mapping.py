"""Which column of an import file feeds which account field: auto-matching and its problems.

A mapping is a tuple of targets, one per column, ``""`` for "not imported". Targets:
the account fields (``username``, ``email``, ``firstname``, ...), ``password``, ``suspended``,
``cohort<n>``, ``course<n>`` with ``role<n>`` / ``enrolstart<n>`` / ``enrolend<n>``
(``enrolstart``/``enrolend`` without a number apply to every course of the row) and
``profile_field_<shortname>``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lms_console.services.changes.kinds_users import USER_FIELDS

IGNORE = ""
PROFILE_PREFIX = "profile_field_"
REASON_COLUMN = "reason"  # added by "export failed rows"; ignored when the file comes back

FIELD_TARGETS = (*USER_FIELDS, "password", "suspended")
LABELS = {
    "username": "Username", "email": "Email address", "firstname": "First name", "lastname": "Last name",
    "password": "Password", "idnumber": "ID number", "department": "Department", "institution": "Institution",
    "city": "City/town", "country": "Country (2-letter code)", "auth": "Authentication method",
    "suspended": "Suspended (yes/no)", "lang": "Language", "timezone": "Timezone", "phone1": "Phone",
    "phone2": "Mobile phone", "address": "Address", "description": "Description",
}
_NUMBERED = ("cohort", "course", "role", "enrolstart", "enrolend")
_NUMBERED_RE = re.compile(r"^(cohort|course|role|enrolstart|enrolend)(\d*)$")
REQUIRED_FOR_NEW = ("firstname", "lastname", "email")

# Normalised header (lower case, no spaces, dashes, dots or underscores) -> target.
_ALIASES = {
    "username": "username", "user": "username", "login": "username", "loginname": "username",
    "email": "email", "emailaddress": "email", "mail": "email", "mailaddress": "email",
    "firstname": "firstname", "givenname": "firstname", "forename": "firstname", "first": "firstname",
    "lastname": "lastname", "surname": "lastname", "familyname": "lastname", "last": "lastname",
    "password": "password", "pass": "password", "pwd": "password", "initialpassword": "password",
    "idnumber": "idnumber", "id#": "idnumber", "employeeid": "idnumber", "employeenumber": "idnumber",
    "studentid": "idnumber", "studentnumber": "idnumber", "personnelnumber": "idnumber",
    "department": "department", "dept": "department",
    "institution": "institution", "organisation": "institution", "organization": "institution",
    "company": "institution",
    "city": "city", "town": "city", "city/town": "city",
    "country": "country", "countrycode": "country",
    "auth": "auth", "authentication": "auth", "authmethod": "auth", "authenticationmethod": "auth",
    "suspended": "suspended", "suspend": "suspended",
    "lang": "lang", "language": "lang",
    "timezone": "timezone",
    "phone": "phone1", "phone1": "phone1", "telephone": "phone1",
    "phone2": "phone2", "mobile": "phone2", "mobilephone": "phone2",
    "address": "address",
    "description": "description",
    "enroltimestart": "enrolstart", "enrolstartdate": "enrolstart", "enrolmentstart": "enrolstart",
    "enroltimeend": "enrolend", "enrolenddate": "enrolend", "enrolmentend": "enrolend",
}


def _norm(header: str) -> str:
    return re.sub(r"[\s_.\-]+", "", header.strip().lstrip("\ufeff").lower())


def match_header(header: str) -> str:
    """The target a header means, or ``""`` (not recognised)."""
    raw = header.strip().lstrip("\ufeff").strip()
    if raw.lower().startswith(PROFILE_PREFIX) and len(raw) > len(PROFILE_PREFIX):
        return PROFILE_PREFIX + raw[len(PROFILE_PREFIX):].strip()
    key = _norm(raw)
    if key in _ALIASES:
        return _ALIASES[key]
    m = _NUMBERED_RE.match(key)
    if m:
        base, n = m.groups()
        if base in ("enrolstart", "enrolend"):
            return f"{base}{n}"
        return f"{base}{n or 1}"
    m = re.match(r"^(enroltimestart|enroltimeend)(\d+)$", key)
    if m:
        return ("enrolstart" if m.group(1).endswith("start") else "enrolend") + m.group(2)
    return IGNORE


def auto_map(headers: Sequence[str]) -> tuple[str, ...]:
    """One target per column, matched case-insensitively from common header names."""
    return tuple(match_header(h) for h in headers)


def numbered(target: str) -> tuple[str, int] | None:
    """``("course", 2)`` for ``course2``; ``("enrolstart", 0)`` for ``enrolstart``; None otherwise."""
    m = _NUMBERED_RE.match(target)
    if not m:
        return None
    return m.group(1), int(m.group(2) or 0)


def is_target(target: str) -> bool:
    if target in ("", *FIELD_TARGETS):
        return True
    if target.startswith(PROFILE_PREFIX):
        return bool(re.fullmatch(r"[A-Za-z0-9_]+", target[len(PROFILE_PREFIX):]))
    m = numbered(target)
    return m is not None and (m[1] > 0 or m[0] in ("enrolstart", "enrolend"))


def target_label(target: str) -> str:
    if not target:
        return "(not imported)"
    if target in LABELS:
        return LABELS[target]
    if target.startswith(PROFILE_PREFIX):
        return f"Profile field “{target[len(PROFILE_PREFIX):]}”"
    m = numbered(target)
    if m:
        base, n = m
        words = {"cohort": "Cohort", "course": "Course", "role": "Role in course",
                 "enrolstart": "Enrolment start", "enrolend": "Enrolment end"}[base]
        if not n:
            return f"{words} (every course)"
        return f"{words} {n}"
    return target


def column_name(index: int, header: str = "") -> str:
    """``column C “Email”`` (spreadsheet letters, as the admin sees them)."""
    letters, n = "", index + 1
    while n:
        n, r = divmod(n - 1, 26)
        letters = chr(65 + r) + letters
    return f"column {letters} “{header}”" if header else f"column {letters}"


def target_choices(headers: Sequence[str], targets: Sequence[str], profile_fields: Iterable[str] = (),
                   slots: int = 3) -> list[str]:
    """Targets to offer in a column's menu: every field, numbered columns up to the ones in use
    plus ``slots`` more, the known profile fields and those already mapped."""
    used = [numbered(t) for t in targets if numbered(t)]
    top = max([n for _b, n in used] + [0]) + slots
    out = ["", *FIELD_TARGETS]
    for n in range(1, top + 1):
        out += [f"cohort{n}", f"course{n}", f"role{n}", f"enrolstart{n}", f"enrolend{n}"]
    out += ["enrolstart", "enrolend"]
    out += [PROFILE_PREFIX + s for s in sorted(set(profile_fields))]
    out += [t for t in targets if t and t not in out]
    return out


@dataclass(frozen=True, slots=True)
class MappingReport:
    """What is wrong with a mapping: ``errors`` block the dry run, ``warnings`` do not."""

    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors


MOST_UNKNOWN_NAMED = 3  # more unknown columns than this are said in one warning (a wide HR export has dozens)


def _unknown_columns(names: list[str]) -> list[str]:
    """The warnings for columns that are not known and not imported: one each, or one for them all."""
    fix = "map it to what it holds, or choose “(not imported)” for it to leave it out on purpose."
    if len(names) <= MOST_UNKNOWN_NAMED:
        return [f"{name} is not a known column and is not imported: {fix}" for name in names]
    shown = ", ".join(names[:MOST_UNKNOWN_NAMED * 2]) + (f" and {len(names) - MOST_UNKNOWN_NAMED * 2} more"
                                                        if len(names) > MOST_UNKNOWN_NAMED * 2 else "")
    return [f"{len(names)} columns are not known and are not imported ({shown}): for each, {fix}"]


def check_mapping(headers: Sequence[str], targets: Sequence[str], *, profile_fields: Iterable[str] | None = None,
                  create_passwords: bool = False, ignored: Iterable[int] = ()) -> MappingReport:
    """Unknown, missing required and duplicated columns, in plain words.

    ``ignored``: the columns (by index) the admin set to "(not imported)" on purpose; like the columns
    whose header :func:`auto_map` knows but that are not imported, they are not warned about."""
    errors: list[str] = []
    warnings: list[str] = []
    if len(targets) != len(headers):
        errors.append(f"The mapping has {len(targets)} entries for {len(headers)} columns.")
        return MappingReport(tuple(errors), ())
    by_target: dict[str, list[int]] = {}
    for i, t in enumerate(targets):
        if t:
            by_target.setdefault(t, []).append(i)
    for i, (h, t) in enumerate(zip(headers, targets)):
        if t and not is_target(t):
            errors.append(f"{column_name(i, h)}: “{t}” is not something the import can fill.")
    for t, cols in by_target.items():
        if len(cols) > 1:
            names = " and ".join(column_name(i, headers[i]) for i in cols)
            errors.append(f"{names} are all mapped to {target_label(t)}: set all but one to “(not imported)”.")
    if "username" not in by_target:
        errors.append("No column is mapped to Username: every row needs one to find or create the account.")
    missing_new = [LABELS[t] for t in REQUIRED_FOR_NEW if t not in by_target]
    if missing_new:
        warnings.append(f"No {', '.join(missing_new)} column: rows for accounts that do not exist yet will fail "
                        "(new accounts need first name, last name and email).")
    if "password" not in by_target and not create_passwords:
        warnings.append("No Password column: new accounts with manual sign-in will fail unless you let Moodle "
                        "create and email their passwords.")
    ignored = set(ignored)
    unknown: list[str] = []
    for i, (h, t) in enumerate(zip(headers, targets)):
        # Only columns nobody chose to leave out: a header auto_map knows was taken out on purpose;
        # the reason column is our own export's.
        if t or i in ignored or h.strip().lower() == REASON_COLUMN or match_header(h):
            continue
        if not h.strip():
            warnings.append(f"{column_name(i)} has no header and is not imported.")
        else:
            unknown.append(column_name(i, h))
    warnings += _unknown_columns(unknown)
    for t, cols in by_target.items():
        m = numbered(t)
        if m and m[0] in ("role", "enrolstart", "enrolend") and m[1] and f"course{m[1]}" not in by_target:
            warnings.append(f"{column_name(cols[0], headers[cols[0]])} ({target_label(t)}) has no Course {m[1]} "
                            "column and is not used.")
        if m and m[0] in ("enrolstart", "enrolend") and not m[1] and not any(k.startswith("course") for k in by_target):
            warnings.append(f"{column_name(cols[0], headers[cols[0]])} ({target_label(t)}) is not used: there is no "
                            "Course column.")
    if profile_fields is not None:
        known = set(profile_fields)
        for t, cols in by_target.items():
            if t.startswith(PROFILE_PREFIX) and t[len(PROFILE_PREFIX):] not in known:
                warnings.append(f"{column_name(cols[0], headers[cols[0]])}: no account in the local copy has the "
                                f"profile field “{t[len(PROFILE_PREFIX):]}”; check its short name (sync first if it "
                                "is new).")
    return MappingReport(tuple(errors), tuple(warnings))


__all__ = ["FIELD_TARGETS", "IGNORE", "LABELS", "PROFILE_PREFIX", "REASON_COLUMN", "REQUIRED_FOR_NEW",
           "MappingReport", "auto_map", "check_mapping", "column_name", "is_target", "match_header", "numbered",
           "target_choices", "target_label"]
