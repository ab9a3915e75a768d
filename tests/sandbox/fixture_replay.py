"""Reading the recorded Moodle 5.2 fixtures and comparing answer shapes (used by test_contract.py).

The fixtures are vendored in ``tests/fixtures/moodle-5.2`` (a copy of the recorded traffic, see
``tests/fixtures/README.md``) so a clean clone can run the contract test.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "moodle-5.2"

# Keys Moodle leaves out when the underlying value is empty (user_get_user_details and friends):
# whether they appear depends on the data, not on the shape.
DATA_DEPENDENT_KEYS = {"phone1", "phone2", "address", "institution", "idnumber", "description", "descriptionformat",
                       "city", "country", "customfields", "groups", "enrolledcourses", "preferences", "interests",
                       "status", "availabilityinfo"}


@dataclass
class Recorded:
    name: str
    method: str
    endpoint: str                 # "rest", "upload" or "token"
    function: str
    token: str                    # "admin", "limited" or a literal token
    params: list = field(default_factory=list)   # [(name, value)] in order
    files: list = field(default_factory=list)    # [(field, filename, size)]
    comment: str = ""
    fmt_json: bool = True
    status: int = 200
    body: str = ""
    debug: bool = False

    @property
    def response(self):
        return json.loads(self.body)


def _token_kind(line: str) -> str:
    if "wslimited" in line or "LIMITED" in line:
        return "limited"
    if "<TOKEN>" in line or "ADMIN_TOKEN" in line:
        return "admin"
    rest = line.split(":", 1)[1].strip().split()
    return rest[0] if rest else "admin"


def _extrapolate(params: list, more: int, comment: str) -> list:
    """The recorder printed ~500 values then "... N more parameters of the same shape": rebuild them."""
    values = [(k, v) for k, v in params if k.startswith("values[")]
    start, step = int(values[0][1]), int(values[1][1]) - int(values[0][1])
    last_index = len(values) - 1
    for i in range(1, more + 1):
        index = last_index + i
        params.append((f"values[{index}]", str(start + step * index)))
    if re.search(r"admin(=| id )2", comment):
        params[-1] = (params[-1][0], "2")
    return params


def load(path: Path) -> Recorded:
    lines = path.read_text(encoding="utf-8").splitlines()
    name = path.name[: -len(".req.txt")]
    comment = lines[0][2:] if lines and lines[0].startswith("# ") else ""
    info: dict = {}
    params: list = []
    files: list = []
    mode = None
    for line in lines:
        if line.startswith("post_parameters"):
            mode = "params"
            continue
        if line.startswith("form fields:"):
            mode = "form"
            rest = line.split(":", 1)[1].strip()
            for part in filter(None, (p.strip() for p in rest.split(","))):
                _form_part(part, params, files)
            continue
        if line.startswith("  ") and mode in ("params", "form"):
            item = line.strip()
            more = re.match(r"\.\.\. (\d+) more parameters", item)
            if more:
                params = _extrapolate(params, int(more.group(1)), comment)
            elif mode == "params":
                key, _, value = item.partition("=")
                params.append((key, value))
            else:
                _form_part(item, params, files)
            continue
        mode = None if not line.startswith(" ") else mode
        if ":" in line and not line.startswith(" "):
            key, _, value = line.partition(":")
            info.setdefault(key.strip(), value.strip())
    url = info.get("url", "")
    query = dict(parse_qsl(urlsplit(url.split(" ")[0]).query, keep_blank_values=True))
    method = info.get("method", "POST").split()[0]
    endpoint = "upload" if "upload.php" in url else "token" if "token.php" in url else "rest"
    body_path = path.with_name(name + ".json")
    summary_status = 414 if name.startswith("long_get_3000") else 200
    rec = Recorded(name=name, method=method, endpoint=endpoint, function=info.get("wsfunction", query.get(
        "wsfunction", "")), token=_token_kind("token: " + (info.get("token") or query.get("wstoken") or url)), params=params, files=files,
        comment=comment, fmt_json=query.get("moodlewsrestformat") == "json" or endpoint != "rest",
        status=summary_status, body=body_path.read_text(encoding="utf-8"),
        debug=path.parent.name == "debug_on" or "debug_on" in name)
    return rec


def _form_part(part: str, params: list, files: list) -> None:
    key, _, value = part.partition("=")
    if value.startswith("@"):
        match = re.match(r"@(\S+)(?: \((\d+) bytes\))?", value)
        files.append((key, match.group(1), int(match.group(2) or 52)))
    else:
        params.append((key, value))


def ordered_names(folder: Path) -> list[str]:
    """Fixture names in recording order (``_summary.tsv``)."""
    rows = (folder / "_summary.tsv").read_text(encoding="utf-8").splitlines()[1:]
    return [r.split("\t")[0] for r in rows if r.strip()]


# -- shape comparison ---------------------------------------------------------------------
def kind(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "dict"


def merge(values: list) -> dict:
    """Union schema of several sample values: types seen, keys always/sometimes present, element schema."""
    schema = {"kinds": {kind(v) for v in values}, "required": None, "keys": {}, "items": None}
    dicts = [v for v in values if isinstance(v, dict)]
    if dicts:
        schema["required"] = set.intersection(*(set(d) for d in dicts))
        for key in set().union(*(set(d) for d in dicts)):
            schema["keys"][key] = merge([d[key] for d in dicts if key in d])
    lists = [v for v in values if isinstance(v, list)]
    elements = [e for lst in lists for e in lst]
    if elements:
        schema["items"] = merge(elements)
    return schema


def compare(schema: dict, value, path: str = "$", nullable: set = frozenset()) -> list[str]:
    """Differences between ``value`` and the fixture ``schema`` (empty list = same shape)."""
    problems = []
    k = kind(value)
    kinds = schema["kinds"]
    if k not in kinds:
        leaf = path.rsplit(".", 1)[-1].split("[")[0]
        if not (("null" in kinds or k == "null") and leaf in nullable):
            problems.append(f"{path}: type {k}, fixture has {sorted(kinds)}")
        return problems
    if k == "dict":
        required = schema["required"] or set()
        for key in sorted(required - set(value)):
            if key not in DATA_DEPENDENT_KEYS:
                problems.append(f"{path}: missing key {key!r}")
        for key in sorted(set(value) - set(schema["keys"]) - DATA_DEPENDENT_KEYS):
            problems.append(f"{path}: unexpected key {key!r}")
        for key, sub in value.items():
            if key in schema["keys"]:
                problems.extend(compare(schema["keys"][key], sub, f"{path}.{key}", nullable))
    elif k == "list" and schema["items"] is not None:
        for index, item in enumerate(value[:200]):
            problems.extend(compare(schema["items"], item, f"{path}[{index}]", nullable))
    return problems
