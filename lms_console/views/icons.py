"""The console's icon set: hand-written 24x24 SVGs under ``resources/icons``, themed at load time.

Qt's SVG renderer (SVG Tiny 1.2) has no ``currentColor``, so every icon is drawn
with a few *sentinel* colours and :func:`icon` swaps them for the current
theme's colours (the ``icon*`` keys of ``resources/styles/<theme>.json``) before
rendering. Icons render through a small :class:`QIconEngine`, so they stay crisp
at any size and device-pixel ratio, and get their own colour in a selected row
(``QIcon.Mode.Selected``) and a faded look when disabled.

Usage::

    button.setIcon(icon("sync"))
    set_icon_theme(dark=True)   # theme.apply_theme() does this for you

Icons already handed out keep their colours; views that must follow a theme
switch re-fetch their icons on ``theme.theme_notifier().theme_changed``.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from PySide6.QtCore import QByteArray, QRect, QRectF, QSize
from PySide6.QtGui import QColor, QIcon, QIconEngine, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

__all__ = [
    "ICON_NAMES",
    "MissingIconError",
    "activity_icon",
    "icon",
    "icon_svg",
    "icon_theme_is_dark",
    "resource_dir",
    "set_icon_theme",
]

# The colours the SVG files are drawn with, and the palette key that replaces each.
SENTINELS: dict[str, str] = {
    "#5f6b7a": "icon",
    "#2d7dd2": "icon_accent",
    "#d1453b": "icon_error",
    "#d98e04": "icon_warning",
    "#2f9e57": "icon_success",
}
_SENTINEL_RE = re.compile("|".join(re.escape(c) for c in SENTINELS), re.IGNORECASE)

# Moodle module names that have their own icon; everything else is "activity-generic".
_ACTIVITY_ICONS = frozenset({"assign", "quiz", "forum", "resource", "folder", "url", "page", "label"})

_DISABLED_OPACITY = 0.42


class MissingIconError(KeyError):
    """``icon(name)`` was asked for a name that has no SVG file."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "missing icon"


def resource_dir(*parts: str) -> Traversable:
    """A folder of the installed ``lms_console.resources`` package (``resources/`` in the repo).

    Falls back to the repository's ``resources/`` when the package is not
    importable (an editable install made before ``lms_console.resources``
    was packaged); a wheel or a PyInstaller bundle always has the package.
    """
    try:
        root: Traversable = resources.files("lms_console.resources")
    except ModuleNotFoundError:
        checkout = Path(__file__).resolve().parents[2] / "resources"
        if not checkout.is_dir():
            raise
        root = checkout
    for part in parts:
        root = root.joinpath(part)
    return root


@lru_cache(maxsize=1)
def _icon_files() -> dict[str, Traversable]:
    folder = resource_dir("icons")
    return {f.name[:-4]: f for f in folder.iterdir() if f.name.endswith(".svg")}


def _names() -> tuple[str, ...]:
    return tuple(sorted(_icon_files()))


class _IconNames:
    """Lazy, sorted tuple-like view of the available icon names (read from the resources)."""

    def __iter__(self):
        return iter(_names())

    def __len__(self) -> int:
        return len(_names())

    def __contains__(self, name: object) -> bool:
        return name in _icon_files()

    def __repr__(self) -> str:
        return f"ICON_NAMES{_names()!r}"


ICON_NAMES = _IconNames()

_state = {"dark": False}
_cache: dict[tuple[str, bool, str | None], QIcon] = {}


@lru_cache(maxsize=2)
def _icon_colours(dark: bool) -> dict[str, str]:
    """Palette keys used by icons -> colour for one theme (from the theme's JSON palette)."""
    raw = json.loads(resource_dir("styles", "dark.json" if dark else "light.json").read_text("utf-8"))
    return {k: v for k, v in raw.items() if k.startswith("icon")}


def set_icon_theme(dark: bool) -> None:
    """Colour icons fetched from now on for a dark (True) or light (False) background."""
    _state["dark"] = bool(dark)


def icon_theme_is_dark() -> bool:
    return _state["dark"]


def icon_svg(name: str, *, dark: bool | None = None, role: str = "icon", colour: str | None = None) -> bytes:
    """The SVG text of ``name`` with the sentinel colours replaced for the theme.

    ``role`` draws the main (neutral) strokes in another ``icon*`` palette key
    (``"icon_selected"`` for a selected row); ``colour`` ("#rrggbb") overrides it.
    """
    files = _icon_files()
    if name not in files:
        close = [n for n in files if n.startswith(name.split("-")[0])][:5]
        hint = f" Similar: {', '.join(close)}." if close else ""
        raise MissingIconError(
            f"No icon named {name!r} in lms_console.resources/icons (add {name}.svg there).{hint}"
        )
    colours = _icon_colours(_state["dark"] if dark is None else dark)
    main = colour or colours[role]

    def swap(match: re.Match[str]) -> str:
        key = SENTINELS[match.group(0).lower()]
        return main if key == "icon" else colours[key]

    return _SENTINEL_RE.sub(swap, files[name].read_text("utf-8")).encode("utf-8")


class _SvgIconEngine(QIconEngine):
    """Renders one themed SVG at any size; Selected mode uses the selection colour."""

    def __init__(self, name: str, normal: bytes, selected: bytes) -> None:
        super().__init__()
        self._name = name
        self._svg = {"normal": normal, "selected": selected}
        self._renderers: dict[str, QSvgRenderer] = {}
        self._pixmaps: dict[tuple[int, int, int, int], QPixmap] = {}

    def _renderer(self, mode: QIcon.Mode) -> QSvgRenderer:
        key = "selected" if mode == QIcon.Mode.Selected else "normal"
        if key not in self._renderers:
            self._renderers[key] = QSvgRenderer(QByteArray(self._svg[key]))
        return self._renderers[key]

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        side = min(rect.width(), rect.height())  # keep the square icon square
        ratio = painter.device().devicePixelRatioF() if painter.device() is not None else 1.0
        pm = self.pixmap(QSize(round(side * ratio), round(side * ratio)), mode, state)
        pm.setDevicePixelRatio(ratio)
        x = rect.x() + (rect.width() - side) // 2
        y = rect.y() + (rect.height() - side) // 2
        painter.drawPixmap(QRect(x, y, side, side), pm)

    def _render(self, size: QSize, mode: QIcon.Mode) -> QPixmap:
        pm = QPixmap(size)
        pm.fill(QColor(0, 0, 0, 0))  # transparent (no Qt namespace: it is slow to load)
        painter = QPainter(pm)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._renderer(mode).render(painter, QRectF(0, 0, size.width(), size.height()))
        if mode == QIcon.Mode.Disabled:
            # QSvgRenderer ignores the painter's opacity: fade the result instead.
            painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_DestinationIn)
            painter.fillRect(pm.rect(), QColor(0, 0, 0, round(255 * _DISABLED_OPACITY)))
        painter.end()
        return pm

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        key = (size.width(), size.height(), int(mode.value), int(state.value))
        cached = self._pixmaps.get(key)
        if cached is None:
            cached = self._render(size, mode)
            if len(self._pixmaps) < 32:
                self._pixmaps[key] = cached
        return QPixmap(cached)

    def scaledPixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State, scale: float) -> QPixmap:
        pm = self.pixmap(QSize(round(size.width() * scale), round(size.height() * scale)), mode, state)
        pm.setDevicePixelRatio(scale)
        return pm

    def availableSizes(self, mode: QIcon.Mode = QIcon.Mode.Normal, state: QIcon.State = QIcon.State.Off):
        return [QSize(s, s) for s in (16, 20, 24, 32, 48, 64)]

    def iconName(self) -> str:
        return self._name

    def key(self) -> str:
        return "lms-console-svg"

    def isNull(self) -> bool:
        return False

    def clone(self) -> QIconEngine:
        return _SvgIconEngine(self._name, self._svg["normal"], self._svg["selected"])


def icon(name: str, *, colour: str | None = None) -> QIcon:
    """The themed icon ``name`` (cached per theme). Raises :class:`MissingIconError` for an unknown name.

    ``colour`` ("#rrggbb") draws it in that colour in every mode: for a button filled with the accent,
    where the theme's icon colour (meant for the window background) hardly shows."""
    dark = _state["dark"]
    cached = _cache.get((name, dark, colour))
    if cached is not None:
        return cached
    selected = icon_svg(name, dark=dark, colour=colour) if colour else icon_svg(name, dark=dark, role="icon_selected")
    result = QIcon(_SvgIconEngine(name, icon_svg(name, dark=dark, colour=colour), selected))
    _cache[(name, dark, colour)] = result
    return result


def activity_icon(modname: str) -> QIcon:
    """The icon for a Moodle activity module name (``assign``, ``quiz``...); unknown ones get a generic icon."""
    return icon(f"activity-{modname}" if modname in _ACTIVITY_ICONS else "activity-generic")
