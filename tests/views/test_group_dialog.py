"""The group and grouping dialogs on their own: a problem message that wraps makes room for itself."""

from __future__ import annotations

import pytest

from lms_console.views.dialogs.group_dialog import GroupDialog, GroupingDialog


def _below(upper, lower) -> bool:
    """Whether ``upper`` ends above where ``lower`` starts (both in their dialog's coordinates)."""
    top_of_lower = lower.mapTo(lower.window(), lower.rect().topLeft()).y()
    bottom_of_upper = upper.mapTo(upper.window(), upper.rect().bottomLeft()).y()
    return bottom_of_upper < top_of_lower


@pytest.mark.parametrize("make", [
    lambda: GroupingDialog(7, "LANG101", [(1, "Group A")], grouping={"id": 3, "name": "Tutorials", "idnumber": "",
                                                                       "description": "", "groups": []},
                           taken_names={"labs": 4, "tutorials": 3}),
    lambda: GroupDialog(7, "LANG101", group={"id": 3, "name": "Tutorials", "idnumber": "", "description": ""},
                        taken_names={"labs": 4, "tutorials": 3}),
], ids=["grouping", "group"])
def test_a_wrapping_name_clash_never_covers_the_next_row(qtbot, make):
    dialog = make()
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.resize(360, dialog.height())  # narrow: the message takes two or three lines
    dialog.name.setText("Labs")
    dialog.name.setModified(True)
    dialog.name.textEdited.emit("Labs")
    qtbot.waitUntil(lambda: dialog.name_problem.isVisible(), timeout=2000)
    qtbot.wait(50)
    assert "already" in dialog.name_problem.text() and not dialog.ok.isEnabled()
    assert dialog.name_problem.height() >= dialog.name_problem.heightForWidth(dialog.name_problem.width())
    assert _below(dialog.name_problem, dialog.idnumber)
