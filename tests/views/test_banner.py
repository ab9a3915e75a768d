"""The inline banner for expected LMS problems."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QWidget

from lms_console.services.lms.errors import (
    AuthExpired,
    Cancelled,
    PermissionDenied,
    RateLimited,
    Unreachable,
)
from lms_console.views.widgets.banner import Banner


@pytest.fixture
def banner(qtbot):
    host = QWidget()  # a banner lives inside a pane; the pane is the top-level here
    qtbot.addWidget(host)
    b = Banner(host)
    host.resize(700, 200)
    yield b  # (a generator keeps ``host``, and so the banner, alive for the test)


def _button(banner: Banner, name: str) -> QPushButton:
    return banner.findChild(QPushButton, name)


def test_hidden_until_something_is_shown(banner):
    assert banner.isHidden()


def test_shows_the_lms_code_message_and_hint(banner):
    err = PermissionDenied(
        "Sorry, but you do not currently have permissions to do that (Browse list of users).",
        code="nopermissions", function="core_user_get_users", status=200,
    )
    banner.show_error(err, retry=lambda: None)
    assert not banner.isHidden() and banner.level == "error"
    assert banner.property("level") == "error"
    assert banner.title_text() == "Permission denied"
    assert banner.code_text() == "nopermissions"
    assert banner.message_text() == err.message
    assert banner.hint_text() == err.hint and "capability" in banner.hint_text()
    assert "core_user_get_users" in banner.details_text() and "HTTP status: 200" in banner.details_text()
    assert banner.accessibleName() == "Error: Permission denied"


def test_texts_are_selectable_wrapped_plain_text(banner):
    banner.show_error(Unreachable("<b>cannot connect</b>", function="core_webservice_get_site_info"))
    message = banner.findChild(QLabel, "BannerMessage")
    assert message.wordWrap() and message.textFormat() == Qt.TextFormat.PlainText
    assert message.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByMouse
    assert message.text() == "<b>cannot connect</b>"  # shown literally, never as markup


def test_retry_hides_the_banner_calls_back_and_emits(qtbot, banner):
    calls = []
    banner.show_error(AuthExpired("Invalid token - token not found", code="invalidtoken"), retry=lambda: calls.append(1))
    retry = _button(banner, "BannerRetry")
    assert not retry.isHidden()
    with qtbot.waitSignal(banner.retry_requested):
        qtbot.mouseClick(retry, Qt.MouseButton.LeftButton)
    assert calls == [1] and banner.isHidden()


def test_retry_button_only_when_someone_can_retry(qtbot, banner):
    banner.show_error(Unreachable("down"))
    assert _button(banner, "BannerRetry").isHidden()
    banner.retry_requested.connect(lambda: None)  # a pane routing Retry through the signal
    banner.show_error(Unreachable("down"))
    assert not _button(banner, "BannerRetry").isHidden()


def test_dismiss_emits_dismissed_and_clear_does_not(qtbot, banner):
    banner.show_error(RateLimited("slow down", retry_after=30))
    assert "Retry after: 30 s" in banner.details_text()
    with qtbot.assertNotEmitted(banner.dismissed):
        banner.clear()
    assert banner.isHidden() and banner.message_text() == ""
    banner.show_error(RateLimited("slow down"))
    with qtbot.waitSignal(banner.dismissed):
        banner.findChild(QWidget, "BannerDismiss").click()
    assert banner.isHidden()


def test_details_fold_out(banner):
    banner.show_error(Unreachable("down", function="core_course_get_courses"))
    details = banner.findChild(QWidget, "BannerDetails")
    toggle = _button(banner, "BannerDetailsToggle")
    assert details.isHidden()
    toggle.click()
    assert not details.isHidden() and toggle.text() == "Hide details"
    toggle.click()
    assert details.isHidden()


def test_cancelled_is_silent_and_bugs_are_refused(banner):
    banner.show_error(Cancelled())
    assert banner.isHidden()
    with pytest.raises(TypeError, match="crash dialog"):
        banner.show_error(ZeroDivisionError("boom"))  # type: ignore[arg-type]


@pytest.mark.parametrize("level", ["info", "warning", "error"])
def test_messages_at_each_level_with_actions(qtbot, banner, level):
    pressed = []
    banner.show_message(level, "Working offline.", details="since 10:42",
                        actions=[("Go online", lambda: pressed.append("online"))])
    assert banner.level == level and banner.property("level") == level
    assert banner.message_text() == "Working offline."
    assert _button(banner, "BannerRetry").isHidden()
    go = next(b for b in banner.findChildren(QPushButton) if b.text() == "Go online")
    go.click()
    assert pressed == ["online"] and not banner.isHidden()
    banner.show_message("info", "Replaced")  # old action buttons go away
    qtbot.waitUntil(lambda: not any(b.text() == "Go online" for b in banner.findChildren(QPushButton)))


def test_unknown_level_is_rejected(banner):
    with pytest.raises(ValueError):
        banner.show_message("fatal", "x")
