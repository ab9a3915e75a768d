"""PHP ``parse_str``-like decoding of form/query strings into nested arrays.

Moodle reads web-service parameters from ``$_GET`` and ``$_POST``, which PHP
builds from bracket syntax (``users[0][username]=x``).  This module rebuilds
that structure in Python: a PHP array becomes a ``dict`` whose keys are ``int``
for canonical decimal keys (as PHP converts them) and ``str`` otherwise, in
insertion order.

PHP stops reading variables once ``max_input_vars`` is reached and silently
drops the rest (it only logs a warning).  Moodle's workaround for that does
not run for web-service requests, so a client that sends too many fields gets
a *successful* answer computed from a truncated request.  The sandbox keeps
that behaviour because the console must be tested against it.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote_plus

PhpArray = dict  # keys: int | str, values: str | PhpArray

_CANONICAL_INT = re.compile(r"^(0|-?[1-9][0-9]{0,18})$")


def php_key(raw: str) -> int | str:
    """Return the key PHP would use for ``raw`` (numeric strings become ints)."""
    if _CANONICAL_INT.match(raw):
        value = int(raw)
        if -(2**63) <= value < 2**63:
            return value
    return raw


def _split_key(name: str) -> list[str] | None:
    """Split ``a[b][c]`` into ``['a', 'b', 'c']`` the way PHP's parser does.

    PHP strips leading spaces of the base name, turns ``.`` and spaces in it
    into ``_`` and ignores anything after an unmatched ``[``.  ``None`` means
    the variable is ignored entirely (empty name).
    """
    name = name.lstrip(" ")
    bracket = name.find("[")
    if bracket == 0 or not name:
        return None
    if bracket < 0:
        return [name.replace(".", "_").replace(" ", "_")]
    base = name[:bracket].replace(".", "_").replace(" ", "_")
    parts = [base]
    rest = name[bracket:]
    while rest.startswith("["):
        close = rest.find("]")
        if close < 0:
            # PHP: an unterminated bracket makes the '[' part of the base name
            # only when it is the first one; later ones are just ignored.
            if len(parts) == 1:
                return [(base + rest).replace("[", "_", 1)]
            break
        parts.append(rest[1:close])
        rest = rest[close + 1 :]
    return parts


def _next_index(arr: dict) -> int:
    ints = [k for k in arr if isinstance(k, int)]
    return max(ints) + 1 if ints and max(ints) >= 0 else 0


def assign(target: dict, parts: list[str], value: str) -> None:
    """Assign ``value`` at the bracket path ``parts`` inside ``target``."""
    node = target
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        key: int | str = _next_index(node) if (part == "" and depth > 0) else php_key(part)
        if last:
            node[key] = value
            return
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child


def parse_pairs(pairs, max_input_vars: int = 1000) -> tuple[dict, int]:
    """Build a PHP array from ``(name, value)`` pairs.

    Returns ``(array, dropped)`` where ``dropped`` counts the variables PHP
    would have ignored because of ``max_input_vars``.
    """
    result: dict = {}
    count = 0
    dropped = 0
    for name, value in pairs:
        if max_input_vars and count >= max_input_vars:
            dropped += 1
            continue
        count += 1
        parts = _split_key(name)
        if parts is None:
            continue
        assign(result, parts, value)
    return result, dropped


def split_query(text: str) -> list[tuple[str, str]]:
    """Split an ``application/x-www-form-urlencoded`` string into decoded pairs."""
    pairs = []
    for chunk in text.split("&"):
        if not chunk:
            continue
        name, _, value = chunk.partition("=")
        pairs.append((unquote_plus(name), unquote_plus(value)))
    return pairs


def parse_str(text: str, max_input_vars: int = 1000) -> dict:
    """Decode a query string like PHP's ``parse_str`` (with the input cap)."""
    return parse_pairs(split_query(text), max_input_vars)[0]


def php_array_merge(first: dict, second: dict) -> dict:
    """``array_merge($_GET, $_POST)``: string keys of the second win, int keys append."""
    merged: dict = {}
    index = 0
    for source in (first, second):
        for key, value in source.items():
            if isinstance(key, int):
                merged[index] = value
                index += 1
            else:
                merged[key] = value
    return merged


def flatten(params: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Inverse of :func:`parse_pairs`: nested dict/list -> bracket pairs (for tests/tools)."""
    out: list[tuple[str, str]] = []
    if isinstance(params, dict):
        items = params.items()
    elif isinstance(params, (list, tuple)):
        items = enumerate(params)
    else:
        return [(prefix, _scalar(params))]
    for key, value in items:
        name = f"{prefix}[{key}]" if prefix else str(key)
        if isinstance(value, (dict, list, tuple)):
            out.extend(flatten(value, name))
        else:
            out.append((name, _scalar(value)))
    return out


def _scalar(value: Any) -> str:
    if value is True:
        return "1"
    if value is False:
        return "0"
    if value is None:
        return ""
    return str(value)
