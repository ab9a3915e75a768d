"""The preview of a change plan: what will happen to every item before anything is sent.

Counts by outcome (to apply / already so / conflicts / errors) double as filters; the plan's notes
(e.g. what an undo leaves out because it cannot be undone, and why) stand right under them; the table
shows each item's diff and its problems in plain words; "Show API calls" lists the exact
calls (token and passwords masked); deletes need an explicit confirmation and the dialog
suggests suspending instead; group members who are not enrolled can be enrolled first.
Opened with ``open()``; Apply emits ``apply_requested`` with the plan exactly as given.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QEvent, QModelIndex, QObject, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QFontDatabase, QIcon, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QStyledItemDelegate,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from lms_console.models.plan_model import (
    COL_DIFF,
    COL_FIX,
    COL_OUTCOME,
    COL_PROBLEM,
    COL_SEQ,
    COL_TITLE,
    PlanTableModel,
    count_phrase,
    diff_pairs,
    format_value,
    irreversible_wording,
    item_diff_text,
    outcome_explanation,
    problem_text,
)
from lms_console.services.changes.model import Outcome
from lms_console.views import theme
from lms_console.views.icons import icon
from lms_console.views.widgets.text_wrap import breakable

FIELD_LINES = 20_000  # "Show API calls" lists fields up to this many lines, then only the calls

_OUTCOME_LABELS = (
    (Outcome.APPLY, "check", "to apply", "to apply"),
    (Outcome.NOOP, "remove", "already so (dropped)", "already so (dropped)"),
    (Outcome.CONFLICT, "warning", "conflict", "conflicts"),
    (Outcome.ERROR, "error", "error", "errors"),
)


def _refresh_style(widget: QWidget) -> None:
    widget.style().unpolish(widget)
    widget.style().polish(widget)


class CountToggle(QToolButton):
    """One count button of a "Show:" row ("54 to apply"): checked, the table shows its items. The two states
    look nothing alike: shown, the pill is filled (in its tone's colour) with a ticked box before the icon;
    hidden, it is only outlined, with an empty box and muted text. Its accessible name and tooltip say
    "shown" or "hidden" (just the count when there are no such items)."""

    BOX = 12  # the tick box, in px, left of the icon

    def __init__(self, icon_name: str, tone: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("CountToggle")
        self.setProperty("tone", tone)
        self.setCheckable(True)
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.setIconSize(QSize(self.BOX + 4 + 16, 16))
        self._icon_name = icon_name
        self._tone = tone
        self.toggled.connect(self._show_state)
        theme.theme_notifier().theme_changed.connect(self._restyle)
        self._restyle()

    def set_label(self, text: str) -> None:
        """The count in words ("2 errors"); "" while there is none to show."""
        self.setText(text)
        self._show_state()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        super().changeEvent(event)
        if event.type() == QEvent.Type.EnabledChange:
            self._show_state()

    def _restyle(self, *_args) -> None:
        c = {k: theme.color(k).name() for k in ("selection", "accent", "text", "text_muted", "text_disabled",
                                                 "border", "border_strong", "hover", "error", "error_bg",
                                                 "warning", "warning_bg")}
        fill, line, ink = {"error": ("error_bg", "error", "error"), "warning": ("warning_bg", "warning", "warning")
                           }.get(self._tone, ("selection", "accent", "text"))
        # Over the theme's QSS (70-changes.qss): there, a checked pill is only a shade lighter than an unchecked one.
        self.setStyleSheet(
            f"QToolButton:checked {{ background: {c[fill]}; border: 1px solid {c[line]}; color: {c[ink]}; }}"
            f"QToolButton:!checked {{ background: transparent; border: 1px solid {c['border_strong']}; "
            f"color: {c['text_muted']}; }}"
            f"QToolButton:!checked:hover {{ background: {c['hover']}; }}"
            f"QToolButton:disabled {{ background: transparent; border: 1px dashed {c['border']}; "
            f"color: {c['text_disabled']}; }}")
        self._show_state()

    def _show_state(self, *_args) -> None:
        on = self.isChecked()
        self.setIcon(self._state_icon(on))
        text = self.text()
        if not self.isEnabled():
            self.setAccessibleName(text)
            self.setToolTip(f"No items: {text}" if text else "")
            return
        self.setAccessibleName(f"{text}: {'shown' if on else 'hidden'}")
        self.setToolTip(f"Shown: {text}. Click to hide them." if on else f"Hidden: {text}. Click to show them.")

    def _state_icon(self, on: bool) -> QIcon:
        """The tick box (ticked when shown) and the count's icon, side by side."""
        size, box = self.iconSize(), self.BOX
        ratio = self.devicePixelRatioF()
        pixmap = QPixmap(size * ratio)
        pixmap.setDevicePixelRatio(ratio)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        top = (size.height() - box) / 2
        frame = QRectF(0.5, top + 0.5, box - 1, box - 1)
        if on:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(theme.color("accent"))
            painter.drawRoundedRect(frame, 2, 2)
            painter.setPen(QPen(theme.color("accent_text"), 1.6))
            painter.drawPolyline([QPointF(2.5, top + 6.2), QPointF(5, top + 8.7), QPointF(9.5, top + 3.5)])
        else:
            painter.setPen(QPen(theme.color("border_strong"), 1))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(frame, 2, 2)
        icon(self._icon_name).paint(painter, QRect(box + 4, 0, 16, 16))
        painter.end()
        return QIcon(pixmap)


class CountToggles(QWidget):
    """A row of :class:`CountToggle` buttons ("54 to apply", "2 errors") that filter a table.

    Signals:
        selection_changed(object): the set of keys whose button is checked.
    """

    selection_changed = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("CountToggles")
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(6)
        caption = QLabel("Show:")
        caption.setObjectName("CountTogglesCaption")
        self._layout.addWidget(caption)
        self._layout.addStretch(1)
        self._buttons: dict[str, CountToggle] = {}

    def add(self, key: str, icon_name: str, count: int, one: str, many: str, tone: str = "") -> CountToggle:
        button = CountToggle(icon_name, tone)
        button.setProperty("empty", count == 0)
        button.setChecked(count > 0)
        button.setEnabled(count > 0)
        button.set_label(f"{count:,} {one if count == 1 else many}")
        button.toggled.connect(lambda _on: self.selection_changed.emit(self.selected()))
        self._layout.insertWidget(self._layout.count() - 1, button)
        self._buttons[key] = button
        return button

    def button(self, key: str) -> QToolButton:
        return self._buttons[key]

    def selected(self) -> set[str]:
        # Buttons without items stay "shown": a later filter must not hide what appears.
        return {k for k, b in self._buttons.items() if b.isChecked() or not b.isEnabled()}

    def set_only(self, key: str) -> None:
        for k, b in self._buttons.items():
            b.blockSignals(True)
            b.setChecked(k == key and b.isEnabled())
            b.blockSignals(False)
        self.selection_changed.emit(self.selected())


def make_table(model, name: str) -> QTableView:
    table = QTableView()
    table.setTabKeyNavigation(False)  # Tab leaves the table, not walks its cells
    table.setObjectName(name)
    table.setModel(model)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setAlternatingRowColors(True)
    table.setShowGrid(False)
    table.setWordWrap(False)
    table.setIconSize(QSize(16, 16))
    table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    table.verticalHeader().hide()
    table.verticalHeader().setDefaultSectionSize(26)
    header = table.horizontalHeader()
    header.setHighlightSections(False)
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(True)
    return table


class ElideMiddleDelegate(QStyledItemDelegate):
    """Cuts a long text in its middle ("Add the Teacher role to “jd…and reactivate the enrolment"), so that
    both its start and its end stay readable; the model's tooltip shows all of it."""

    def initStyleOption(self, option, index) -> None:  # noqa: N802 - Qt API
        super().initStyleOption(option, index)
        option.textElideMode = Qt.TextElideMode.ElideMiddle


def show_long_titles(table: QTableView, column: int) -> None:
    """The titles' column takes the room the other columns leave, and cuts a title too long for it in the
    middle (one line per row: word-wrapped rows would have to be measured one by one, slow for 50,000)."""
    table.setItemDelegateForColumn(column, ElideMiddleDelegate(table))
    table.horizontalHeader().setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)


def diff_width(room: int, title: int, diff: int, floor: int = 170) -> int:
    """The width of the "Before → after" column, beside the titles' column that takes the rest of ``room``:
    all the diff needs when both fit. Else the diff is cut, not the titles: a title cut in its middle hides
    whom an item is about ("Create qa…Last1372)"), a cut diff only the end of a list of fields. The titles
    keep what they need and a quarter more (``title`` is measured on some rows: those further down may be
    longer) up to a fair share of the room (2/5), or their share in proportion to what both need when that
    is more. The diff never gets under ``floor`` (or what it needs, if less) unless the titles would get
    less than their fair share."""
    if title + diff <= room:
        return diff
    fair = room * 2 // 5
    keep = max(min(fair, title + title // 4), room * title // max(title + diff, 1))
    return max(min(diff, floor, room - fair), room - keep)


class PlanColumns(QObject):
    """Gives the preview's width to the text that is there. The problem and what-to-do columns are as wide as
    their texts, up to their usual width (just their heading when no item has a problem); the titles' column
    (stretched) and the "Before → after" column share the rest by :func:`diff_width` (the titles first, up to
    a fair share). Fitted again when the table is resized or filtered, until the admin drags one of these
    columns. What the texts need is measured when the rows change, over ``SAMPLE_ROWS`` rows, those in view
    first (quick for 50,000 items). The columns' widths when it starts are their usual ones."""

    SAMPLE_ROWS = 100

    def __init__(self, table: QTableView) -> None:
        super().__init__(table)
        self._table = table
        self._widths = {col: table.columnWidth(col) for col in (COL_DIFF, COL_PROBLEM, COL_FIX)}  # the usual ones
        self._needs: dict[int, int] = {}
        self._fitting = False
        self._dragged = False
        table.horizontalHeader().setResizeContentsPrecision(self.SAMPLE_ROWS)  # what sizeHintForColumn reads
        table.viewport().installEventFilter(self)
        table.model().modelReset.connect(self._measure)
        table.horizontalHeader().sectionResized.connect(self._resized)
        self._measure()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Resize:
            self.fit()
        return False

    def _measure(self) -> None:
        header = self._table.horizontalHeader()
        self._needs = {col: max(self._table.sizeHintForColumn(col), header.sectionSizeHint(col))
                       for col in (COL_TITLE, COL_DIFF, COL_PROBLEM, COL_FIX)}
        self.fit()

    def _resized(self, col: int, _old: int, _new: int) -> None:
        if not self._fitting and col in (COL_DIFF, COL_PROBLEM, COL_FIX):
            self._dragged = True  # the admin's widths stay

    def fit(self) -> None:
        if self._dragged or not self._needs:
            return
        table = self._table
        self._fitting = True
        try:
            for col in (COL_PROBLEM, COL_FIX):
                table.setColumnWidth(col, min(self._widths[col], self._needs[col]))
            room = table.viewport().width() - sum(table.columnWidth(c) for c in range(table.model().columnCount())
                                                  if c not in (COL_TITLE, COL_DIFF))
            table.setColumnWidth(COL_DIFF, diff_width(room, self._needs[COL_TITLE], self._needs[COL_DIFF],
                                                      self._widths[COL_DIFF]))
        finally:
            self._fitting = False


def notice(name: str, level: str, icon_name: str) -> tuple[QFrame, QLabel, QHBoxLayout, QVBoxLayout]:
    """A coloured strip (QSS ``QFrame#name[level=...]``) with an icon and a text column."""
    frame = QFrame()
    frame.setObjectName(name)
    frame.setProperty("level", level)
    row = QHBoxLayout(frame)
    row.setContentsMargins(10, 8, 10, 8)
    row.setSpacing(10)
    pic = QLabel()
    pic.setObjectName("NoticeIcon")
    pic.setPixmap(icon(icon_name).pixmap(QSize(20, 20)))
    pic.setFixedSize(20, 20)
    row.addWidget(pic, 0, Qt.AlignmentFlag.AlignTop)
    column = QVBoxLayout()
    column.setSpacing(6)
    text = QLabel()
    text.setObjectName("NoticeText")
    text.setWordWrap(True)
    text.setTextFormat(Qt.TextFormat.RichText)
    text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    column.addWidget(text)
    row.addLayout(column, 1)
    return frame, text, row, column


def seq_ranges(seqs) -> str:
    """1, 2, 3, 5 -> "1–3, 5"."""
    seqs = sorted(seqs)
    parts, start, prev = [], None, None
    for s in seqs:
        if start is None:
            start = prev = s
        elif s == prev + 1:
            prev = s
        else:
            parts.append(f"{start}–{prev}" if prev != start else str(start))
            start = prev = s
    if start is not None:
        parts.append(f"{start}–{prev}" if prev != start else str(start))
    return ", ".join(parts)


def api_calls_text(plan, max_field_lines: int = FIELD_LINES) -> str:
    """The calls Apply will make, one block per call, token and passwords as ***. Plain Python
    (runs on a worker): past ``max_field_lines`` field lines only each call's heading is listed."""
    from lms_console.services.changes.planner import api_calls

    calls = api_calls(plan)
    out = [f"{count_phrase(len(calls), 'call')} to the site's web services; the token is shown as ***.",
           "A call the site refuses as a whole is split until each failing item stands alone.", ""]
    budget = max_field_lines
    for n, call in enumerate(calls, start=1):
        out.append(f"Call {n} of {len(calls)}: {call.function} — items {seq_ranges(call.items)}, "
                   f"{len(call.fields)} fields")
        if budget >= len(call.fields):
            out += [f"    {key} = {value}" for key, value in call.fields]
            budget -= len(call.fields)
        elif budget >= 0:
            out.append("    (the fields of this and the following calls are like those above; not listed)")
            budget = -1
        out.append("")
    return "\n".join(out)


class PreviewDialog(QDialog):
    """Preview of a plan (a Plan, or whatever ChangeEngine.planned emitted) before it is applied.

    Signals:
        apply_requested(object): the admin pressed Apply; the plan object as given to the dialog.
        replan_requested(bool): plan again; True: enrol group members who are not enrolled first.
    """

    apply_requested = Signal(object)
    replan_requested = Signal(bool)

    def __init__(self, plan, parent: QWidget | None = None, *, runner=None) -> None:
        super().__init__(parent)
        self.plan = plan
        self._runner = runner  # a TaskRunner: "Show API calls" works them out off the GUI thread
        self.setObjectName("PreviewDialog")
        self.setWindowTitle("Preview changes")
        self.setSizeGripEnabled(True)
        self.resize(1180, 720)
        items = tuple(plan.items)
        self._counts = {o: sum(1 for i in items if i.outcome == o) for o in Outcome}
        self._irreversible = tuple(plan.irreversible)
        self._prerequisites = [i for i in items if i.outcome == Outcome.CONFLICT
                               and any(p.prerequisite is not None for p in i.problems)]
        self._calls_loaded = False

        self.model = PlanTableModel(plan, self, icons=icon, colours=theme.color)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 14, 16, 12)
        layout.setSpacing(10)
        layout.addLayout(self._build_heading(plan, items))
        self.toggles = CountToggles()
        for outcome, icon_name, one, many in _OUTCOME_LABELS:
            tone = {"conflict": "warning", "error": "error"}.get(outcome.value, "")
            self.toggles.add(outcome.value, icon_name, self._counts[outcome], one, many, tone)
        self.toggles.selection_changed.connect(self.model.set_visible_outcomes)
        layout.addWidget(self.toggles)
        self.notes_notice = self._build_notes(tuple(getattr(plan, "notes", ()) or ()))
        layout.addWidget(self.notes_notice)
        self.irreversible_warning = self._build_irreversible()
        layout.addWidget(self.irreversible_warning)
        self.prerequisite_notice = self._build_prerequisites()
        layout.addWidget(self.prerequisite_notice)

        self.table = make_table(self.model, "PreviewTable")
        self.table.setAccessibleName("Planned changes")
        # The titles take what is left: "Add the Teacher role to “…” in “…” and reactivate the enrolment" whole;
        # problems and what to do, for a few items only, are whole in tooltips and details.
        for col, width in ((COL_SEQ, 44), (COL_OUTCOME, 160), (COL_DIFF, 170), (COL_PROBLEM, 170), (COL_FIX, 150)):
            self.table.setColumnWidth(col, width)
        self.table.horizontalHeader().setStretchLastSection(False)
        show_long_titles(self.table, COL_TITLE)
        self.columns = PlanColumns(self.table)  # the width goes where the text is (a long diff, no problems)
        self.table.selectionModel().currentRowChanged.connect(self._show_details)
        self.model.modelReset.connect(self._after_filter)
        layout.addWidget(self.table, 1)
        self.empty_label = QLabel("No items match the filter above.")
        self.empty_label.setObjectName("EmptyState")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.hide()
        layout.addWidget(self.empty_label, 1)

        self.details = QLabel()
        self.details.setObjectName("PreviewDetails")
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.details.setMinimumHeight(56)
        layout.addWidget(self.details)

        self.calls_toggle = QToolButton()
        self.calls_toggle.setObjectName("ApiCallsToggle")
        self.calls_toggle.setCheckable(True)
        self.calls_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.calls_toggle.setIconSize(QSize(14, 14))
        self.calls_toggle.setText("Show API calls")
        self.calls_toggle.setToolTip("The exact web-service calls Apply will make (the token is never shown)")
        self.calls_toggle.setEnabled(self._counts[Outcome.APPLY] > 0)
        self.calls_toggle.toggled.connect(self._toggle_calls)
        self.calls_text = QPlainTextEdit()
        self.calls_text.setObjectName("ApiCallsText")
        self.calls_text.setReadOnly(True)
        self.calls_text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.calls_text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.calls_text.setAccessibleName("API calls")
        self.calls_text.setMinimumHeight(140)
        self.calls_text.hide()
        layout.addWidget(self.calls_toggle, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.calls_text, 1)
        layout.addLayout(self._build_buttons())

        theme.theme_notifier().theme_changed.connect(self._refresh_icons)
        self._refresh_icons()
        self._update_apply()
        self._after_filter()
        self.table.setFocus()

    # -- construction -----------------------------------------------------------------------
    def _build_heading(self, plan, items) -> QVBoxLayout:
        box = QVBoxLayout()
        box.setSpacing(2)
        self.title_label = QLabel(breakable(plan.title or "Planned changes"))
        self.title_label.setObjectName("DialogTitle")
        self.title_label.setTextFormat(Qt.TextFormat.PlainText)
        self.title_label.setWordWrap(True)
        box.addWidget(self.title_label)
        n = self._counts[Outcome.APPLY]
        if not items:
            sub = "The plan is empty: there is nothing to do."
        elif n:
            sub = (f"{count_phrase(len(items), 'planned item')}; {count_phrase(n, 'change')} will be sent to the "
                   "site when you press Apply. Nothing has been sent yet.")
        else:
            sub = (f"{count_phrase(len(items), 'planned item')}; none can be sent: every item is already so on "
                   "the site or has a problem listed below.")
        self.summary_label = QLabel(sub)
        self.summary_label.setObjectName("DialogSubtitle")
        self.summary_label.setWordWrap(True)
        box.addWidget(self.summary_label)
        return box

    def _build_notes(self, notes: tuple[str, ...]) -> QFrame:
        """What the plan says beyond its items (e.g. what an undo leaves out, and why): never only in a tooltip."""
        frame, self.notes_text, _row, _column = notice("PreviewNotice", "warning", "warning")
        self.notes_text.setText("<br>".join(html.escape(note) for note in notes))
        self.notes_text.setAccessibleName("Notes on this plan")
        frame.setVisible(bool(notes))
        return frame

    def _build_irreversible(self) -> QFrame:
        frame, text, _row, column = notice("PreviewNotice", "error", "warning")
        n = len(self._irreversible)
        kinds = sorted({i.change.kind for i in self._irreversible})
        what, why, instead = irreversible_wording([i.change.kind for i in self._irreversible])
        self._irreversible_what = what
        text.setText(f"<b>{html.escape(what.capitalize())} cannot be undone.</b> {html.escape(why)}"
                     f" ({html.escape(', '.join(kinds))}). {html.escape(instead)}".rstrip())
        self.confirm_check = QCheckBox(f"I understand that {what} cannot be undone")
        self.confirm_check.setObjectName("ConfirmIrreversible")
        self.confirm_check.toggled.connect(self._update_apply)
        column.addWidget(self.confirm_check)
        frame.setVisible(n > 0)
        return frame

    def _build_prerequisites(self) -> QFrame:
        frame, text, row, _column = notice("PreviewNotice", "warning", "info")
        n = len(self._prerequisites)
        courses = {p.prerequisite.data.get("courseid") for i in self._prerequisites for p in i.problems
                   if p.prerequisite is not None}
        where = "the course" if len(courses) == 1 else f"{len(courses)} courses"
        text.setText(f"<b>{html.escape(count_phrase(n, 'group member'))} "
                     f"{'is' if n == 1 else 'are'} not enrolled in {where}.</b> Moodle only puts enrolled users "
                     "in groups. Enrol them first, in the same run, or leave them out (they are not sent).")
        self.enrol_first_button = QPushButton("Enrol them first")
        self.enrol_first_button.setObjectName("EnrolFirst")
        self.enrol_first_button.setAutoDefault(False)  # Enter never re-plans by accident
        self.enrol_first_button.setToolTip("Plan again with an enrolment before each of these group additions")
        self.enrol_first_button.clicked.connect(self._enrol_first)
        row.addWidget(self.enrol_first_button, 0, Qt.AlignmentFlag.AlignVCenter)
        frame.setVisible(n > 0)
        return frame

    def _build_buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(8)
        self.status_label = QLabel()
        self.status_label.setObjectName("DialogHint")
        self.status_label.setWordWrap(True)
        row.addWidget(self.status_label, 1)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setAutoDefault(False)
        self.cancel_button.clicked.connect(self.reject)
        n = self._counts[Outcome.APPLY]
        self.apply_button = QPushButton(f"Apply {count_phrase(n, 'change')}" if n else "Apply")
        self.apply_button.setObjectName("ApplyButton")
        self.apply_button.setProperty("primary", True)
        self.apply_button.setDefault(not self._irreversible)
        self.apply_button.clicked.connect(self._apply)
        row.addWidget(self.cancel_button)
        row.addWidget(self.apply_button)
        return row

    # -- behaviour ---------------------------------------------------------------------------
    def _update_apply(self, *_args) -> None:
        n = self._counts[Outcome.APPLY]
        confirmed = not self._irreversible or self.confirm_check.isChecked()
        self.apply_button.setEnabled(n > 0 and confirmed)
        if n == 0:
            why = "Nothing to apply: every item is already so on the site or has a problem."
        elif not confirmed:
            why = f"Confirm above that {self._irreversible_what} cannot be undone to enable Apply."
        else:
            skipped = len(self.plan.items) - n
            why = (f"{count_phrase(skipped, 'item')} will not be sent and {'is' if skipped == 1 else 'are'} "
                   "recorded in the journal as skipped." if skipped else "")
        self.status_label.setText(why)
        self.apply_button.setToolTip(why or "Send the changes to the site")

    def _apply(self) -> None:
        if not self.apply_button.isEnabled():
            return
        self.apply_requested.emit(self.plan)
        self.accept()

    def _enrol_first(self) -> None:
        self.replan_requested.emit(True)
        self.reject()

    def _after_filter(self) -> None:
        has_rows = self.model.rowCount() > 0
        self.table.setVisible(has_rows)
        self.empty_label.setVisible(not has_rows)
        if has_rows:
            self.table.selectRow(0)
        else:
            self._show_details(QModelIndex(), QModelIndex())

    def _show_details(self, current: QModelIndex, _previous: QModelIndex) -> None:
        item = self.model.item_at(current.row()) if current.isValid() else None
        if item is None:
            self.details.setText("<i>Select an item to see its details.</i>" if self.model.rowCount() else "")
            return
        def esc(text: str) -> str:  # long names break across lines instead of widening the dialog
            return html.escape(breakable(text))

        heading = (f"<b>{item.seq}. {esc(item.title)}</b> &nbsp;<span>{esc(item.change.kind)} · "
                   f"{esc(item.target or '')}</span>")
        lines = [heading, esc(outcome_explanation(item))]
        pairs = diff_pairs(item.before, item.after)
        if pairs and pairs[0][0]:
            lines += [f"{esc(f)}: {esc(format_value(a, f))} → <b>{esc(format_value(b, f))}</b>"
                      for f, a, b in pairs[:12]]
            if len(pairs) > 12:
                lines.append(f"… and {len(pairs) - 12} more fields")
        elif item_diff_text(item):
            lines.append(esc(item_diff_text(item)))
        for p in item.problems:
            fix = f" <i>What to do: {esc(p.fix)}</i>" if p.fix else ""
            lines.append(f"<span style='color:{theme.color('error').name()}'>{esc(problem_text(p))}</span>{fix}")
        self.details.setText("<br>".join(lines))

    def _toggle_calls(self, shown: bool) -> None:
        if shown and not self._calls_loaded:
            self._calls_loaded = True
            if self._runner is None:
                self._show_calls(api_calls_text(self.plan))
            else:  # 50,000 items make hundreds of calls: worked out off the GUI thread
                self.calls_text.setPlainText("Working out the calls…")
                plan = self.plan
                job = self._runner.run(f"api-calls-{id(self):x}", lambda p, c: api_calls_text(plan),
                                       label="Show API calls", on_done=self._show_calls)
                # Closed before it is done: the runner drops the late result (no call into a deleted dialog).
                self.finished.connect(lambda _r, runner=self._runner: runner.cancel(job))
        self.calls_text.setVisible(shown)
        self.calls_toggle.setText("Hide API calls" if shown else "Show API calls")
        self._refresh_icons()

    def _show_calls(self, text: str) -> None:
        self.calls_text.setPlainText(text)

    def api_calls_text(self) -> str:
        """The calls Apply will make (see :func:`api_calls_text`)."""
        return api_calls_text(self.plan)

    def _refresh_icons(self, *_args) -> None:
        self.calls_toggle.setIcon(icon("chevron-down" if self.calls_toggle.isChecked() else "chevron-right"))
        frames = ((self.notes_notice, "warning"), (self.irreversible_warning, "warning"),
                  (self.prerequisite_notice, "info"))
        for frame, name in frames:
            pic = frame.findChild(QLabel, "NoticeIcon")
            if pic is not None:
                pic.setPixmap(icon(name).pixmap(QSize(20, 20), self.devicePixelRatioF()))
            _refresh_style(frame)
