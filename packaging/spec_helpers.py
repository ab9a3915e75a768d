"""What goes into the desktop bundle, worked out from the project and the installed packages.

``lms_console.spec`` asks this module for its lists instead of spelling them out (as
qutebrowser's ``misc/qutebrowser.spec`` does), so a new resource file, a new migration, a new
command module or a new keyring backend lands in the bundle without touching the spec:

* data files: the ``[tool.setuptools.package-data]`` globs of pyproject.toml, matched in the
  installed packages (``lms_console.resources``: styles, icons, seed settings; the alembic
  migrations, which alembic reads from disk);
* metadata (``*.dist-info``): the distributions that provide ``keyring.backends`` entry points,
  which is how keyring finds its backends;
* hidden imports: every module of the ``lms_console`` package (the CLI imports its commands and
  the GUI by name), the packages named in package-data (read through importlib.resources),
  keyring's backends (entry points) with this platform's requirements of keyring (SecretStorage
  and jeepney on Linux), the SQLAlchemy dialect of every database URL in the code, the imports of
  the migration scripts, and the matplotlib backends the console draws with;
* excludes: the test tools of pyproject's ``test`` extra and what only they need, ``tests``
  sub-packages of the runtime distributions, stdlib GUI toolkits (the GUI is Qt), and every Qt
  module the code never imports (WebEngine, 3D, Qml/Quick, Pdf, ...).

The binaries the spec leaves out or strips are worked out by spec_binaries.py.

Everything here is plain Python: the fast tests import this module without PyInstaller. Icons,
version info and the freedesktop files are made by app_files.py.
"""

from __future__ import annotations

import ast
import importlib.metadata as md
import importlib.util
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PACKAGE = "lms_console"
APP_NAME = "lms-console"  # the executable, the desktop entry, the icon name
APP_TITLE = "LMS Console"
BUNDLE_ID = "io.github.lms_console"  # macOS bundle identifier and AppStream component id

# The canvases the console draws on: the Qt widget in panes, Agg for PNG export and --self-test.
MATPLOTLIB_BACKENDS = ("QtAgg", "Agg")
# Qt modules needed although no lms_console module names them: matplotlib's Qt canvas
# (qt_compat imports these three).
QT_MODULES_FOR_LIBRARIES = frozenset({"QtCore", "QtGui", "QtWidgets"})
# Qt module families that never go in, even when the installed PySide6 has them (full pyside6).
QT_NEVER = ("QtWebEngine", "Qt3D", "QtQml", "QtQuick", "QtPdf", "QtCharts", "QtDataVisualization",
            "QtGraphs", "QtMultimedia", "QtSpatialAudio", "QtBluetooth", "QtNfc", "QtPositioning",
            "QtLocation", "QtSensors", "QtSerialPort", "QtSerialBus", "QtRemoteObjects", "QtScxml",
            "QtStateMachine", "QtTextToSpeech", "QtWebSockets", "QtWebChannel", "QtWebView",
            "QtHttpServer", "QtDesigner", "QtHelp", "QtUiTools", "QtTest", "QtAxContainer")
# The stdlib's other GUI toolkit and its tools: the console's GUI is Qt.
STDLIB_UNUSED = ("tkinter", "_tkinter", "turtle", "turtledemo", "idlelib")
# Bridges of bundled libraries to that toolkit (Pillow's ImageTk and its C helper).
TK_BRIDGES = ("PIL.ImageTk", "PIL._imagingtk", "PIL._tkinter_finder")
TEST_PACKAGE_NAMES = ("tests", "test", "testing_utils", "conftest")


# -- project files ------------------------------------------------------------------------------
def load_pyproject(root: Path = ROOT) -> dict:
    with open(root / "pyproject.toml", "rb") as fh:
        return tomllib.load(fh)


def package_dir(package: str) -> Path:
    """Where ``package`` is installed (works for editable installs and the mapped resources package)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"package {package} is not installed in this environment ({sys.executable})")
    return Path(next(iter(spec.submodule_search_locations)))


def package_data_globs(pyproject: dict) -> dict[str, list[str]]:
    """``[tool.setuptools.package-data]``: what the wheel ships besides code, per package."""
    return {pkg: list(globs) for pkg, globs in
            pyproject.get("tool", {}).get("setuptools", {}).get("package-data", {}).items()}


def _is_cache(path: PurePosixPath) -> bool:
    return "__pycache__" in path.parts or path.suffix in (".pyc", ".pyo")


def data_files(pyproject: dict) -> list[tuple[str, str]]:
    """(source file, destination folder) for every package-data file, as PyInstaller ``datas``.

    The package's own ``__init__.py`` is code, not data; other ``.py`` files matched by a glob
    (the migrations) are data: alembic loads them from disk.
    """
    datas: set[tuple[str, str]] = set()
    for package, globs in package_data_globs(pyproject).items():
        base = package_dir(package)
        dest_root = PurePosixPath(*package.split("."))
        for pattern in globs:
            for path in base.glob(pattern):
                rel = PurePosixPath(path.relative_to(base).as_posix())
                if not path.is_file() or _is_cache(rel) or rel.as_posix() == "__init__.py":
                    continue
                datas.add((str(path), str(dest_root / rel.parent)))
    return sorted(datas)


def modules_in(package: str) -> list[str]:
    """Every module of an installed package, found on disk (nothing is imported).

    Folders without ``__init__.py`` (the migrations) and test folders are not packages here.
    """
    base = package_dir(package)
    found = [package]
    for folder, dirs, files in os.walk(base):
        rel = Path(folder).relative_to(base)
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and d not in TEST_PACKAGE_NAMES
                         and (Path(folder) / d / "__init__.py").exists())
        prefix = ".".join((package, *rel.parts))
        for name in sorted(files):
            if name.endswith(".py") and name != "__init__.py":
                found.append(f"{prefix}.{name[:-3]}")
        if rel.parts:
            found.append(prefix)
    return sorted(set(found))


def source_files(package: str = PACKAGE) -> list[Path]:
    base = package_dir(package)
    return sorted(p for p in base.rglob("*.py") if "__pycache__" not in p.parts)


def imports_of(path: Path) -> set[str]:
    """Absolute module names imported anywhere in a Python file (also inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names if alias.name != "*")
    return names


# -- installed distributions --------------------------------------------------------------------
def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _distribution(name: str) -> md.Distribution | None:
    try:
        return md.distribution(name)
    except md.PackageNotFoundError:
        return None


PLATFORM_MARKERS = ("sys_platform", "platform_system", "os_name")


def requirements(dist_name: str, extras: Iterable[str] = (), *, platform_only: bool = False) -> list[str]:
    """Distribution names ``dist_name`` requires here (markers evaluated for this platform).

    ``platform_only``: only those required on some platforms and not others (keyring's
    backend libraries: SecretStorage and jeepney on Linux, pywin32-ctypes on Windows).
    """
    from packaging.requirements import Requirement

    dist = _distribution(dist_name)
    if dist is None:
        return []
    names = []
    for line in dist.requires or []:
        req = Requirement(line)
        if platform_only and not (req.marker and any(m in str(req.marker) for m in PLATFORM_MARKERS)):
            continue
        if req.marker is not None:
            envs = [{"extra": e} for e in (*extras, "")]
            if not any(req.marker.evaluate(env) for env in envs):
                continue
        names.append(req.name)
    return names


def closure(dist_names: Iterable[str]) -> set[str]:
    """The installed distributions these need, themselves included (normalised names)."""
    seen: set[str] = set()
    todo = [_norm(n) for n in dist_names]
    while todo:
        name = todo.pop()
        if name in seen or _distribution(name) is None:
            continue
        seen.add(name)
        todo.extend(_norm(r) for r in requirements(name))
    return seen


def top_level_modules(dist_name: str) -> list[str]:
    """Import names a distribution provides (``import-linter`` -> ``importlinter``)."""
    dist = _distribution(dist_name)
    if dist is None:
        return [_norm(dist_name).replace("-", "_")]
    text = dist.read_text("top_level.txt")
    if text:
        return sorted({line.strip() for line in text.split() if line.strip()})
    tops = set()
    for file in dist.files or ():
        parts = PurePosixPath(str(file)).parts
        if not parts or parts[0].endswith((".dist-info", ".data")) or parts[0] in ("..", "__pycache__"):
            continue
        if len(parts) == 1 and parts[0].endswith(".py"):
            tops.add(parts[0][:-3])
        elif len(parts) > 1 and parts[-1] == "__init__.py":
            tops.add(parts[0])
    return sorted(tops) or [_norm(dist_name).replace("-", "_")]


def dist_modules(dist_name: str) -> list[str]:
    """Every module a distribution installs (from its RECORD), without test packages and without
    modules whose unconditional imports are not installed here (``jeepney.io.trio`` without trio)."""
    dist = _distribution(dist_name)
    mods = set()
    for file in (dist.files or ()) if dist else ():
        path = PurePosixPath(str(file))
        if path.suffix != ".py" or path.parts[0] in ("..",) or path.parts[0].endswith(".dist-info"):
            continue
        parts = list(path.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if not parts or any(p in TEST_PACKAGE_NAMES for p in parts) or not all(p.isidentifier() for p in parts):
            continue
        if all(_importable(m.split(".")[0]) for m in unconditional_imports(Path(dist.locate_file(file)))):
            mods.add(".".join(parts))
    return sorted(mods)


def unconditional_imports(path: Path) -> set[str]:
    """Absolute imports at module level, outside ``try`` blocks (those must be installed)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, ValueError):
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def runtime_distributions(pyproject: dict) -> set[str]:
    """lms-console's runtime requirements and everything they need (normalised names)."""
    from packaging.requirements import Requirement

    return closure(Requirement(r).name for r in pyproject["project"]["dependencies"])


# -- hidden imports -------------------------------------------------------------------------------
def keyring_backends() -> list[tuple[str, str]]:
    """(module, distribution) of every keyring backend announced through entry points."""
    found = set()
    for ep in md.entry_points(group="keyring.backends"):
        dist = getattr(ep, "dist", None)
        found.add((ep.value.split(":")[0].strip(), dist.metadata["Name"] if dist else "keyring"))
    return sorted(found)


def metadata_distributions() -> list[str]:
    """Distributions whose ``.dist-info`` must be bundled: keyring finds backends via entry points."""
    return sorted({"keyring", *(dist for _module, dist in keyring_backends())})


def database_urls_in(files: Iterable[Path]) -> set[str]:
    """``driver+dbapi`` schemes of database URLs written in the code (``sqlite+pysqlite:///...``)."""
    schemes = set()
    pattern = re.compile(r"""["']([a-z][a-z0-9_]*(?:\+[a-z0-9_]+)?)://""")
    for path in files:
        schemes.update(pattern.findall(path.read_text(encoding="utf-8")))
    return schemes


def sqlalchemy_dialect_modules(schemes: Iterable[str]) -> list[str]:
    """The modules SQLAlchemy loads by name for these URL schemes (http:// and the like are skipped)."""
    from sqlalchemy.engine.url import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    mods = set()
    for scheme in schemes:
        try:
            dialect = make_url(f"{scheme}://").get_dialect()
        except (NoSuchModuleError, ArgumentError, ValueError):
            continue
        module = dialect.__module__
        mods.update({module, module.rsplit(".", 1)[0]})
    return sorted(mods)


def matplotlib_backend_modules(backends: Iterable[str] = MATPLOTLIB_BACKENDS) -> list[str]:
    return [f"matplotlib.backends.backend_{name.lower()}" for name in backends]


def data_python_imports(datas: Iterable[tuple[str, str]]) -> list[str]:
    """What the Python files shipped as data (migrations) import: PyInstaller does not read them."""
    mods: set[str] = set()
    for src, _dest in datas:
        if src.endswith(".py"):
            mods.update(imports_of(Path(src)))
    # Only what can be imported (``from alembic import op`` names an attribute, not a module).
    return sorted(m for m in mods if _importable(m))


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError, AttributeError):
        return False


def hidden_imports(pyproject: dict, datas: Iterable[tuple[str, str]] | None = None) -> list[str]:
    datas = data_files(pyproject) if datas is None else datas
    mods: set[str] = set(modules_in(PACKAGE))
    mods.update(package_data_globs(pyproject))  # read through importlib.resources, by name
    for module, _dist in keyring_backends():
        mods.add(module)
    for dist in requirements("keyring", platform_only=True):  # SecretStorage + jeepney on Linux, ...
        if _distribution(dist) is not None:
            mods.update(dist_modules(dist))
    mods.update(sqlalchemy_dialect_modules(database_urls_in(source_files())))
    mods.update(matplotlib_backend_modules())
    mods.update(data_python_imports(datas))
    return sorted(mods)


# -- excludes -------------------------------------------------------------------------------------
def qt_modules_used(files: Iterable[Path]) -> set[str]:
    """``QtXxx`` modules the console imports, plus what libraries it uses need (matplotlib's canvas)."""
    used = set(QT_MODULES_FOR_LIBRARIES)
    for path in files:
        for name in imports_of(path):
            parts = name.split(".")
            if parts[0] == "PySide6" and len(parts) > 1 and parts[1].startswith("Qt"):
                used.add(parts[1])
    return used


def qt_modules_available() -> set[str]:
    """Qt modules of the installed PySide6 (their extension modules on disk)."""
    try:
        base = package_dir("PySide6")
    except ModuleNotFoundError:
        return set()
    return {p.name.split(".")[0] for p in base.iterdir()
            if p.name.startswith("Qt") and p.name.endswith((".so", ".pyd"))}


def unused_qt_modules(used: set[str]) -> list[str]:
    available = qt_modules_available() | set(QT_NEVER)
    return sorted(f"PySide6.{m}" for m in available - used)


def test_only_modules(pyproject: dict) -> list[str]:
    """Import names of the ``test`` extra and of what only it needs (pytest, pluggy, hypothesis, ...)."""
    from packaging.requirements import Requirement

    test_dists = [Requirement(r).name for r in pyproject["project"].get("optional-dependencies", {})
                  .get("test", [])]
    runtime = runtime_distributions(pyproject)
    only_tests = {_norm(d) for d in test_dists} | (closure(test_dists) - runtime)
    mods = set()
    for dist in only_tests:
        mods.update(top_level_modules(dist))
    if "pytest" in only_tests:
        mods.add("_pytest")  # pytest's implementation package (not always in top_level.txt)
    return sorted(m for m in mods if not m.startswith("_") or m == "_pytest")


def test_subpackages(dists: Iterable[str]) -> list[str]:
    """``tests`` packages inside runtime distributions (numpy.tests, pandas.tests, ...)."""
    found = set()
    for name in dists:
        dist = _distribution(name)
        for file in (dist.files or ()) if dist else ():
            parts = PurePosixPath(str(file)).parts
            if parts and parts[-1] == "__init__.py":
                for i, part in enumerate(parts[:-1]):
                    if part in ("tests", "test") and all(p.isidentifier() for p in parts[:i + 1]):
                        found.add(".".join(parts[:i + 1]))
                        break
    return sorted(found)


def excludes(pyproject: dict) -> list[str]:
    mods = set(test_only_modules(pyproject))
    mods.update(test_subpackages(runtime_distributions(pyproject)))
    mods.update(STDLIB_UNUSED)
    mods.update(TK_BRIDGES)
    mods.update(unused_qt_modules(qt_modules_used(source_files())))
    return sorted(mods)


# -- all of it -----------------------------------------------------------------------------------
def uses_qt_translations(files: Iterable[Path]) -> bool:
    """Whether the code loads Qt's own translations (a QTranslator); if not, they are dead weight."""
    return any("QTranslator" in path.read_text(encoding="utf-8") for path in files)


@dataclass(frozen=True)
class BundlePlan:
    datas: list[tuple[str, str]]
    hiddenimports: list[str]
    excludes: list[str]
    metadata: list[str]
    matplotlib_backends: list[str]
    qt_modules: list[str]
    qt_translations: bool

    @classmethod
    def compute(cls, root: Path = ROOT) -> BundlePlan:
        pyproject = load_pyproject(root)
        datas = data_files(pyproject)
        excluded = excludes(pyproject)
        hidden = [m for m in hidden_imports(pyproject, datas) if not _is_excluded(m, excluded)]
        sources = source_files()
        return cls(datas=datas, hiddenimports=hidden, excludes=excluded, metadata=metadata_distributions(),
                   matplotlib_backends=list(MATPLOTLIB_BACKENDS), qt_modules=sorted(qt_modules_used(sources)),
                   qt_translations=uses_qt_translations(sources))


def _is_excluded(module: str, excluded: Iterable[str]) -> bool:
    return any(module == e or module.startswith(e + ".") for e in excluded)


def main(argv: list[str]) -> int:
    """``python spec_helpers.py plan``: print the plan; ``test-tools``: list the test extra's tools
    installed here (exit 1 if any: build.sh refuses such a venv)."""
    if argv[:1] == ["plan"]:
        plan = BundlePlan.compute()
        for field in ("datas", "hiddenimports", "excludes", "metadata", "matplotlib_backends", "qt_modules"):
            values = getattr(plan, field)
            print(f"{field} ({len(values)}):")
            for value in values:
                print("   ", value)
        return 0
    if argv[:1] == ["test-tools"]:
        # The build venv must be runtime-only: which of the test extra's tools are installed here?
        pyproject = load_pyproject()
        from packaging.requirements import Requirement

        tools = [Requirement(r).name for r in pyproject["project"]["optional-dependencies"].get("test", [])]
        found = sorted(t for t in tools if _distribution(t) is not None)
        print("\n".join(found))
        return 1 if found else 0
    print("usage: spec_helpers.py plan | test-tools", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
