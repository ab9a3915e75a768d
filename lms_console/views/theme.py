"""Light and dark themes: a QPalette plus ordered QSS files with palette placeholders.

``resources/styles/`` holds one palette per theme (``light.json``, ``dark.json``:
name -> colour) and numbered ``NN-*.qss`` files that load in name order (like
napari's ``qt_resources``). In the QSS, ``{{ key }}`` is replaced by the palette
colour ``key`` and ``{{ icon_url:name }}`` by a ``url(...)`` of the icon
``name`` recoloured for the theme (``{{ icon_url:name:key }}``: drawn in colour ``key``) (Qt's QSS can only load images from files, so
themed copies go to a per-user folder in the temp dir).

The theme also sets the application's QPalette (Fusion style), so widgets Qt
draws natively (check boxes, tree arrows, item selection) match the QSS; and
:func:`chart_palette` hands matplotlib the same colours plus the Okabe-Ito
colour-blind-safe sequence.

Call :func:`apply_theme` once at start-up (and on a user's change); listen to
``theme_notifier().theme_changed`` to redraw anything that caches colours.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from functools import lru_cache
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from lms_console.views import icons

__all__ = [
    "ThemeNotifier",
    "apply_theme",
    "available_themes",
    "chart_palette",
    "color",
    "current_theme",
    "load_palette",
    "render_stylesheet",
    "resolve_theme",
    "theme_notifier",
]

THEMES = ("light", "dark")
_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
# {{ key }}, {{ icon_url:name }} or {{ icon_url:name:palette_key }} (icon drawn in that colour)
_PLACEHOLDER = re.compile(
    r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z0-9_-]+))?(?::([A-Za-z_][A-Za-z0-9_]*))?\s*\}\}"
)

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common
# colour-vision deficiency. Ordered so the first colours contrast best with the background.
OKABE_ITO = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "bluish_green": "#009E73",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
    "sky_blue": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
}
_SEQUENCE = {
    "light": ["blue", "orange", "bluish_green", "vermillion", "reddish_purple", "sky_blue", "yellow", "black"],
    # Dark background: the dark blue and black move to the end / become light grey.
    "dark": ["sky_blue", "orange", "bluish_green", "yellow", "vermillion", "reddish_purple", "blue"],
}


class ThemeNotifier(QObject):
    """Announces theme switches.

    Signals:
        theme_changed(str): a theme was applied; the argument is "light" or "dark".
    """

    theme_changed = Signal(str)


_state: dict[str, object] = {"current": "light", "requested": "light", "notifier": None, "follow": False}


def theme_notifier() -> ThemeNotifier:
    """The process-wide notifier (created on first use)."""
    if _state["notifier"] is None:
        _state["notifier"] = ThemeNotifier()
    return _state["notifier"]  # type: ignore[return-value]


def available_themes() -> tuple[str, ...]:
    """Names :func:`apply_theme` accepts: the concrete themes plus "system"."""
    return (*THEMES, "system")


def current_theme() -> str:
    """The concrete theme applied last ("light" or "dark"; "light" before any)."""
    return str(_state["current"])


@lru_cache(maxsize=4)
def _palette_cached(name: str) -> dict[str, str]:
    if name not in THEMES:
        raise ValueError(f"Unknown theme {name!r}; choose one of {', '.join(available_themes())}")
    data = json.loads(icons.resource_dir("styles", f"{name}.json").read_text("utf-8"))
    return {k: v for k, v in data.items() if isinstance(v, str)}


def load_palette(name: str) -> dict[str, str]:
    """The colour palette of a concrete theme (a copy: key -> "#rrggbb")."""
    return dict(_palette_cached(name))


def resolve_theme(name: str) -> str:
    """Map "system" to "light" or "dark" from the desktop's colour scheme (light if unknown)."""
    if name == "system":
        app = QGuiApplication.instance()
        if app is None:
            return "light"
        # The platform theme's own palette says whether the desktop is dark. (styleHints()
        # .colorScheme() says it too, but its answer lives in the Qt namespace, which costs
        # ~40 ms to load: too much before the window's first paint.)
        if "system_dark" not in _state:  # read once, before this module sets its own palette
            _state["system_dark"] = QGuiApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128
        return "dark" if _state["system_dark"] else "light"
    if name not in THEMES:
        raise ValueError(f"Unknown theme {name!r}; choose one of {', '.join(available_themes())}")
    return name


def color(key: str, theme: str | None = None) -> QColor:
    """A palette colour of ``theme`` (default: the current one) as a QColor."""
    palette = _palette_cached(resolve_theme(theme or current_theme()))
    if key not in palette:
        raise KeyError(f"No colour {key!r} in the {theme or current_theme()} palette")
    return QColor(palette[key])


def _icon_cache_dir(name: str) -> Path:
    user = os.environ.get("USER") or os.environ.get("USERNAME") or str(os.getpid())
    folder = Path(tempfile.gettempdir()) / f"lms-console-{user}" / "qss-icons" / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _icon_url(icon_name: str, theme: str, colour_key: str | None = None) -> str:
    """Write the themed icon for QSS (``image: url(...)``) and return the url() text."""
    colour = _palette_cached(theme)[colour_key] if colour_key else None
    data = icons.icon_svg(icon_name, dark=theme == "dark", colour=colour)
    suffix = f"-{colour_key}" if colour_key else ""
    path = _icon_cache_dir(theme) / f"{icon_name}{suffix}.svg"
    if not path.exists() or path.read_bytes() != data:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)  # atomic: two consoles starting at once never see half a file
    return f'url("{path.as_posix()}")'


def qss_files() -> list[tuple[str, str]]:
    """(file name, raw text) of every QSS file, in load order."""
    folder = icons.resource_dir("styles")
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".qss")), key=lambda f: f.name)
    return [(f.name, f.read_text("utf-8")) for f in files]


def render_stylesheet(name: str) -> str:
    """The full style sheet of a concrete theme, placeholders substituted."""
    theme = resolve_theme(name)
    palette = _palette_cached(theme)
    parts = []
    for file_name, text in qss_files():

        def substitute(match: re.Match[str], file_name: str = file_name) -> str:
            key, arg, colour_key = match.group(1), match.group(2), match.group(3)
            if key == "icon_url" and arg:
                if colour_key and colour_key not in palette:
                    raise KeyError(f"{file_name}: unknown colour {colour_key!r} in {match.group(0)}")
                return _icon_url(arg, theme, colour_key)
            if key not in palette:
                raise KeyError(f"{file_name}: unknown placeholder {{{{ {key} }}}} (not in {theme}.json)")
            return palette[key]

        body = _COMMENT.sub("", text)  # comments may mention {{ placeholders }}
        parts.append(f"/* --- {file_name} --- */\n{_PLACEHOLDER.sub(substitute, body)}")
    return "\n".join(parts)


def build_qpalette(name: str) -> QPalette:
    """A QPalette with the theme's colours (active, inactive and disabled groups)."""
    p = _palette_cached(resolve_theme(name))
    c = {k: QColor(v) for k, v in p.items()}
    pal = QPalette()
    roles = {
        QPalette.ColorRole.Window: "window",
        QPalette.ColorRole.WindowText: "text",
        QPalette.ColorRole.Base: "surface",
        QPalette.ColorRole.AlternateBase: "surface_alt",
        QPalette.ColorRole.ToolTipBase: "tooltip",
        QPalette.ColorRole.ToolTipText: "tooltip_text",
        QPalette.ColorRole.PlaceholderText: "placeholder",
        QPalette.ColorRole.Text: "text",
        QPalette.ColorRole.Button: "button",
        QPalette.ColorRole.ButtonText: "text",
        QPalette.ColorRole.BrightText: "accent_text",
        QPalette.ColorRole.Highlight: "selection",
        QPalette.ColorRole.HighlightedText: "selection_text",
        QPalette.ColorRole.Link: "link",
        QPalette.ColorRole.LinkVisited: "link_visited",
        QPalette.ColorRole.Accent: "accent",
        QPalette.ColorRole.Light: "raised",
        QPalette.ColorRole.Midlight: "border",
        QPalette.ColorRole.Mid: "border_strong",
        QPalette.ColorRole.Dark: "border_strong",
        QPalette.ColorRole.Shadow: "text_disabled",
    }
    for role, key in roles.items():
        pal.setColor(role, c[key])
    group = QPalette.ColorGroup
    pal.setColor(group.Inactive, QPalette.ColorRole.Highlight, c["selection_inactive"])
    pal.setColor(group.Inactive, QPalette.ColorRole.HighlightedText, c["selection_inactive_text"])
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        pal.setColor(group.Disabled, role, c["text_disabled"])
    pal.setColor(group.Disabled, QPalette.ColorRole.Highlight, c["selection_inactive"])
    pal.setColor(group.Disabled, QPalette.ColorRole.HighlightedText, c["text_disabled"])
    pal.setColor(group.Disabled, QPalette.ColorRole.Base, c["window"])
    pal.setColor(group.Disabled, QPalette.ColorRole.Button, c["window"])
    return pal


def new_application(program: str) -> QApplication:
    """The QApplication, made with the Fusion style chosen on its command line (``-style fusion``):
    Qt then makes no other style first, and :func:`apply_theme` need not ask which style it has
    (wrapping the QStyle for Python costs a few ms before the first paint)."""
    app = QApplication([program, "-style", "fusion"])
    _state["fusion"] = True
    return app


def apply_theme(app: QApplication, name: str = "system") -> str:
    """Apply "light", "dark" or "system" to ``app``; returns the concrete theme applied.

    Switches to the Fusion style (native styles ignore parts of the palette),
    sets the palette, the style sheet and the icon colours, and emits
    ``theme_notifier().theme_changed``. With "system" the theme follows later
    changes of the desktop's colour scheme.
    """
    theme = resolve_theme(name)
    # Set once: with a style sheet applied, app.style() is Qt's style-sheet wrapper and no
    # longer tells which base style is underneath; re-creating Fusion costs ~30 ms.
    if not _state.get("fusion"):
        if app.style() is None or app.style().name().lower() != "fusion":
            app.setStyle("Fusion")
        _state["fusion"] = True
    icons.set_icon_theme(theme == "dark")
    app.setPalette(build_qpalette(theme))
    app.setStyleSheet(render_stylesheet(theme))
    _state["current"] = theme
    _state["requested"] = name
    if name == "system" and not _state["follow"]:
        QGuiApplication.styleHints().colorSchemeChanged.connect(_on_color_scheme_changed)
        _state["follow"] = True
    theme_notifier().theme_changed.emit(theme)
    return theme


def _on_color_scheme_changed(scheme) -> None:
    _state["system_dark"] = getattr(scheme, "name", "") == "Dark"
    app = QApplication.instance()
    if _state["requested"] == "system" and isinstance(app, QApplication):
        apply_theme(app, "system")


def chart_palette(name: str | None = None) -> dict:
    """Colours for matplotlib charts in a theme (default: the current one).

    Keys: ``background``, ``text``, ``grid``, ``axes``, ``accent``, ``good``,
    ``bad``, ``warning``, ``sequence`` (list: Okabe-Ito, colour-blind safe, best
    contrast first) and ``rc`` (a dict for ``matplotlib.rc_context``; no
    matplotlib import here, it costs ~0.7 s at start-up).
    """
    theme = resolve_theme(name or current_theme())
    p = _palette_cached(theme)
    sequence = [OKABE_ITO[k] for k in _SEQUENCE[theme]]
    if theme == "dark":
        sequence.append("#BBBBBB")  # stands in for Okabe-Ito black on a dark background
    rc = {
        "figure.facecolor": p["chart_background"],
        "axes.facecolor": p["chart_background"],
        "savefig.facecolor": p["chart_background"],
        "axes.edgecolor": p["chart_axes"],
        "axes.labelcolor": p["chart_text"],
        "axes.titlecolor": p["chart_text"],
        "text.color": p["chart_text"],
        "xtick.color": p["chart_text"],
        "ytick.color": p["chart_text"],
        "grid.color": p["chart_grid"],
        "legend.facecolor": p["chart_background"],
        "legend.edgecolor": p["chart_grid"],
        "legend.labelcolor": p["chart_text"],
        "axes.prop_cycle": f"cycler('color', {sequence!r})",
    }
    return {
        "theme": theme,
        "background": p["chart_background"],
        "text": p["chart_text"],
        "grid": p["chart_grid"],
        "axes": p["chart_axes"],
        "accent": p["accent"],
        "good": OKABE_ITO["bluish_green"],
        "bad": OKABE_ITO["vermillion"],
        "warning": OKABE_ITO["orange"],
        "sequence": sequence,
        "rc": rc,
    }
