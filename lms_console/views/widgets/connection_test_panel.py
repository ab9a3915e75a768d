"""The "Connection test" panel: what a token can do on a site, feature by feature.

Shows the outcome of a connection test (the doctor report): a one-line headline,
the site summary (site, release, who the token signs in as ...), and a list of
features with a yes/no icon, the reason a feature does not work and, under it,
the steps that fix it. Problems go to the panel's :class:`Banner`.

The panel runs nothing: its host asks for the test when ``test_requested`` fires
and feeds the outcome back through :meth:`ConnectionTestPanel.show_testing`,
:meth:`~ConnectionTestPanel.show_report`, :meth:`~ConnectionTestPanel.show_failure`
and :meth:`~ConnectionTestPanel.reset`.

The module also holds the small "note" label helpers (plain-text, selectable,
tinted from the theme palette) the Profiles dialog shares.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QRect, QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from lms_console.models.profiles_model import (
    DoctorReportModel,
    report_headline,
    report_summary,
)
from lms_console.services.lms.errors import LmsError
from lms_console.views import theme
from lms_console.views.icons import icon
from lms_console.views.widgets.banner import Banner

if TYPE_CHECKING:
    from lms_console.services.doctor import DoctorReport

SUMMARY_KEYS = ("Site", "Release", "Signed in as", "Site administrator", "Files")
IDLE_TEXT = "Asks the site what this token can do, feature by feature."

_SELECTABLE = Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard


# -- note labels (shared with the Profiles dialog) ---------------------------------------------
def note_label(object_name: str, colour: str = "text_muted", text: str = "", *, shown: bool = False) -> QLabel:
    """A wrapped, selectable plain-text label tinted with palette colour ``colour`` (its "tint" property)."""
    label = QLabel(text)
    label.setObjectName(object_name)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)  # site names and messages are data, never markup
    label.setTextInteractionFlags(_SELECTABLE)
    label.setProperty("tint", colour)
    label.setVisible(shown)
    return label


def tint(label: QLabel, colour: str) -> None:
    """Colour ``label`` with palette colour ``colour`` of the current theme (re-run on theme changes)."""
    label.setProperty("tint", colour)
    label.setStyleSheet(f"color: {theme.color(colour).name()};")


def set_note(label: QLabel, text: str, colour: str | None = None) -> None:
    """Show ``text`` in ``label`` (hidden when empty), tinted ``colour`` if given."""
    label.setText(text)
    label.setVisible(bool(text))
    if colour is not None and (colour != label.property("tint") or not label.styleSheet()):
        tint(label, colour)


# -- the feature list ---------------------------------------------------------------------------
class _ReportDelegate(QStyledItemDelegate):
    """Feature rows with a yes/no icon; the reason and the fix steps wrap instead of being cut off."""

    def initStyleOption(self, option, index) -> None:
        super().initStyleOption(option, index)
        available = index.data(DoctorReportModel.AvailableRole)
        if index.column() == 1 and available is not None:
            option.icon = icon("success" if available else "error")
            option.features |= QStyleOptionViewItem.ViewItemFeature.HasDecoration
        option.features |= QStyleOptionViewItem.ViewItemFeature.WrapText

    def sizeHint(self, option, index) -> QSize:
        size = super().sizeHint(option, index)
        view = self.parent()
        step = bool(index.data(DoctorReportModel.StepRole))
        if index.column() != 2 and not step:
            return size  # "Feature" and "Works" size to their contents
        width = view.viewport().width() - 2 * view.indentation() if step else view.columnWidth(2)
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        bounds = QRect(0, 0, max(80, width - 14), 100_000)
        height = opt.fontMetrics.boundingRect(bounds, Qt.TextFlag.TextWordWrap, opt.text).height()
        return QSize(size.width() if not step else width, max(size.height(), height + 8))


class ConnectionTestPanel(QWidget):
    """A "Test connection" button, its status line, a banner, the site summary and the feature list.

    Signals:
        test_requested(): the user pressed "Test connection", or Retry on the banner.

    Widgets (for the host and for tests): ``test_button``, ``test_status``, ``banner``
    (the host may show its own problems there too), ``site_summary``, ``feature_tree``.
    """

    test_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ConnectionTestPanel")
        self._report_model = DoctorReportModel(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 10, 0, 0)
        title = QLabel("Connection test")
        title.setObjectName("SectionTitle")
        layout.addWidget(title)

        self.test_button = QPushButton("Test connection")
        self.test_button.setAutoDefault(False)
        self.test_button.setToolTip("Ask the site what this token can do, feature by feature")
        self.test_status = note_label("TestStatus", shown=True)
        row = QHBoxLayout()
        row.addWidget(self.test_button)
        row.addWidget(self.test_status, 1)
        layout.addLayout(row)

        self.banner = Banner(self)
        layout.addWidget(self.banner)

        self.site_summary = QWidget()
        summary = QFormLayout(self.site_summary)
        summary.setContentsMargins(0, 0, 0, 0)
        summary.setVerticalSpacing(2)
        self._summary_labels = {key: note_label(f"Summary{key.replace(' ', '')}", "text", shown=True)
                                for key in SUMMARY_KEYS}
        for key, label in self._summary_labels.items():
            summary.addRow(f"{key}:", label)
        self.site_summary.hide()
        layout.addWidget(self.site_summary)

        self.feature_tree = self._build_tree()
        layout.addWidget(self.feature_tree, 1)
        layout.addStretch(0)  # takes the room only while the feature list is hidden

        self.test_button.clicked.connect(self.test_requested)
        self.banner.retry_requested.connect(self.test_requested)  # also makes the banner offer Retry
        theme.theme_notifier().theme_changed.connect(self._refresh_theme)
        self._refresh_theme()

    def _build_tree(self) -> QTreeView:
        tree = QTreeView()
        tree.setObjectName("FeatureTree")
        tree.setAccessibleName("What works with this token")
        tree.setModel(self._report_model)
        tree.setItemDelegate(_ReportDelegate(tree))
        tree.setWordWrap(True)
        tree.setUniformRowHeights(False)
        tree.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = tree.header()
        header.setStretchLastSection(True)
        for column in (0, 1):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self._relayout = QTimer(self, singleShot=True, interval=0)
        self._relayout.timeout.connect(tree.doItemsLayout)
        header.sectionResized.connect(lambda *_: self._relayout.start())  # wrapped rows change height
        tree.hide()
        return tree

    # -- API -------------------------------------------------------------------------------------
    def summary(self) -> dict[str, str]:
        """The site summary as shown: key ("Site", "Release", ...) -> text."""
        return {key: label.text() for key, label in self._summary_labels.items()}

    def reset(self) -> None:
        """Back to "not tested": no banner, no summary, no feature list; the button enabled."""
        self.banner.clear()
        set_note(self.test_status, IDLE_TEXT, "text_muted")
        self.test_button.setEnabled(True)
        self.site_summary.hide()
        self._report_model.set_report(None)
        self.feature_tree.hide()

    def show_testing(self, host: str) -> None:
        """A test of ``host`` is running: results cleared, the button disabled until it ends."""
        self.reset()
        self.test_button.setEnabled(False)
        set_note(self.test_status, f"Testing the connection to {host}\u2026", "text_muted")

    def show_report(self, report: DoctorReport) -> None:
        """Show a finished test: headline, site summary, features (the failing ones expanded)."""
        self.test_button.setEnabled(True)
        headline, healthy = report_headline(report)
        set_note(self.test_status, headline, "success" if healthy else "warning")
        for key, text in report_summary(report):
            self._summary_labels[key].setText(text)
        self.site_summary.show()
        self._report_model.set_report(report)
        tree = self.feature_tree
        for row in range(self._report_model.rowCount()):
            parent = self._report_model.index(row, 0)
            for child in range(self._report_model.rowCount(parent)):
                tree.setFirstColumnSpanned(child, parent, True)
            tree.setExpanded(parent, not parent.data(DoctorReportModel.AvailableRole))
        tree.show()

    def show_failure(self, err: LmsError) -> None:
        """The test could not run or the site refused it: say so, and show ``err`` in the banner."""
        self.test_button.setEnabled(True)
        set_note(self.test_status, "The connection test failed.", "error")
        self.banner.show_error(err)

    # -- internals -------------------------------------------------------------------------------
    def _refresh_theme(self, *_args) -> None:
        self.test_button.setIcon(icon("refresh"))
        for label in self.findChildren(QLabel):
            if label.property("tint"):
                tint(label, label.property("tint"))
        self.feature_tree.viewport().update()
