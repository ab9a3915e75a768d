"""Parameter descriptions and validation modelled on ``external_api::validate_parameters``.

Descriptions are small objects (:class:`Value`, :class:`Single`,
:class:`Multiple`) mirroring ``external_value``/``external_single_structure``/
``external_multiple_structure``.  Validation rules follow Moodle:

* a missing ``REQUIRED`` key, an unexpected key, an array where a scalar is
  expected (or the reverse) or a value that ``clean_param`` would change all
  raise ``invalidparameter`` with Moodle's debuginfo text;
* ``PARAM_BOOL`` accepts only ``0``/``1`` (REST sends strings, so ``true``
  fails) and returns a Python bool;
* ``DEFAULT`` keys get their default, ``OPTIONAL`` keys stay absent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .errors import invalid_parameter

REQUIRED, DEFAULT, OPTIONAL = 1, 0, 2

INT, BOOL, FLOAT = "int", "bool", "float"
RAW, TEXT, NOTAGS, RAW_TRIMMED = "raw", "text", "notags", "raw_trimmed"
ALPHA, ALPHANUM, ALPHANUMEXT = "alpha", "alphanum", "alphanumext"
USERNAME, PLUGIN, COMPONENT, AREA, LANG = "username", "plugin", "component", "area", "lang"
THEME, TIMEZONE, PATH, FILE, URL, EMAIL = "theme", "timezone", "path", "file", "url", "email"

_INT_RE = re.compile(r"^-?(0|[1-9][0-9]{0,18})$")
_FLOAT_RE = re.compile(r"^[+-]?[0-9]*\.?[0-9]*(e[-+]?[0-9]+)?$", re.I)
_TAG_RE = re.compile(r"<[/!?a-zA-Z][^>]*>")
_PATTERNS = {
    ALPHA: re.compile(r"^[a-zA-Z]*$"),
    ALPHANUM: re.compile(r"^[a-zA-Z0-9]*$"),
    ALPHANUMEXT: re.compile(r"^[a-zA-Z0-9_-]*$"),
    USERNAME: re.compile(r"^[-.@_a-z0-9]*$"),
    PLUGIN: re.compile(r"^([a-z][a-z0-9_]*[a-z0-9])?$"),
    COMPONENT: re.compile(r"^([a-z][a-z0-9_]*[a-z0-9])?$"),
    AREA: re.compile(r"^([a-z][a-z0-9_]*[a-z0-9])?$"),
    LANG: re.compile(r"^[a-z_]*$"),
    THEME: re.compile(r"^[a-z0-9_]*$"),
}


@dataclass
class Value:
    type: str
    required: int = REQUIRED
    default: Any = None
    allownull: bool = False


@dataclass
class Single:
    keys: dict
    required: int = REQUIRED
    default: Any = None
    allownull: bool = False


@dataclass
class Multiple:
    content: Any
    required: int = REQUIRED
    default: Any = field(default=None)
    allownull: bool = False


def params(**keys) -> Single:
    """``external_function_parameters``: the top-level single structure."""
    return Single(keys)


def _clean_ok(value: str, ptype: str) -> Any:
    """Return the cleaned value or raise ``ValueError`` when cleaning would change it."""
    if ptype == INT:
        if not _INT_RE.match(value):
            raise ValueError
        return int(value)
    if ptype == FLOAT:
        if value == "" or not _FLOAT_RE.match(value):
            raise ValueError
        try:
            return float(value)
        except ValueError:
            raise ValueError from None
    if ptype == BOOL:
        if value in ("0", "1"):
            return value == "1"
        raise ValueError
    if ptype in (TEXT, NOTAGS):
        if _TAG_RE.search(value):
            raise ValueError
        return value
    if ptype == RAW_TRIMMED:
        if value != value.strip():
            raise ValueError
        return value
    if ptype == TIMEZONE:
        if not re.match(r"^[A-Za-z0-9_/+\-:.]*$", value):
            raise ValueError
        return value
    if ptype == PATH:
        if "\\" in value or "/../" in value:
            raise ValueError
        return value
    pattern = _PATTERNS.get(ptype)
    if pattern is not None and not pattern.match(value):
        raise ValueError
    return value


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else ""
    return str(value)


def validate(desc, value: Any) -> Any:
    """Validate ``value`` against ``desc`` exactly as Moodle would; return the cleaned data."""
    if value is None and desc.allownull:
        return None
    if isinstance(desc, Value):
        if isinstance(value, dict):
            raise invalid_parameter("Scalar type expected, array or object received.")
        if desc.type == BOOL and (isinstance(value, bool) or value in (0, 1, "0", "1")):
            return bool(int(value))
        if value is None:
            raise invalid_parameter("Invalid external api parameter: the value is \"\", "
                                    f"the server was expecting \"{desc.type}\" type")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        text = _scalar(value)
        try:
            return _clean_ok(text, desc.type)
        except ValueError:
            raise invalid_parameter(f"Invalid external api parameter: the value is \"{text}\", "
                                    f"the server was expecting \"{desc.type}\" type") from None
    if isinstance(desc, Single):
        if isinstance(value, list):
            value = dict(enumerate(value))  # PHP has one array type: [] is also an empty structure
        if not isinstance(value, dict):
            raise invalid_parameter(f"Only arrays accepted. The bad value is: '{_scalar(value)}'")
        remaining = dict(value)
        result = {}
        for key, sub in desc.keys.items():
            if key not in remaining:
                if sub.required == REQUIRED:
                    raise invalid_parameter(f"Missing required key in single structure: {key}")
                if sub.required == DEFAULT:
                    try:
                        result[key] = None if sub.default is None else validate(sub, sub.default)
                    except Exception as exc:  # noqa: BLE001 - re-raised with Moodle's path prefix
                        raise _prefixed(key, exc) from None
            else:
                try:
                    result[key] = validate(sub, remaining[key])
                except Exception as exc:  # noqa: BLE001
                    raise _prefixed(key, exc) from None
            remaining.pop(key, None)
        if remaining:
            names = ", ".join(str(k) for k in remaining)
            raise invalid_parameter(f"Unexpected keys ({names}) detected in parameter array.")
        return result
    if isinstance(desc, Multiple):
        if not isinstance(value, dict):
            if isinstance(value, list):
                value = dict(enumerate(value))
            else:
                raise invalid_parameter(f"Only arrays accepted. The bad value is: '{_scalar(value)}'")
        return [validate(desc.content, item) for item in value.values()]
    raise invalid_parameter("Invalid external api description")


def _prefixed(key, exc):
    from .errors import MoodleError

    if isinstance(exc, MoodleError) and exc.errorcode == "invalidparameter":
        return invalid_parameter(f"{key} => {exc.message}: {exc.debuginfo}")
    return exc


def v_default(ptype: str, default: Any) -> Value:
    """Shortcut for ``external_value($type, '', VALUE_DEFAULT, $default)``."""
    return Value(ptype, DEFAULT, default, allownull=default is None)


def v_opt(ptype: str) -> Value:
    return Value(ptype, OPTIONAL)
