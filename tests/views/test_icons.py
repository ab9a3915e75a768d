"""The icon set: every icon the console needs exists, loads and is themed."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon

from lms_console.views import icons
from lms_console.views.icons import ICON_NAMES, MissingIconError, activity_icon, icon, icon_svg, set_icon_theme

REQUIRED = """
app sync cancel profile site users user user-suspended filter cohort group grouping category course section
activity-assign activity-quiz activity-forum activity-resource activity-folder activity-url activity-page
activity-label activity-generic report chart journal jobs online offline warning error info settings add
remove edit refresh export upload download search
""".split()


def test_every_required_icon_exists():
    assert set(REQUIRED) <= set(ICON_NAMES), sorted(set(REQUIRED) - set(ICON_NAMES))


@pytest.mark.parametrize("name", sorted(ICON_NAMES))
def test_icon_files_are_24px_svgs_drawn_with_sentinel_colours(name):
    root = ET.fromstring(icon_svg(name, dark=False).decode())  # well-formed XML
    assert root.get("viewBox") == "0 0 24 24"
    raw = icons.resource_dir("icons", f"{name}.svg").read_text("utf-8").lower()
    assert "currentcolor" not in raw  # Qt's SVG renderer cannot draw it


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_every_icon_renders_visible_pixels_in_both_themes(qapp, dark):
    set_icon_theme(dark)
    for name in ICON_NAMES:
        ic = icon(name)
        assert not ic.isNull(), name
        image = ic.pixmap(QSize(24, 24)).toImage()
        opaque = sum(
            1 for x in range(0, 24, 2) for y in range(0, 24, 2) if image.pixelColor(x, y).alpha() > 64
        )
        assert opaque > 3, f"{name} renders (almost) nothing"


def test_theme_colours_replace_the_sentinels():
    light, dark = icon_svg("sync", dark=False).decode(), icon_svg("sync", dark=True).decode()
    for sentinel in icons.SENTINELS:
        assert sentinel not in light.lower() and sentinel not in dark.lower()
    assert light != dark


def test_icons_are_cached_per_theme(qapp):
    set_icon_theme(False)
    light = icon("user")
    assert icon("user") is light
    set_icon_theme(True)
    assert icon("user") is not light


def test_high_dpi_pixmaps_are_rendered_at_device_pixels(qapp):
    pm = icon("search").pixmap(QSize(16, 16), 2.0)
    assert pm.size() == QSize(32, 32) and pm.devicePixelRatio() == 2.0


def test_disabled_mode_is_fainter(qapp):
    ic = icon("users")
    normal = ic.pixmap(QSize(24, 24), QIcon.Mode.Normal).toImage()
    disabled = ic.pixmap(QSize(24, 24), QIcon.Mode.Disabled).toImage()
    alpha = lambda img: sum(img.pixelColor(x, y).alpha() for x in range(24) for y in range(24))  # noqa: E731
    assert 0 < alpha(disabled) < alpha(normal)


def test_a_missing_icon_is_named_in_the_error(qapp):
    with pytest.raises(MissingIconError, match="'user-x'.*Similar: .*user"):
        icon("user-x")
    with pytest.raises(KeyError):  # MissingIconError is a KeyError
        icon("nope")


def test_activity_icons_follow_moodle_module_names(qapp):
    assert activity_icon("quiz").cacheKey() == icon("activity-quiz").cacheKey()
    assert activity_icon("h5pactivity").cacheKey() == icon("activity-generic").cacheKey()
