"""The binaries of the desktop bundle that are left out or stripped, for ``lms_console.spec``.

* pruned binaries: Qt plugins the console never loads (the GTK3 platform theme, embedded-only
  platforms, network plugins of an unused QtNetwork, ...) and the shared libraries that only
  they needed (GTK3, cairo, pango, ...), found with the binaries' own link-time dependencies;
  the libraries of the Qt modules that never go in (spec_helpers.QT_NEVER); Qt's translations
  when the code installs no QTranslator;
* debug info stripped from ELF files that carry it (``strip --strip-debug``), leaving the
  libraries auditwheel patched alone.

Everything here is plain Python (the ``deps`` callable given to :func:`prune_binaries` is
PyInstaller's): the fast tests import this module without PyInstaller. Like spec_helpers.py it is
no package module: the spec puts this folder on ``sys.path``.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath

from spec_helpers import QT_NEVER

# Qt plugins a desktop console never loads, as (plugin folder, file-name glob, why).
UNUSED_QT_PLUGINS: tuple[tuple[str, str, str], ...] = (
    ("platformthemes", "*gtk3*", ("GTK3 platform theme: pulls in ~17 MB of GTK3/cairo/pango; the "
                                  "console has its own light/dark theme, and xdgdesktopportal stays for "
                                  "native file dialogs")),
    ("platforms", "*eglfs*", "embedded full-screen platform (no window system)"),
    ("platforms", "*linuxfb*", "embedded framebuffer platform"),
    ("platforms", "*minimalegl*", "embedded EGL test platform"),
    ("platforms", "*vnc*", "remote VNC platform"),
    ("platforms", "*vkkhrdisplay*", "embedded Vulkan display platform"),
    ("egldeviceintegrations", "*", "only for the eglfs platform"),
    ("generic", "*", "evdev/tuio input, only for eglfs/linuxfb"),
    ("platforminputcontexts", "*virtualkeyboard*", "Qt Virtual Keyboard (Qml/Quick)"),
    ("imageformats", "*pdf*", "QtPdf image format"),
)
# Plugins of a Qt module; dropped when that module is not bundled.
QT_MODULE_PLUGINS = {"QtNetwork": ("networkinformation", "tls", "bearer")}


def unused_binary_reason(dest: str, bundled_qt_modules: Iterable[str] = ()) -> str | None:
    """Why a collected binary is not needed (None: keep it). ``dest`` is its path in the bundle."""
    path = PurePosixPath(dest.replace("\\", "/"))
    name = path.name
    parts = path.parts
    if "plugins" in parts:
        i = parts.index("plugins")
        folder = parts[i + 1] if len(parts) > i + 2 else ""
        for plugin_folder, pattern, why in UNUSED_QT_PLUGINS:
            if folder == plugin_folder and fnmatch.fnmatch(name, pattern):
                return why
        for module, folders in QT_MODULE_PLUGINS.items():
            if folder in folders and module not in bundled_qt_modules:
                return f"plugin of {module}, which is not bundled"
    for family in QT_NEVER:
        # libQt6Quick.so.6, Qt6Quick.dll, QtQuick.framework: Qt6 libraries of excluded modules.
        lib = "Qt6" + family[2:]
        if name.startswith((f"lib{lib}", lib, family + ".framework")):
            return f"library of {family}, which the console never uses"
    return None


def unused_data_reason(dest: str, qt_translations: bool) -> str | None:
    """Why a collected data file is not needed (None: keep it)."""
    parts = PurePosixPath(dest.replace("\\", "/")).parts
    if not qt_translations and parts[:3] == ("PySide6", "Qt", "translations"):
        return "Qt's translations: the console installs no QTranslator"
    return None


def prune_binaries(binaries: list, datas: list, deps: Callable[[str], Iterable[str]],
                   bundled_qt_modules: Iterable[str] = (), qt_translations: bool = True,
                   ) -> tuple[list, list, dict[str, str]]:
    """Drop unused binaries and the libraries only they needed (and unused Qt data files).

    ``binaries``/``datas`` are PyInstaller TOC lists of ``(dest, source, typecode)``;
    ``deps(source)`` gives the file names of the libraries a binary links to. A library reached
    from a dropped binary stays when any kept binary needs it too. SYMLINK entries that point at
    a dropped binary go as well. Returns (binaries, datas, {dest: reason}).
    """
    bundled_qt_modules = set(bundled_qt_modules)
    by_name: dict[str, list[str]] = {}
    for dest, _src, _kind in binaries:
        by_name.setdefault(PurePosixPath(dest.replace("\\", "/")).name, []).append(dest)
    source = {dest: src for dest, src, _kind in binaries}
    graph: dict[str, set[str]] = {}

    def needed_by(dest: str) -> set[str]:
        if dest not in graph:
            graph[dest] = {d for lib in deps(source[dest]) for d in by_name.get(PurePosixPath(lib).name, ())}
        return graph[dest]

    def reach(starts: Iterable[str]) -> set[str]:
        seen, todo = set(), list(starts)
        while todo:
            dest = todo.pop()
            if dest not in seen:
                seen.add(dest)
                todo.extend(needed_by(dest))
        return seen

    reasons = {dest: why for dest, _src, _kind in binaries
               if (why := unused_binary_reason(dest, bundled_qt_modules)) is not None}
    candidates = reach(reasons) - set(reasons)
    still_needed = reach(d for d in source if d not in reasons and d not in candidates)
    for dest in sorted(candidates - still_needed):
        via = sorted(r for r in reasons if dest in reach([r]))
        reasons[dest] = "only needed by " + ", ".join(PurePosixPath(v).name for v in via[:3])
    kept_binaries = [entry for entry in binaries if entry[0] not in reasons]
    dropped_names = {PurePosixPath(d.replace("\\", "/")).as_posix() for d in reasons}
    kept_datas = []
    for entry in datas:
        if entry[2] == "SYMLINK" and PurePosixPath(entry[1].replace("\\", "/")).as_posix() in dropped_names:
            reasons[entry[0]] = f"link to {PurePosixPath(entry[1]).name}, left out"
        elif entry[2] == "DATA" and (why := unused_data_reason(entry[0], qt_translations)) is not None:
            reasons[entry[0]] = why
        else:
            kept_datas.append(entry)
    return kept_binaries, kept_datas, reasons


def _readelf(flag: str, path: str) -> str:
    import subprocess

    result = subprocess.run(["readelf", flag, "-W", path], capture_output=True, text=True, check=False)
    return result.stdout if result.returncode == 0 else ""


def strippable(path: str) -> bool:
    """An ELF file with debug info, and without an RPATH/RUNPATH: libpython and lib-dynload of a
    source-built Python, Cython modules. Libraries that auditwheel patched (RPATH ``$ORIGIN/...``,
    numpy's and Pillow's) stay as they are: stripping a patchelf'd file can break it."""
    return ".debug_info" in _readelf("-S", path) and not re.search(r"\((RPATH|RUNPATH)\)",
                                                                    _readelf("-d", path))


def strip_debug_info(binaries: list, out_dir: Path) -> tuple[list, int]:
    """Point strippable binaries at copies without debug sections (``strip --strip-debug``).

    PyInstaller's own ``strip=True`` strips everything, which breaks numpy's patched libraries.
    Returns the new TOC and the bytes saved.
    """
    import subprocess

    saved, result = 0, []
    for dest, src, kind in binaries:
        if kind in ("BINARY", "EXTENSION") and strippable(src):
            out = out_dir / dest
            if not out.exists() or out.stat().st_mtime < Path(src).stat().st_mtime:
                out.parent.mkdir(parents=True, exist_ok=True)
                subprocess.run(["strip", "--strip-debug", "-o", str(out), src], check=True)
            saved += Path(src).stat().st_size - out.stat().st_size
            src = str(out)
        result.append((dest, src, kind))
    return result, saved
