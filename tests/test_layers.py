"""Layer rules import-linter cannot express (it only forbids top-level external packages)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "lms_console"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


@pytest.mark.parametrize("folder, forbidden", [
    ("models", ("PySide6.QtWidgets", "matplotlib.backends")),
    ("services", ("PySide6", "shiboken6", "matplotlib.pyplot", "matplotlib.backends")),
    ("sandbox", ("PySide6", "lms_console.services", "lms_console.models", "lms_console.views")),
])
def test_folder_never_imports(folder, forbidden):
    offenders = []
    for path in sorted((PKG / folder).rglob("*.py")):
        for name in _imports(path):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                offenders.append(f"{path.relative_to(PKG.parent)}: {name}")
    assert not offenders, "layer rule broken:\n" + "\n".join(offenders)
