"""The content pane in the main window, against the sandbox: navigation, details, open in
browser, downloads, drag-and-drop uploads onto sections and activities, and course, section
and activity changes through the ChangeEngine's preview."""

from __future__ import annotations

import os

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QFileDialog, QInputDialog

from lms_console.models.content_model import RefRole
from lms_console.models.nav_model import NavTarget
from lms_console.sandbox.server import SandboxServer
from lms_console.sandbox.settings import SandboxSettings
from lms_console.services.changes import Change
from lms_console.services.uploads import State
from lms_console.views import content_actions
from lms_console.views.content_tree import dropped_from_mime
from lms_console.views.content_wiring import install_content_views
from lms_console.views.dialogs.course_dialog import CourseDialog, PickDialog

WAIT = 30000
LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def server():
    site = SandboxServer(users=40, courses=3, seed=47).start()
    yield site
    site.stop()


def _console(qtbot, change_console, server):
    session, engine, window, changes, content = change_console(
        server, ("site", "categories", "courses", "contents"), install_content_views)
    window.resize(1300, 850)
    window.show()
    qtbot.waitUntil(lambda: content.tree_model.index_of("course", 2).isValid()
                    and window.nav_model.find("course", 2).isValid(), timeout=WAIT)
    return session, engine, window, changes, content


@pytest.fixture
def console(qtbot, server, change_console):
    _session, engine, window, changes, content = _console(qtbot, change_console, server)
    yield engine, window, changes, content
    if content.pane.actions.dialog is not None:
        content.pane.actions.dialog.close()


def show_course(qtbot, window, content, courseid=2):
    """Navigate to a course like the admin does: its node in the navigation tree."""
    index = window.nav_model.find("course", courseid)
    with qtbot.waitSignal(content.tree_model.course_loaded, timeout=WAIT):
        window.nav.setCurrentIndex(window._nav_proxy.mapFromSource(index))
    assert window.stack.currentWidget() is content.pane
    return content.pane


def select(qtbot, pane, kind, ident):
    source = pane.tree_model.index_of(kind, ident)
    assert source.isValid(), (kind, ident)
    index = pane._proxy.mapFromSource(source)
    pane.tree.scrollTo(index)
    with qtbot.waitSignal(pane.details_model.loaded, timeout=WAIT):
        pane.tree.setCurrentIndex(index)
    return index


def first_module(pane, modname, courseid=2):
    return next(m for s in pane.tree_model.sections_of(courseid) for m in pane.tree_model.modules_of(s.id)
                if m.modname == modname)


def apply_preview(qtbot, engine, changes, *, confirm=False):
    qtbot.waitUntil(lambda: changes.preview is not None and changes.preview.isVisible(), timeout=WAIT)
    if confirm:
        changes.preview.confirm_check.setChecked(True)
    with qtbot.waitSignal(engine.applied, timeout=WAIT) as applied:
        qtbot.mouseClick(changes.preview.apply_button, LEFT)
    qtbot.waitUntil(lambda: changes.results is not None, timeout=WAIT)
    changes.results.close()
    return applied.args[0]


def site_modules(server, courseid, sectionid):
    with server.store.connection() as conn:
        seq = conn.execute("SELECT sequence FROM course_sections WHERE id = ?", (sectionid,)).fetchone()[0]
        ids = [int(x) for x in (seq or "").split(",") if x]
        names = {r[0]: r[1] for r in conn.execute(
            "SELECT cm.id, mi.name FROM course_modules cm JOIN modinstance mi ON mi.modname = cm.modname "
            "AND mi.id = cm.instance WHERE cm.course = ?", (courseid,))}
    return [(i, names.get(i)) for i in ids]


def drag_and_drop(qtbot, tree, index, mime: QMimeData) -> tuple[bool, str]:
    """A drag from the desktop entering the tree and dropped on ``index`` (positions as QPointF)."""
    hints = []
    tree.drop_hint.connect(hints.append)
    pos = QPointF(tree.visualRect(index).center())
    actions, buttons, mods = Qt.DropAction.CopyAction, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(pos.toPoint(), actions, mime, buttons, mods)
    QApplication.sendEvent(tree.viewport(), enter)
    move = QDragMoveEvent(pos.toPoint(), actions, mime, buttons, mods)
    QApplication.sendEvent(tree.viewport(), move)
    drop = QDropEvent(pos, actions, mime, buttons, mods)
    QApplication.sendEvent(tree.viewport(), drop)
    return drop.isAccepted(), (hints[1] if len(hints) > 1 else "")


def local_files(tmp_path, *names):
    mime = QMimeData()
    urls = []
    for name, size in names:
        path = tmp_path / name
        if size is None:
            path.mkdir()
            (path / "inside.txt").write_text("inside")
        else:
            path.write_bytes(os.urandom(size) if size else b"")
        urls.append(QUrl.fromLocalFile(str(path)))
    mime.setUrls(urls)
    return mime


def test_one_pane_for_categories_a_category_and_a_course(qtbot, console):
    _engine, window, _changes, content = console
    pane = content.pane
    for kind in ("categories", "category", "course"):
        assert window.show_pane(kind) is pane
    pane.show_target(NavTarget("category", 2, "Faculty of Engineering"))
    assert pane.title.text() == "Faculty of Engineering"
    assert pane.tree.rootIndex().data(RefRole).id == 2
    pane = show_course(qtbot, window, content)
    assert pane.title.text().startswith("CS101")
    assert pane._proxy.rowCount(pane.tree.rootIndex()) >= 5  # the sections are the top rows


def test_details_open_in_browser_and_download(qtbot, console, tmp_path, monkeypatch):
    _engine, window, _changes, content = console
    pane = show_course(qtbot, window, content)
    resource = first_module(pane, "resource")
    select(qtbot, pane, "module", resource.id)
    fields = dict(content.details_model.current.fields)
    assert fields["Type"] == "File" and fields["Visibility"] == "Visible"
    assert pane.details_view.files.isVisibleTo(pane) and pane.actions.download.isEnabled()
    opened = []
    monkeypatch.setattr(content_actions.QDesktopServices, "openUrl", lambda url: opened.append(url.toString()))
    qtbot.mouseClick(pane.details_view.open_button, LEFT)
    assert opened == [f"{content.session.site.siteurl}/mod/resource/view.php?id={resource.id}"]
    assert "token" not in opened[0]
    pane.actions.download.trigger()
    dialog = pane.actions.dialog
    assert isinstance(dialog, QFileDialog) and dialog.isVisible() and dialog.isModal()
    target = tmp_path / "copy.bin"
    with qtbot.waitSignal(content.details_model.download_finished, timeout=WAIT):
        dialog.fileSelected.emit(str(target))
    assert target.stat().st_size == content.details_model.files.file_at(0).size
    assert "Saved" in pane.banner.message_text()
    dialog.close()


def test_files_and_a_folder_dropped_on_a_section_are_uploaded_there(qtbot, console, server, tmp_path):
    _engine, window, _changes, content = console
    pane = show_course(qtbot, window, content)
    section = pane.tree_model.sections_of(2)[2]
    index = select(qtbot, pane, "section", section.id)
    mime = local_files(tmp_path, ("week notes.pdf", 40_000), ("Handouts", None))
    accepted, hint = drag_and_drop(qtbot, pane.tree, index, mime)
    assert accepted and hint == f"Drop to add at the end of “{section.name}”."
    uploads = content.uploads
    qtbot.waitUntil(lambda: len(uploads.model.items()) == 3 and all(i.state == State.DONE
                                                                     for i in uploads.model.items()), timeout=WAIT)
    assert [n for _i, n in site_modules(server, 2, section.id)][-2:] == ["week notes", "Handouts"]
    qtbot.waitUntil(lambda: {m.name for m in pane.tree_model.modules_of(section.id)} >= {"week notes", "Handouts"},
                    timeout=WAIT)  # the tree shows the new activities (the course was re-read)
    assert pane.queue_panel.totals.text().startswith("2 of 2 done")  # files; the folder is their parent


def test_dropped_on_an_activity_goes_right_after_it_and_links_become_url_activities(qtbot, console, server, tmp_path):
    _engine, window, _changes, content = console
    pane = show_course(qtbot, window, content)
    section = pane.tree_model.sections_of(2)[1]
    anchor = pane.tree_model.modules_of(section.id)[0]
    index = select(qtbot, pane, "module", anchor.id)
    mime = QMimeData()
    mime.setUrls([QUrl("https://example.org/reading")])
    mime.setData("text/x-moz-url", "https://example.org/reading\nFurther reading".encode("utf-16-le"))
    accepted, hint = drag_and_drop(qtbot, pane.tree, index, mime)
    assert accepted and hint == "Drop to add right after this activity."
    qtbot.waitUntil(lambda: [i.state for i in content.uploads.model.items()] == [State.DONE], timeout=WAIT)
    ids = [i for i, _n in site_modules(server, 2, section.id)]
    names = dict(site_modules(server, 2, section.id))
    assert names[ids[1]] == "Further reading" and ids[0] == anchor.id


def test_a_drop_on_a_course_or_category_is_refused_and_says_why(qtbot, console, tmp_path):
    _engine, window, _changes, content = console
    pane = content.pane
    window.go_to("categories")
    pane.show_target(NavTarget("categories"))
    category = pane._proxy.index(0, 0, pane.tree.rootIndex())
    accepted, hint = drag_and_drop(qtbot, pane.tree, category, local_files(tmp_path, ("x.txt", 10)))
    assert not accepted and "onto a section or an activity" in hint
    assert content.uploads.model.items() == []


@pytest.fixture
def server_without_plugin():
    site = SandboxServer(users=20, courses=2, seed=53, settings=SandboxSettings(enable_sync_service=False)).start()
    yield site
    site.stop()


def test_without_the_plugin_a_drop_shows_what_the_site_needs(qtbot, server_without_plugin, change_console, tmp_path):
    _session, _engine, window, _changes, content = _console(qtbot, change_console, server_without_plugin)
    pane = show_course(qtbot, window, content)
    section = pane.tree_model.sections_of(2)[1]
    index = select(qtbot, pane, "section", section.id)
    accepted, _hint = drag_and_drop(qtbot, pane.tree, index, local_files(tmp_path, ("a.pdf", 100)))
    assert accepted
    qtbot.waitUntil(lambda: pane.banner.isVisible(), timeout=WAIT)
    assert "local_sync_service" in pane.banner.message_text()
    [row] = content.uploads.model.items()
    assert row.state == State.REFUSED


def test_dropped_urls_carry_their_titles():
    mime = QMimeData()
    mime.setUrls([QUrl("https://example.org/a"), QUrl.fromLocalFile("/tmp/some file.pdf")])
    mime.setData("text/x-moz-url", "https://example.org/a\nA page".encode("utf-16-le"))
    web, local = dropped_from_mime(mime)
    assert (web.url, web.title) == ("https://example.org/a", "A page") and local.path == "/tmp/some file.pdf"


def show_categories(qtbot, window, content):
    window.go_to("categories")
    assert window.stack.currentWidget() is content.pane and not content.pane.tree.rootIndex().isValid()
    return content.pane


def test_create_a_course_then_duplicate_hide_and_delete_it(qtbot, console, server):
    engine, window, changes, content = console
    pane = show_categories(qtbot, window, content)
    select(qtbot, pane, "category", 3)
    pane.actions.new_course.trigger()
    dialog = pane.actions.dialog
    assert isinstance(dialog, CourseDialog) and not dialog.ok.isEnabled()
    assert dialog.category.currentData() == 3  # the selected category
    dialog.fullname.setText("Algorithms")
    dialog.shortname.setText("CS101")  # taken: said at once
    assert not dialog.ok.isEnabled() and "already used" in dialog.problem.text()
    dialog.shortname.setText("ALG1")
    with qtbot.waitSignal(engine.planned, timeout=WAIT):
        qtbot.mouseClick(dialog.ok, LEFT)
    summary = apply_preview(qtbot, engine, changes)
    new_id = summary.results[0].result["id"]
    qtbot.waitUntil(lambda: pane.tree_model.index_of("course", new_id).isValid(), timeout=WAIT)
    with server.store.connection() as conn:
        assert conn.execute("SELECT fullname, category FROM course WHERE id = ?", (new_id,)).fetchone()[0] == \
            "Algorithms"

    select(qtbot, pane, "course", 2)
    server.set_faults(latency_ms=400)  # the copy takes a while: the pane says it is in progress
    pane.actions.duplicate_course.trigger()
    dialog = pane.actions.dialog
    dialog.shortname.setText("CS101-B")
    with qtbot.waitSignal(engine.planned, timeout=WAIT):
        qtbot.mouseClick(dialog.ok, LEFT)
    qtbot.waitUntil(lambda: changes.preview is not None and changes.preview.isVisible(), timeout=WAIT)
    with qtbot.waitSignal(engine.applied, timeout=WAIT) as applied:
        qtbot.mouseClick(changes.preview.apply_button, LEFT)
        qtbot.waitUntil(lambda: pane.progress_strip.isVisible(), timeout=WAIT)  # the pane is still shown
        assert "in progress" in pane.progress_text.text()
    server.clear_faults()
    copy_id = applied.args[0].results[0].result["id"]
    qtbot.waitUntil(lambda: pane.progress_strip.isHidden(), timeout=WAIT)
    qtbot.waitUntil(lambda: changes.results is not None, timeout=WAIT)
    changes.results.close()
    assert "The copy is ready" in pane.banner.message_text() and str(copy_id) in pane.banner.message_text()

    qtbot.waitUntil(lambda: pane.tree_model.index_of("course", copy_id).isValid(), timeout=WAIT)
    select(qtbot, pane, "course", copy_id)
    assert pane.actions.course_visibility.text() == "Show course"  # copies start hidden
    pane.actions.course_visibility.trigger()
    apply_preview(qtbot, engine, changes)
    with server.store.connection() as conn:
        assert conn.execute("SELECT visible FROM course WHERE id = ?", (copy_id,)).fetchone()[0] == 1

    select(qtbot, pane, "course", new_id)
    pane.actions.delete_course.trigger()
    qtbot.waitUntil(lambda: changes.preview is not None and changes.preview.isVisible(), timeout=WAIT)
    assert not changes.preview.apply_button.isEnabled()  # the engine asks: it cannot be undone
    deleted = apply_preview(qtbot, engine, changes, confirm=True)
    assert deleted.status == "done" and deleted.results[0].target == f"course:{new_id}", deleted
    qtbot.waitUntil(lambda: not pane.tree_model.index_of("course", new_id).isValid(), timeout=WAIT)
    with server.store.connection() as conn:
        assert conn.execute("SELECT count(*) FROM course WHERE id = ?", (new_id,)).fetchone()[0] == 0


def test_move_a_course_to_another_category(qtbot, console, server):
    engine, window, changes, content = console
    pane = show_course(qtbot, window, content)
    pane.tree.setCurrentIndex(pane._proxy.index(-1, -1))  # nothing selected: the course shown
    assert pane.current_ref().kind == "course" and pane.current_ref().id == 2
    pane.actions.move_course.trigger()
    dialog = pane.actions.dialog
    assert isinstance(dialog, PickDialog)
    dialog.choose(15)  # Staff Training
    with qtbot.waitSignal(engine.planned, timeout=WAIT):
        dialog._accept()
    apply_preview(qtbot, engine, changes)
    with server.store.connection() as conn:
        assert conn.execute("SELECT category FROM course WHERE id = 2").fetchone()[0] == 15


def test_section_rename_and_hide_through_the_preview(qtbot, console, server):
    engine, window, changes, content = console
    pane = show_course(qtbot, window, content)
    section = pane.tree_model.sections_of(2)[1]
    select(qtbot, pane, "section", section.id)
    pane.actions.rename.trigger()
    dialog = pane.actions.dialog
    assert isinstance(dialog, QInputDialog) and dialog.textValue() == section.name
    with qtbot.waitSignal(engine.planned, timeout=WAIT):
        dialog.textValueSelected.emit("Week one")
    with qtbot.waitSignal(pane.tree_model.course_loaded, timeout=WAIT):  # re-read from the site after it
        apply_preview(qtbot, engine, changes)
    with server.store.connection() as conn:
        assert conn.execute("SELECT name FROM course_sections WHERE id = ?", (section.id,)).fetchone()[0] == "Week one"
    assert pane.tree_model.section_ref(section.id).name == "Week one"
    qtbot.waitUntil(lambda: window.current_target() is not None and window.current_target().kind == "course",
                    timeout=WAIT)
    assert window.stack.currentWidget() is pane  # still in the course after the navigation was rebuilt

    select(qtbot, pane, "section", section.id)
    assert pane.actions.visibility.text() == "Hide"
    pane.actions.visibility.trigger()
    with qtbot.waitSignal(pane.tree_model.course_loaded, timeout=WAIT):
        apply_preview(qtbot, engine, changes)
    assert not pane.tree_model.section_ref(section.id).visible
    select(qtbot, pane, "section", section.id)
    assert pane.actions.visibility.text() == "Show"


def test_section_zero_cannot_be_hidden_moved_or_deleted(qtbot, console):
    _engine, window, _changes, content = console
    pane = show_course(qtbot, window, content)
    select(qtbot, pane, "section", pane.tree_model.sections_of(2)[0].id)
    assert pane.actions.add_section.isEnabled() and pane.actions.rename.isEnabled()
    assert not any(a.isEnabled() for a in (pane.actions.visibility, pane.actions.move, pane.actions.delete))


def test_add_a_section_end_to_end(qtbot, console):
    engine, window, changes, content = console
    pane = show_course(qtbot, window, content)
    count = len(pane.tree_model.sections_of(2))
    select(qtbot, pane, "section", pane.tree_model.sections_of(2)[1].id)
    bugs = []
    content.session.runner.job_failed.connect(lambda info, exc: bugs.append(exc))
    with qtbot.waitSignal(engine.planned, timeout=WAIT) as planned:
        pane.actions.add_section.trigger()
    course = pane.tree_model.course_label(2)
    assert planned.args[0].title == f"Add a section to {course}" and not course.startswith("course ")
    assert planned.args[0].items[0].title == f"Add a section to {course} after section 1"  # not "course 2"
    qtbot.waitUntil(lambda: changes.preview is not None and changes.preview.isVisible(), timeout=WAIT)
    qtbot.mouseClick(changes.preview.apply_button, LEFT)
    qtbot.waitUntil(lambda: bool(bugs) or len(pane.tree_model.sections_of(2)) == count + 1, timeout=WAIT)
    assert not bugs


def test_moving_a_section_numbers_every_choice_and_says_where_it_goes(qtbot, console, server):
    engine, window, changes, content = console
    pane = show_course(qtbot, window, content)
    sections = pane.tree_model.sections_of(2)
    unnamed = [s for s in sections if s.name == "New section"]
    assert len(unnamed) >= 2  # the seed leaves course 2 two sections without a name: Moodle shows "New section"
    moved, target = unnamed[-1], sections[1]
    select(qtbot, pane, "section", moved.id)
    pane.actions.move.trigger()
    dialog = pane.actions.dialog
    assert isinstance(dialog, PickDialog)
    assert dialog.windowTitle() == f"Move section {moved.section_number} “New section”"
    choices = [dialog.list.item(row).text() for row in range(dialog.list.count())]
    assert len(set(choices)) == len(choices) == len(sections) - 1  # every choice distinct; not itself
    assert f"After section {unnamed[0].section_number} · New section" in choices
    assert f"After section 1 · {target.name}" in choices
    dialog.choose(target.id)
    with qtbot.waitSignal(engine.planned, timeout=WAIT) as planned:
        dialog._accept()
    plan = planned.args[0]
    assert plan.title == f"Move section {moved.section_number} “New section” after section 1"
    assert plan.items[0].title == f"Move section {moved.section_number} “New section” to after section 1"
    with qtbot.waitSignal(pane.tree_model.course_loaded, timeout=WAIT):  # re-read from the site after it
        apply_preview(qtbot, engine, changes)
    with server.store.connection() as conn:
        assert conn.execute("SELECT section FROM course_sections WHERE id = ?", (moved.id,)).fetchone()[0] == 2
    assert pane.tree_model.section_ref(moved.id).section_number == 2


def test_activity_actions_ask_the_engine_for_the_right_changes(qtbot, console, monkeypatch):
    engine, window, _changes, content = console
    pane = show_course(qtbot, window, content)
    module = first_module(pane, "page")
    select(qtbot, pane, "module", module.id)
    asked = []
    monkeypatch.setattr(engine, "plan", lambda changes, title="", **kw: asked.append((list(changes), title)))
    pane.actions.visibility.trigger()
    pane.actions.delete.trigger()
    pane.actions.rename.trigger()
    pane.actions.dialog.textValueSelected.emit("Renamed page")
    pane.actions.move.trigger()
    target = pane.tree_model.sections_of(2)[3]
    assert f"To the end of section 3 · {target.name}" in [
        pane.actions.dialog.list.item(row).text() for row in range(pane.actions.dialog.list.count())]
    pane.actions.dialog.choose(target.id)
    pane.actions.dialog._accept()
    assert asked[-1][1] == f"Move “{module.name}” to the end of section 3"
    assert [c for changes, _t in asked for c in changes] == [
        Change("module.hide", {"courseid": 2, "id": module.id}),
        Change("module.delete", {"courseid": 2, "id": module.id}),
        Change("module.rename", {"id": module.id, "name": "Renamed page"}),
        Change("module.move", {"courseid": 2, "id": module.id, "targetsectionid": target.id})]


def test_hiding_an_activity_end_to_end(qtbot, console, server):
    engine, window, changes, content = console
    pane = show_course(qtbot, window, content)
    module = first_module(pane, "page")
    select(qtbot, pane, "module", module.id)
    failures = []
    engine.plan_failed.connect(failures.append)
    content.session.runner.job_failed.connect(lambda info, exc: failures.append(exc))
    pane.actions.visibility.trigger()
    qtbot.waitUntil(lambda: bool(failures) or (changes.preview is not None and changes.preview.isVisible()),
                    timeout=WAIT)
    assert not failures
    apply_preview(qtbot, engine, changes)
    with server.store.connection() as conn:
        assert conn.execute("SELECT visible FROM course_modules WHERE id = ?", (module.id,)).fetchone()[0] == 0


def test_queue_panel_shows_failures_on_their_row_and_retries(qtbot, console, server, tmp_path):
    _engine, window, _changes, content = console
    pane = show_course(qtbot, window, content)
    section = pane.tree_model.sections_of(2)[1]
    server.update_settings(max_upload_file_bytes=1000)
    small, big = tmp_path / "small.txt", tmp_path / "big.bin"
    small.write_bytes(b"s" * 100)
    big.write_bytes(b"b" * 5000)
    from lms_console.services.uploads import Dropped

    pane.upload([Dropped(path=str(big)), Dropped(path=str(small))], section)
    uploads = content.uploads
    qtbot.waitUntil(lambda: len(uploads.model.items()) == 2 and all(i.state.final for i in uploads.model.items()),
                    timeout=WAIT)
    big_row = next(i for i in uploads.model.items() if i.name == "big")
    status = uploads.model.index_of(big_row.id, 5)
    assert status.data().startswith("Failed: The site refused this file")
    assert pane.queue_panel.retry_button.isEnabled()
    server.update_settings(max_upload_file_bytes=100_000)
    qtbot.mouseClick(pane.queue_panel.retry_button, LEFT)  # nothing selected: every failed row
    qtbot.waitUntil(lambda: uploads.model.item(big_row.id).state == State.DONE, timeout=WAIT)
    assert pane.queue_panel.clear_button.isEnabled()
    qtbot.waitUntil(lambda: not pane.queue_panel.pause_button.isEnabled(), timeout=WAIT)  # nothing left to hold
    qtbot.mouseClick(pane.queue_panel.clear_button, LEFT)
    qtbot.waitUntil(lambda: uploads.model.items() == [], timeout=WAIT)


def test_the_menu_key_acts_on_the_current_row(qtbot, console, menus, press_menu_key):
    _engine, window, _changes, content = console
    pane = show_course(qtbot, window, content)
    index = select(qtbot, pane, "module", first_module(pane, "page").id)
    pane.tree.setFocus()
    press_menu_key(pane.tree)
    assert len(menus) == 1 and pane.tree.currentIndex() == index  # not the row below
    assert menus[0][1] == pane.tree.viewport().mapToGlobal(pane.tree.visualRect(index).center())
