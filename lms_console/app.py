"""Composition root of the desktop console: builds every object once, wires them, runs the window.

``lms-console`` opens the last used profile; ``lms-console --demo`` starts the
sandbox LMS (a local Moodle-compatible site with seeded data) on a free
loopback port, creates or reuses the "Demo" profile, syncs and opens on it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QSettings, QTimer
from PySide6.QtWidgets import QApplication

from lms_console.models.session import ConnectionSession, Online
from lms_console.models.tasks import TaskRunner
from lms_console.services.paths import config_dir, data_dir
from lms_console.views import theme
from lms_console.views.main_window import MainWindow

# The profile store, the keychain, the crash handler and the panes are made after the window's
# first paint (see ConsoleApp._after_first_paint): start-up shows the window as early as it can.

# Set by benchmarks/bench_startup.py: print the time of the first paint and quit.
STARTUP_PROBE_ENV = "LMS_CONSOLE_STARTUP_PROBE"

log = logging.getLogger(__name__)

DEMO_PROFILE = "Demo"
DEMO_USERS = 2000
# Opening a profile whose copy was completely synced within this long does not sync it again (F5 does).
AUTO_SYNC_AFTER_S = 30 * 60
# A profile moved to another site whose old copy is still in use (a sync stopping): how long to wait before each
# new look whether it was set aside, so that the profile opens at its new address by itself (the last one repeats).
REOPEN_MOVED_RETRY_MS = (500, 1000, 2000, 5000)


def gui_settings() -> QSettings:
    """Versioned window settings, in the same config dir as the profiles (never a secret in there)."""
    path = Path(config_dir()) / "gui.ini"
    path.parent.mkdir(parents=True, exist_ok=True)
    return QSettings(str(path), QSettings.Format.IniFormat)


def _connection_settings(profile) -> tuple:
    """What of a profile the open connection works with (not its name, its times, its local copy)."""
    return profile.url, profile.backend, profile.insecure, profile.service


class DemoSite:
    """The sandbox LMS in a subprocess, its data kept in the data dir so the demo persists."""

    def __init__(self, users: int = DEMO_USERS) -> None:
        self.users = users
        self.process = None

    def start(self, progress=None, cancel=None):
        from lms_console.sandbox import SandboxProcess

        folder = Path(data_dir()) / "demo-site"
        folder.mkdir(parents=True, exist_ok=True)
        self.process = SandboxProcess(users=self.users, path=folder / "site.sqlite", startup_timeout=300).start()
        return self.process.url, self.process.admin_token

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None


class ConsoleApp(QObject):
    """Wires profiles, the session and the window; handles profile switching and the demo site."""

    def __init__(self, app: QApplication, demo: bool = False) -> None:
        super().__init__()
        self.app = app
        self.settings = gui_settings()
        self.theme_name = str(self.settings.value("ui/theme", "system"))
        theme.apply_theme(app, self.theme_name)
        self.runner = TaskRunner(http_workers=8)
        self._tokens = None
        self._profiles = None
        self.session = ConnectionSession(self.runner)
        self.window = MainWindow(self.session, self.settings, deferred=True)
        self.demo = DemoSite() if demo else None
        self._dialog = None
        self._profiles_controller = None
        self._import = None
        self._awaiting_token: str | None = None  # the profile that could not open for want of a token
        # The open profile reconnecting with a token or settings just saved: (its name, what to say once it answers).
        self._reconnecting: tuple[str, str] | None = None
        self._reopen_waiting: str | None = None  # the moved profile that opens once its old copy is set aside

    # The keychain (keyring probes D-Bus) and the profile store are made after the
    # window has painted, when first needed.
    @property
    def tokens(self):
        if self._tokens is None:
            from lms_console.services.credentials import KeyringTokenStore, SessionFallbackTokenStore

            self._tokens = SessionFallbackTokenStore(KeyringTokenStore())
        return self._tokens

    @property
    def profiles(self):
        if self._profiles is None:
            from lms_console.services.profiles import ProfileStore

            self._profiles = ProfileStore(tokens=self.tokens)
        return self._profiles

    # -- start-up --------------------------------------------------------------------
    def start(self) -> None:
        """Show the window; open the profile (or the demo) once it has painted."""
        self._painted = _FirstPaint(self.window, self._after_first_paint)
        self.window.show()

    def _after_first_paint(self) -> None:
        import time

        probe = os.environ.get(STARTUP_PROBE_ENV)
        self._complete_window()
        if probe:
            print(f"WINDOW_COMPLETE {time.time():.6f}", flush=True)
            QTimer.singleShot(0, self.app.quit)
            return
        self._refresh_profile_list()
        if self.demo is not None:
            self.window.sync_label.setText("Starting the demo site…")
            self.runner.run("demo-site", lambda p, c: self.demo.start(), label="Start the demo site",
                            on_done=self._demo_started, on_error=self._demo_failed)
            return
        last = self.profiles.last_used()
        if last is not None:
            self.open_profile(last.name)
        else:
            self.open_profiles_dialog()

    def _complete_window(self) -> None:
        from lms_console.models.changes_model import ChangeEngine
        from lms_console.views import crash_handler
        from lms_console.views.changes_wiring import install_change_views
        from lms_console.views.content_wiring import install_content_views
        from lms_console.views.groups_wiring import install_groups_views
        from lms_console.views.reports_wiring import install_reports_views
        from lms_console.views.users_wiring import install_users_views

        self.window.complete()
        self.engine = ChangeEngine(self.session, self)
        self.change_views = install_change_views(self.window, self.engine)
        self.users_views = install_users_views(self.window, self.session, self.engine, self.settings,
                                               on_import=self._open_import)
        self.reports_pane = install_reports_views(self.window, self.session)
        self.reports_pane.users_requested.connect(self.users_views.show_users)
        self.reports_pane.user_requested.connect(self.users_views.open_user)
        self.content_views = install_content_views(self.window, self.session, self.engine)
        self.groups_views = install_groups_views(self.window, self.session, self.engine)
        self.window.set_theme_choice(self.theme_name)
        crash_handler.install(parent=self.window)
        self.runner.job_failed.connect(self._on_job_failed)
        self.window.profiles_requested.connect(self.open_profiles_dialog)
        self.window.profile_switch_requested.connect(self.switch_profile)
        self.window.theme_change_requested.connect(self.set_theme)
        self.session.opened.connect(lambda _p: QTimer.singleShot(0, self._sync_on_connect))
        # The toolbar's profile box always shows the open profile (none while none is open).
        self.session.opened.connect(self._refresh_profile_list)
        self.session.closed.connect(self._refresh_profile_list)
        self.session.closed.connect(self.window.connection_indicator.set_no_profile)
        self.session.state_changed.connect(self._say_new_token_accepted)

    def _open_import(self):
        from lms_console.views.import_wiring import install_import_dialog

        if self._import is None:
            self._import = install_import_dialog(self.window, self.session, self.engine)
        return self._import()

    def _demo_started(self, result) -> None:
        from lms_console.services.profiles import ProfileNotFound
        from lms_console.views import crash_handler

        url, token = result
        try:
            self.profiles.get(DEMO_PROFILE)
            # The same demo site at this run's port: its local copy stays its own.
            self.profiles.update(DEMO_PROFILE, url=url, keep_token_on_host_change=True, same_site=True)
        except ProfileNotFound:
            self.profiles.add(DEMO_PROFILE, url)
        # A local, throw-away token: kept for this session only, never written to the keychain.
        self.tokens.set(DEMO_PROFILE, token, session_only=True)
        crash_handler.register_secret(token)
        self._refresh_profile_list()
        self.open_profile(DEMO_PROFILE)

    def _demo_failed(self, exc: BaseException) -> None:
        self.window.sync_label.setText("")
        self.window.banner.show_message("error", f"The demo site could not start: {exc}",
                                        title="Demo site unavailable")

    def _sync_on_connect(self) -> None:
        """Sync after opening a profile, unless its copy is complete and recent: a sync of a 50,000-account
        site costs tens of thousands of requests (course progress is one per user), too many to spend on
        every switch between profiles."""
        if not self.session.is_open or self.session.syncing:
            return
        if self.session.stale_entities(AUTO_SYNC_AFTER_S):
            self.session.sync()
        else:
            self.window.sync_label.setText(f"Synced less than {AUTO_SYNC_AFTER_S // 60} minutes ago; F5 syncs now.")

    # -- profiles ----------------------------------------------------------------------
    def switch_profile(self, name: str) -> None:
        """The toolbar's profile box: open ``name`` unless it is the open profile already."""
        if self.session.is_open and self.session.profile.name == name:
            return
        self.open_profile(name)

    def open_profile(self, name: str) -> None:
        """Open profile ``name`` with its stored token, else ``$LMS_CONSOLE_TOKEN``; say plainly when there is none.
        User dialogs with edits never sent ask first (the window's question): Cancel leaves the open profile open."""
        from lms_console.services.credentials import KeychainLocked, KeychainUnavailable, TokenMissing, resolve_token
        from lms_console.services.lms.errors import LmsError
        from lms_console.services.profiles import ProfileError

        try:
            profile = self.profiles.get(name)
        except ProfileError as exc:
            self.window.show_problem(exc)
            self._refresh_profile_list()
            return
        if not self._old_copy_set_aside(profile.name):
            return
        try:
            # The stored token first, else $LMS_CONSOLE_TOKEN (also when there is no keychain at all).
            token = resolve_token(profile, self.tokens)
        except KeychainUnavailable:
            self._token_needed(profile.name, f"No token for {profile.name}: this computer has no keychain, so "
                                             "tokens are kept for one session only. Open Profiles\u2026 to enter it.")
            return
        except TokenMissing:
            self._token_needed(profile.name, f"No token is stored for {profile.name}. Paste one in the "
                                             "Profiles dialog.")
            return
        except KeychainLocked as exc:
            self.window.banner.show_message("warning", f"{exc.message} {exc.hint}", title="Keychain locked",
                                            actions=[("Try again", lambda: self.open_profile(profile.name))])
            self._refresh_profile_list()
            return
        except LmsError as exc:  # a malformed $LMS_CONSOLE_TOKEN, a keychain error
            self.window.show_problem(exc)
            self._refresh_profile_list()
            return
        # Opening it closes the open profile and its user dialogs: edits in them never sent are asked about first.
        if self.window.ask_discard_unsent_edits(lambda: self._open(profile, token),
                                                f"open \u201c{profile.name}\u201d") is not None:
            self._refresh_profile_list()  # the box shows the open profile until the admin answers
            return
        self._open(profile, token)

    def _open(self, profile, token) -> None:
        from lms_console.views import crash_handler

        crash_handler.register_secret(token.reveal())
        self.profiles.set_last_used(profile.name)
        self._awaiting_token = self._reconnecting = None
        self.session.open(profile, token)  # opened / closed refresh the profile box
        self._refresh_profile_list()

    def _old_copy_set_aside(self, name: str) -> bool:
        """A profile moved to another site opens only once its local copy of the old site is set aside (it is
        as soon as nothing has it open: see ProfilesController.update); False, said in the banner, if not yet.
        While no profile is open, it then opens by itself as soon as its old copy is set aside."""
        if self._profiles_controller is None:
            return True
        by_itself = not self.session.is_open
        try:
            waiting = self._profiles_controller.finish_set_aside(name)
            why = ("it is still in use (a sync or run of it still stopping): it opens by itself as soon as that has "
                   "stopped" if by_itself else "it is still in use (a sync or run of it still stopping): try again "
                   "in a moment")
        except OSError as exc:
            waiting, by_itself, why = True, False, f"it cannot be renamed ({exc.strerror or exc})"
        if waiting:
            self.window.banner.show_message(
                "warning", f"“{name}” cannot open at its new address yet: its local copy of the old site "
                           f"must be set aside first, and {why}.", title="Not opened yet",
                actions=[("Try again", lambda: self._open_moved_profile(name))])
            self._refresh_profile_list()
            if by_itself:
                self._reopen_once_set_aside(name)
        return not waiting

    def _reopen_once_set_aside(self, name: str, attempt: int = 0) -> None:
        """Look again in a moment whether the old copy of moved profile ``name`` was set aside, and open it then
        (unless the admin opened a profile meanwhile, or removed this one). One such wait at a time."""
        if attempt == 0 and self._reopen_waiting == name.casefold():
            return
        self._reopen_waiting = name.casefold()
        delay = REOPEN_MOVED_RETRY_MS[min(attempt, len(REOPEN_MOVED_RETRY_MS) - 1)]
        QTimer.singleShot(delay, self, lambda: self._look_again_set_aside(name, attempt + 1))

    def _look_again_set_aside(self, name: str, attempt: int) -> None:
        ctl = self._profiles_controller
        if self._reopen_waiting != name.casefold():
            return
        if self.session.is_open or not self.profiles.exists(name):
            self._reopen_waiting = None  # a profile was opened meanwhile (this one, or another), or this one removed
            return
        try:
            waiting = ctl.finish_set_aside(name, wait_s=0)
        except OSError:
            waiting = None  # said, when opening it tries again (below)
        if waiting is not None:
            self._reopen_once_set_aside(name, attempt)
            return
        self._reopen_waiting = None
        self._open_moved_profile(name)

    def _token_needed(self, name: str, message: str) -> None:
        """No token to open ``name`` with: say so, offer the Profiles dialog; the open profile (if any) stays."""
        self.window.banner.show_message("warning", message, title="Token needed",
                                        actions=[("Open Profiles\u2026", self.open_profiles_dialog)])
        if not self.session.is_open:
            self.window.connection_indicator.set_token_needed(name)
            self._awaiting_token = name  # it opens as soon as a token is stored for it (_use_stored_token)
        self._refresh_profile_list()  # the box goes back to the profile that is really open

    def _use_stored_token(self, name: str, _session_only: bool) -> None:
        """A token was stored for profile ``name`` (Profiles dialog: pasted, or from sign-in): it is used at once.
        The open profile goes on with it (its connection is checked again, so a refused token's banner and the
        status bar follow, and Retry and F5 use it); the profile shown as "Token needed" opens now. (An open
        profile moved to another site by the same Save opens again there by itself: _reconnect_moved_profile.)"""
        if self.session.is_open and self.session.profile.name.casefold() == name.casefold():
            self._reconnect_with_new_token()
        elif not self.session.is_open and (self._awaiting_token or "").casefold() == name.casefold():
            self.open_profile(name)

    def _reconnect_with_new_token(self) -> None:
        from lms_console.services.credentials import resolve_token
        from lms_console.services.lms.errors import LmsError
        from lms_console.views import crash_handler

        try:
            profile = self._saved_open_profile()
            token = resolve_token(profile, self.tokens) if profile is not None else None
        except LmsError as exc:
            self.window.show_problem(exc)
            return
        if profile is None:
            return  # moved to another site: it is closed and opened again there (ProfilesController.update)
        crash_handler.register_secret(token.reveal())
        self._reconnect(profile, token, "the new token", "The site accepts the new token")

    def _apply_saved_settings(self, profile) -> None:
        """Profile ``profile`` was saved (Profiles dialog): when it is the open one, it goes on at once with its
        saved settings (its service; the insecure-HTTP consent) and the token it has. Looked at once the Save
        is done: a token saved with it is used with them already (:meth:`_use_stored_token`), and a profile
        moved to another site opens again there (:meth:`_reconnect_moved_profile`)."""
        QTimer.singleShot(0, lambda name=profile.name: self._reconnect_with_saved_settings(name))

    def _reconnect_with_saved_settings(self, name: str) -> None:
        from lms_console.services.lms.errors import LmsError

        if not self.session.is_open or self.session.profile.name.casefold() != name.casefold():
            return
        try:
            profile = self._saved_open_profile()
        except LmsError as exc:
            self.window.show_problem(exc)
            return
        if profile is not None and _connection_settings(profile) != _connection_settings(self.session.profile):
            self._reconnect(profile, None, "its saved settings", "The site answers with the saved settings")

    def _saved_open_profile(self):
        """The open profile as saved now; None when it was moved to another site (raises ProfileError)."""
        from lms_console.services.cache.site_binding import site_key

        profile = self.profiles.get(self.session.profile.name)
        return profile if site_key(profile.url) == site_key(self.session.profile.url) else None

    def _reconnect(self, profile, token, uses: str, accepted: str) -> None:
        """The open profile goes on with ``profile``'s settings and ``token`` (None: the one it has), its
        connection checked again: the banner says so (offline, it says so until the site answers again)."""
        if self.session.state.status != Online.OFFLINE:
            self._reconnecting = (profile.name, f"{accepted}: \u201c{profile.name}\u201d is connected again.")
            self.window.banner.show_message("info", f"\u201c{profile.name}\u201d now uses {uses}: "
                                                    "reconnecting\u2026", title="Reconnecting")
        self.session.use_token(profile, token)

    def _say_new_token_accepted(self, state) -> None:
        """After :meth:`_reconnect`: say when the site accepts the new token or settings (a refusal, or no
        answer, the window says as for any connection check)."""
        if self._reconnecting is None or state.status == Online.CONNECTING:
            return
        (name, message), self._reconnecting = self._reconnecting, None
        if state.status == Online.ONLINE and self.session.is_open and self.session.profile.name == name:
            self.window.banner.show_notice(message, title="Reconnected")
            self.window.forget_sync_failure()  # it failed with the old token or settings

    def _refresh_profile_list(self, *_args) -> None:
        from lms_console.services.lms.errors import LmsError

        try:
            names = [p.name for p in self.profiles.list()]
        except LmsError:
            names = []
        current = self.session.profile.name if self.session.is_open else None
        self.window.set_profiles(names, current)
        combo = self.window.profile_combo
        combo.setPlaceholderText("No profile")
        if current not in names:
            combo.blockSignals(True)
            combo.setCurrentIndex(-1)  # QComboBox shows its first entry otherwise, as if it were open
            combo.blockSignals(False)
        if self._profiles_controller is not None:
            self._profiles_controller.set_open_profile(current)

    def _close_removed_profile(self, name: str) -> None:
        """The open profile is about to be removed, or moved to another address: close it first (nothing
        may sync against it, or read the old address's copy for the new one)."""
        if self.session.is_open and self.session.profile.name.casefold() == name.casefold():
            self.session.close()
            self.window.sync_label.setText("")
            self.window.banner.show_message(
                "info", f"The profile \u201c{name}\u201d was closed: it was removed, or its address changed. "
                        "Choose or add a profile in the Profiles dialog.",
                actions=[("Open Profiles\u2026", self.open_profiles_dialog)])

    def _reconnect_moved_profile(self, profile) -> None:
        """The open profile was moved to another site (closed, its old copy set aside): open it again there.

        It opens once the writer thread has closed the old copy and set it aside (nothing of it may be open
        next to the new one), which is also after the Profiles dialog stored a token typed with the new
        address (same Save). A sync of the old copy still stopping keeps it open longer: it opens after that.
        """
        waits = self._profiles_controller is not None and \
            profile.name.casefold() in self._profiles_controller.waiting_set_aside()
        once = (" once its local copy of the old site is set aside (a sync or run of it is still stopping)"
                if waits else "")
        self.window.banner.show_message("info", f"The address of “{profile.name}” changed to {profile.url}: "
                                                f"reconnecting{once}…", title="Reconnecting")
        self.runner.run("reopen-moved-profile", lambda _p, _c: None, writer=True, quiet=True,
                        on_done=lambda _r, name=profile.name: self._reopen_moved_profile(name))

    def _reopen_moved_profile(self, name: str) -> None:
        if self.session.is_open or not self.profiles.exists(name):
            return  # the admin opened another profile meanwhile, or removed this one
        self._open_moved_profile(name)

    def _open_moved_profile(self, name: str) -> None:
        """Open moved profile ``name`` and say where, and what became of its old copy: a copy set aside or put
        back is said until dismissed (the main window says it nowhere else), a plain reconnection is a notice."""
        self.open_profile(name)  # no token, no keychain, old copy still in use: it says so, as for any profile
        if not self.session.is_open or self.session.profile.name.casefold() != name.casefold():
            return
        profile = self.session.profile  # the connection states (connecting, offline, token refused) follow as usual
        note = self._profiles_controller.moved_copy_note(name) if self._profiles_controller is not None else ""
        text = " ".join(filter(None, (f"“{profile.name}” was opened again at its new address, {profile.url}.", note)))
        if note:
            self.window.banner.show_message("info", text, title="Reconnected")
        else:
            self.window.banner.show_notice(text, title="Reconnected")

    def open_profiles_dialog(self) -> None:
        from PySide6.QtCore import Qt

        from lms_console.models.profiles_controller import ProfilesController
        from lms_console.views.dialogs.profiles_dialog import ProfilesDialog

        if self._dialog is not None and self._dialog.isVisible():
            self._dialog.raise_()
            return
        if self._profiles_controller is None:
            self._profiles_controller = ProfilesController(self.profiles, self.tokens, self.runner, parent=self)
            self._profiles_controller.set_open_profile(self.session.profile.name if self.session.is_open else None)
            self._profiles_controller.profile_closing.connect(self._close_removed_profile)
            self._profiles_controller.profile_moved.connect(self._reconnect_moved_profile)
            self._profiles_controller.token_stored.connect(self._use_stored_token)
            self._profiles_controller.profile_saved.connect(self._apply_saved_settings)
        self._dialog = ProfilesDialog(self._profiles_controller, parent=self.window)
        self._dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._dialog.destroyed.connect(self._forget_dialog)
        # Back to the main window (its notices count down while it is the active window: Banner.show_notice).
        self._dialog.finished.connect(lambda _result: self.window.activateWindow())
        self._dialog.connect_requested.connect(self.open_profile)
        self._dialog.profiles_changed.connect(self._refresh_profile_list)
        self._dialog.open()

    def _forget_dialog(self) -> None:
        self._dialog = None

    # -- misc ------------------------------------------------------------------------
    def set_theme(self, name: str) -> None:
        self.theme_name = name
        theme.apply_theme(self.app, name)
        self.settings.setValue("ui/theme", name)

    def _on_job_failed(self, info, exc) -> None:
        from lms_console.views import crash_handler

        if info.is_bug:
            crash_handler.report_job_failure(info, exc)

    def shutdown(self) -> None:
        from lms_console.views import crash_handler

        self.session.close()
        self.runner.shutdown(wait=True)
        if self._profiles_controller is not None:  # a moved profile's old copy still waiting is set aside now
            # (Its cache was not closed by the writer thread, stopped now: nothing else opens it before exit.)
            for name in self._profiles_controller.waiting_set_aside():
                with contextlib.suppress(OSError):
                    self._profiles_controller.finish_set_aside(name, anyway=True)
        if self.demo is not None:
            self.demo.stop()
        crash_handler.uninstall()
        self.settings.sync()


class QuitOnSignals(QObject):
    """SIGTERM (and SIGHUP on POSIX) end the console the way File > Quit does: ``on_signal`` runs in
    the event loop (it closes the window and quits the loop), so ``main``'s shutdown runs (the demo
    site's subprocess is stopped, the cache closed, the settings written).

    Python runs its signal handlers only when the interpreter gets control, which it seldom has while
    Qt's loop waits. ``signal.set_wakeup_fd`` makes the C-level handler write the signal's number to a
    socket that a QSocketNotifier watches: the loop wakes up and the number says which signal came.

    Signals: none.
    """

    def __init__(self, on_signal, signals=None, parent: QObject | None = None) -> None:
        import signal
        import socket

        from PySide6.QtCore import QSocketNotifier

        super().__init__(parent)
        if signals is None:
            signals = [signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
        self._on_signal = on_signal
        self._signals = {int(s) for s in signals}
        self._read, self._write = socket.socketpair()
        for sock in (self._read, self._write):
            sock.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._write.fileno(), warn_on_full_buffer=False)
        # A Python-level handler must be set (the default one ends the process at once); the work is
        # done in _wake, in the event loop.
        self._previous = {s: signal.signal(s, self._noop) for s in self._signals}
        self._notifier = QSocketNotifier(self._read.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._wake)
        self.received: list[int] = []

    @staticmethod
    def _noop(_signum, _frame) -> None:
        pass

    def _wake(self, *_args) -> None:
        try:
            data = self._read.recv(64)
        except (BlockingIOError, InterruptedError):
            return
        wanted = [n for n in data if n in self._signals]
        if wanted:
            self.received.extend(wanted)
            log.info("signal %s received: quitting", wanted[0])
            self._on_signal()

    def uninstall(self) -> None:
        import signal

        if self._read is None:
            return
        self._notifier.setEnabled(False)
        for s, previous in self._previous.items():
            signal.signal(s, previous if previous is not None else signal.SIG_DFL)
        signal.set_wakeup_fd(self._previous_fd)
        self._read.close()
        self._write.close()
        self._read = self._write = None


class _FirstPaint(QObject):
    """Calls ``callback`` once, right after ``widget`` is first painted."""

    def __init__(self, widget, callback) -> None:
        super().__init__(widget)
        self._callback = callback
        widget.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Paint and self._callback is not None:
            if os.environ.get(STARTUP_PROBE_ENV):
                import time

                print(f"FIRST_PAINT {time.time():.6f}", flush=True)
            callback, self._callback = self._callback, None
            obj.removeEventFilter(self)
            QTimer.singleShot(0, callback)
        return False


def main(args=None) -> int:
    app = QApplication.instance() or theme.new_application(sys.argv[0] if sys.argv else "lms-console")
    app.setApplicationName("LMS Console")
    app.setOrganizationName("lms-console")
    app.setDesktopFileName("lms-console")
    console = ConsoleApp(app, demo=bool(getattr(args, "demo", False)))

    def quit_now() -> None:  # as File > Quit: the window closes (its settings are saved), the loop ends
        console.window.close_discarding()  # a signal: no one may be there to answer a question
        app.quit()

    signals = QuitOnSignals(quit_now)
    console.start()
    try:
        return app.exec()
    finally:
        console.shutdown()
        signals.uninstall()
