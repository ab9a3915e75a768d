"""Themes: every QSS file parses and uses only real Qt properties, both palettes are readable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtCore import QDate, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDockWidget,
    QGroupBox,
    QLineEdit,
    QMainWindow,
    QMenu,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QStyle,
    QStyleOptionComboBox,
    QTableWidget,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from lms_console.views import icons, theme
from lms_console.views.theme import apply_theme, available_themes, chart_palette, current_theme, render_stylesheet

# Properties Qt style sheets understand (Qt 6 "List of Properties"), plus qproperty-*.
QSS_PROPERTIES = set("""
accent-color alternate-background-color background background-attachment background-clip background-color
background-image background-origin background-position background-repeat border border-bottom
border-bottom-color border-bottom-left-radius border-bottom-right-radius border-bottom-style
border-bottom-width border-color border-image border-left border-left-color border-left-style
border-left-width border-radius border-right border-right-color border-right-style border-right-width
border-style border-top border-top-color border-top-left-radius border-top-right-radius border-top-style
border-top-width border-width bottom button-layout color dialogbuttonbox-buttons-have-icons font
font-family font-size font-style font-weight gridline-color height icon icon-size image image-position
left lineedit-password-character lineedit-password-mask-delay margin margin-bottom margin-left
margin-right margin-top max-height max-width messagebox-text-interaction-flags min-height min-width
opacity outline outline-bottom-left-radius outline-bottom-right-radius outline-color outline-offset
outline-radius outline-style outline-top-left-radius outline-top-right-radius padding padding-bottom
padding-left padding-right padding-top paint-alternate-base placeholder-text-color position right
selection-background-color selection-color show-decoration-selected spacing subcontrol-origin
subcontrol-position text-align text-decoration titlebar-show-tooltips-on-buttons top
widget-animation-duration width -qt-background-role -qt-style-features
""".split())

COLOUR_PROPERTIES = {"color", "background", "background-color", "border-color", "gridline-color",
                     "selection-background-color", "selection-color", "alternate-background-color"}


def _blocks(qss: str):
    qss = re.sub(r"/\*.*?\*/", "", qss, flags=re.S)
    assert qss.count("{") == qss.count("}"), "unbalanced braces"
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", qss):
        yield selector.strip(), [d.strip() for d in body.split(";") if d.strip()]


@pytest.mark.parametrize("name", ["light", "dark"])
def test_rendered_stylesheet_uses_only_known_properties_and_valid_colours(qapp, name):
    sheet = render_stylesheet(name)
    assert "{{" not in sheet and "}}" not in sheet
    seen = 0
    for selector, declarations in _blocks(sheet):
        for declaration in declarations:
            prop, _, value = declaration.partition(":")
            prop, value = prop.strip(), value.strip()
            assert prop in QSS_PROPERTIES or prop.startswith("qproperty-"), f"{selector}: {prop}"
            assert value, f"{selector}: {prop} has no value"
            if prop in COLOUR_PROPERTIES and value.startswith("#"):
                assert QColor(value.split()[0]).isValid(), f"{selector}: {declaration}"
            for url in re.findall(r'url\("([^"]+)"\)', value):
                assert Path(url).is_file(), url
            seen += 1
    assert seen > 100


def test_qss_files_load_in_numbered_order():
    names = [n for n, _ in theme.qss_files()]
    assert names == sorted(names) and all(re.match(r"\d\d-[a-z-]+\.qss$", n) for n in names)
    assert len(names) >= 5


def test_palettes_define_the_same_keys():
    assert set(theme.load_palette("light")) == set(theme.load_palette("dark"))


def test_an_unknown_placeholder_is_named(monkeypatch):
    monkeypatch.setattr(theme, "qss_files", lambda: [("99-test.qss", "QLabel { color: {{ no_such_colour }}; }")])
    with pytest.raises(KeyError, match="99-test.qss.*no_such_colour"):
        render_stylesheet("light")


def _sample_window() -> QMainWindow:
    win = QMainWindow()
    central = QWidget()
    layout = QVBoxLayout(central)
    for widget in (QPushButton("Push"), QLineEdit("text"), QComboBox(), QSpinBox(), QCheckBox("check"),
                   QRadioButton("radio"), QProgressBar(), QGroupBox("group"), QTabWidget(), QToolButton()):
        layout.addWidget(widget)
    table = QTableWidget(3, 3)
    table.setAlternatingRowColors(True)
    table.setSortingEnabled(True)
    layout.addWidget(table)
    disabled = QPushButton("Disabled")
    disabled.setEnabled(False)
    layout.addWidget(disabled)
    primary = QPushButton("Primary")
    primary.setProperty("primary", True)
    layout.addWidget(primary)
    win.setCentralWidget(central)
    win.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, QDockWidget("Dock"))
    win.menuBar().addMenu(QMenu("File", win))
    win.statusBar().showMessage("Ready")
    return win


@pytest.mark.parametrize("name", ["light", "dark"])
def test_applying_a_theme_styles_real_widgets_without_qt_warnings(qtbot, qapp, name):
    # Qt reports unparsable style sheets as warnings, which fail the test (qt_log_level_fail).
    assert apply_theme(qapp, name) == name
    win = _sample_window()
    qtbot.addWidget(win)
    win.resize(600, 700)
    win.show()
    qtbot.waitExposed(win)
    assert not win.grab().isNull()
    assert current_theme() == name
    window = qapp.palette().color(QPalette.ColorRole.Window).name()
    assert window == theme.load_palette(name)["window"]


def test_switching_themes_changes_palette_icons_and_notifies(qtbot, qapp):
    apply_theme(qapp, "light")
    light_window = qapp.palette().color(QPalette.ColorRole.Window)
    with qtbot.waitSignal(theme.theme_notifier().theme_changed) as blocker:
        apply_theme(qapp, "dark")
    assert blocker.args == ["dark"]
    assert current_theme() == "dark" and icons.icon_theme_is_dark()
    dark_window = qapp.palette().color(QPalette.ColorRole.Window)
    assert dark_window.lightness() < 60 < light_window.lightness()
    assert qapp.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text) != \
        qapp.palette().color(QPalette.ColorRole.Text)
    apply_theme(qapp, "light")
    assert not icons.icon_theme_is_dark()


def test_system_theme_resolves_to_a_concrete_theme(qapp):
    # Offscreen reports no colour scheme: "system" means light there.
    assert "system" in available_themes()
    assert apply_theme(qapp, "system") in ("light", "dark")
    with pytest.raises(ValueError, match="solarized"):
        apply_theme(qapp, "solarized")


def _contrast(a: str, b: str) -> float:
    def luminance(hex_colour: str) -> float:
        c = QColor(hex_colour)
        chans = []
        for v in (c.redF(), c.greenF(), c.blueF()):
            chans.append(v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4)
        return 0.2126 * chans[0] + 0.7152 * chans[1] + 0.0722 * chans[2]

    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


# (foreground, background, minimum WCAG contrast ratio)
READABLE_PAIRS = [
    ("text", "surface", 7.0), ("text", "surface_alt", 7.0), ("text", "window", 7.0),
    ("text_muted", "surface", 4.5), ("text_muted", "window", 4.5),
    ("header_text", "header", 4.5), ("selection_text", "selection", 4.5),
    ("selection_inactive_text", "selection_inactive", 4.5), ("tooltip_text", "tooltip", 7.0),
    ("accent_text", "accent", 3.0), ("text_disabled", "surface", 2.5), ("placeholder", "input", 3.0),
    ("error", "surface", 4.5), ("error", "error_bg", 4.5), ("text", "error_bg", 7.0),
    ("warning", "warning_bg", 4.5), ("text", "warning_bg", 7.0), ("text", "info_bg", 7.0),
    ("text_muted", "error_bg", 4.5), ("link", "surface", 4.5),
]


@pytest.mark.parametrize("name", ["light", "dark"])
@pytest.mark.parametrize(("fg", "bg", "minimum"), READABLE_PAIRS)
def test_palette_text_is_readable(name, fg, bg, minimum):
    p = theme.load_palette(name)
    assert _contrast(p[fg], p[bg]) >= minimum, f"{name}: {fg} on {bg} = {_contrast(p[fg], p[bg]):.2f}"


def test_chart_palette_is_colour_blind_safe_and_works_with_matplotlib():
    light, dark = chart_palette("light"), chart_palette("dark")
    okabe_ito = {c.lower() for c in theme.OKABE_ITO.values()}
    assert set(c.lower() for c in light["sequence"]) <= okabe_ito
    assert len(light["sequence"]) >= 7 and len(dark["sequence"]) >= 7
    assert light["background"] != dark["background"]
    for key in ("text", "grid", "axes", "accent", "good", "bad"):
        assert QColor(dark[key]).isValid()
    matplotlib = pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    with matplotlib.rc_context(dark["rc"]):
        fig = Figure()
        ax = fig.add_subplot()
        line, = ax.plot([0, 1], [1, 2])
        assert line.get_color().lower() == dark["sequence"][0].lower()
        assert fig.get_facecolor()[:3] == pytest.approx(QColor(dark["background"]).getRgbF()[:3], abs=0.01)


def test_the_console_application_starts_in_fusion_without_asking_its_style(tmp_path):
    """new_application picks Fusion on Qt's command line; apply_theme then keeps it (a fresh process:
    this one already has its QApplication)."""
    import subprocess
    import sys

    code = (
        "from lms_console.views import theme\n"
        "app = theme.new_application('lms-console')\n"
        "assert theme._state['fusion'] is True\n"
        "style = app.style().name()\n"
        "theme.apply_theme(app, 'dark')\n"
        "print(style, app.arguments(), theme.current_theme())\n"
    )
    env = {**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen", "LMS_CONSOLE_CONFIG_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[-2] == "fusion ['lms-console'] dark"


@pytest.mark.parametrize("name", ["light", "dark"])
def test_a_date_field_with_a_calendar_is_not_cut_off_at_its_right_end(qtbot, qapp, name):
    """The enrolment dates' drop-down button had no style: Fusion drew its own bevelled button over the
    right end of the rounded field (a dark edge in light, a grey block in dark). Styled, the field is
    its input colour up to its border and the button fits inside it."""
    apply_theme(qapp, name)
    holder = QWidget()
    qtbot.addWidget(holder)
    edit = QDateEdit(QDate(2026, 11, 29), calendarPopup=True)
    edit.setDisplayFormat("yyyy-MM-dd")
    QVBoxLayout(holder).addWidget(edit)
    holder.resize(220, 60)
    holder.show()
    qtbot.waitExposed(holder)
    image = edit.grab().toImage()
    inside = image.pixelColor(image.width() - 3, image.height() // 2).name()
    assert inside == theme.load_palette(name)["input"]
    option = QStyleOptionComboBox()
    option.initFrom(edit)
    arrow = edit.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, option,
                                        QStyle.SubControl.SC_ComboBoxArrow, edit)
    assert arrow.right() < edit.width() - 1 and arrow.top() >= 1 and arrow.bottom() < edit.height() - 1
    assert edit.sizeHint().width() <= edit.width()  # the date and the button fit the cell they get
