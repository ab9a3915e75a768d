"""RowTableModel (the base of the flat table models) and the membership dry-run table built on it."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt

from lms_console.models.groups_import_model import DryRunTableModel
from lms_console.models.row_table import RowTableModel
from lms_console.services.importer_model import RowIssue
from lms_console.services.memberships_import import MemberClass, MemberRow

DISPLAY = Qt.ItemDataRole.DisplayRole


class _Pairs(RowTableModel):
    COLUMNS = ("Name", "Value")

    def cell(self, row, column, role):
        return row[column] if role == DISPLAY else None


def test_rows_columns_headers_and_a_reset_copy(qtmodeltester):
    model = _Pairs()
    assert (model.rowCount(), model.columnCount(), model.row_at(0)) == (0, 2, None)
    rows = [("a", "1"), ("b", "2"), ("c", "3")]
    resets = []
    model.modelReset.connect(lambda: resets.append(model.rowCount()))
    model.replace_rows(rows)
    rows.append(("d", "4"))  # the model holds its own copy
    assert resets == [3] and model.rowCount() == 3
    assert [model.headerData(i, Qt.Orientation.Horizontal) for i in range(3)] == ["Name", "Value", None]
    assert model.headerData(0, Qt.Orientation.Vertical) is None
    assert model.data(model.index(2, 1)) == "3" and model.row_at(1) == ("b", "2") and model.row_at(3) is None
    assert model.data(model.index(0, 0), Qt.ItemDataRole.ToolTipRole) is None
    assert model.rowCount(model.index(0, 0)) == 0 and model.columnCount(model.index(0, 0)) == 0
    assert model.data(QModelIndex()) is None
    qtmodeltester.check(model)


def test_membership_dry_run_table(qtmodeltester):
    tones = []
    model = DryRunTableModel(colours=lambda tone: tones.append(tone) or tone)
    issue = RowIssue(3, "user", "zed", "no such user in the local copy")
    model.set_rows([MemberRow(2, MemberClass.ADD, "ann", 5, "Cohort A"),
                    MemberRow(3, MemberClass.ERROR, "zed", None, "Cohort A", (issue,)),
                    MemberRow(4, MemberClass.UNCHANGED, "bob", 6, "Cohort A", (), ("already a member",))])
    shown = [[model.data(model.index(r, c)) for c in range(model.columnCount())] for r in range(model.rowCount())]
    assert shown[0] == ["2", "Add", "ann", "Cohort A", ""]
    assert shown[1][:4] == ["3", "Error", "zed", "Cohort A"] and "no such user" in shown[1][4]
    assert shown[2][1:] == ["Already so", "bob", "Cohort A", "already a member"]
    assert model.data(model.index(1, 1), Qt.ItemDataRole.ForegroundRole) == "error"
    assert model.data(model.index(0, 1), Qt.ItemDataRole.ForegroundRole) is None  # an add is not coloured
    assert model.data(model.index(0, 0), Qt.ItemDataRole.TextAlignmentRole) is not None
    qtmodeltester.check(model)
