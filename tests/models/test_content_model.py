"""The content pane's models against the sandbox: the lazy content tree, the details model and
downloads, the upload queue model and its controller (drops, refusals, pause, cancel, retry,
restore after a restart). Every model passes pytest-qt's qtmodeltester."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, Qt

from lms_console.models.content_details import (
    ContentDetailsModel,
    browser_file_url,
    describe_availability,
)
from lms_console.models.content_model import (
    ContentTreeModel,
    IconRole,
    RefRole,
    StateRole,
)
from lms_console.models.session import ConnectionSession, Online
from lms_console.models.tasks import TaskRunner
from lms_console.models.uploads_model import (
    DelegateStateRole,
    ProgressRole,
    UploadController,
    UploadQueueModel,
)
from lms_console.sandbox.server import SandboxServer
from lms_console.sandbox.settings import SandboxSettings
from lms_console.services import uploads_store as store
from lms_console.services.credentials import Secret
from lms_console.services.profiles import ProfileStore
from lms_console.services.uploads import (
    Dropped,
    DropTarget,
    Kind,
    State,
    UploadItem,
    plan_drop,
)

WAIT = 30000
DISPLAY = Qt.ItemDataRole.DisplayRole


@pytest.fixture
def site():
    server = SandboxServer(users=40, courses=3, seed=29).start()
    yield server
    server.stop()


@pytest.fixture
def session(qtbot, site, go_online):
    runner = TaskRunner(http_workers=3)
    session = ConnectionSession(runner)
    go_online(session, site, ("site", "categories", "courses", "contents"))
    yield session
    session.close()
    runner.shutdown(wait=True)


def loaded_tree(qtbot, session) -> ContentTreeModel:
    model = ContentTreeModel(session)
    with qtbot.waitSignal(model.loaded, timeout=WAIT):
        model.reload()
    return model


def open_course(qtbot, model, courseid: int) -> QModelIndex:
    index = model.index_of("course", courseid)
    assert model.hasChildren(index) and model.canFetchMore(index)
    with qtbot.waitSignal(model.course_loaded, timeout=WAIT):
        model.fetchMore(index)
    return model.index_of("course", courseid)


def test_tree_is_categories_courses_then_lazily_sections_activities_files(qtbot, qtmodeltester, session):
    model = loaded_tree(qtbot, session)
    top = [model.data(model.index(r, 0)) for r in range(model.rowCount())]
    assert "Faculty of Engineering" in top
    course = model.index_of("course", 2)
    assert model.data(course).startswith("CS101 — ") and model.data(course, IconRole) == "course"
    assert model.rowCount(course) == 0  # nothing read until it is opened
    course = open_course(qtbot, model, 2)
    qtmodeltester.check(model)  # (it also opens every other course)
    course = model.index_of("course", 2)
    sections = [model.index(r, 0, course) for r in range(model.rowCount(course))]
    assert model.data(sections[0]) == "General" and model.data(sections[0], IconRole) == "section"
    icons = {model.data(model.index(r, 0, s), IconRole) for s in sections for r in range(model.rowCount(s))}
    assert {"activity-forum", "activity-label", "activity-page", "activity-resource"} <= icons
    resource = model.index_of("module", next(r.id for s in model.sections_of(2) for r in model.modules_of(s.id)
                                             if r.modname == "resource"))
    assert model.rowCount(resource) == 1 and model.data(model.index(0, 0, resource), RefRole).kind == "file"
    assert model.data(model.index(0, 2, resource)).endswith("bytes")


def test_hidden_stealth_and_restricted_activities_are_marked(qtbot, session, site):
    client = session._client
    contents = client.course_contents(2).items
    cms = [m for s in contents for m in s.modules][:3]
    client.call("core_courseformat_update_course", {"action": "cm_hide", "courseid": 2, "ids": [cms[0].id]},
                write=True)
    client.call("core_courseformat_update_course", {"action": "cm_stealth", "courseid": 2, "ids": [cms[1].id]},
                write=True)
    with site.store.connection() as conn:
        conn.execute("UPDATE course_modules SET availability = ? WHERE id = ?",
                     ('{"op":"&","c":[{"type":"date","d":">=","t":4102444800}],"showc":[true]}', cms[2].id))
        conn.commit()
    model = loaded_tree(qtbot, session)
    with qtbot.waitSignal(model.course_loaded, timeout=WAIT):
        model.refresh_from_site(2)
    hidden, stealth, restricted = (model.index_of("module", m.id) for m in cms)
    assert model.data(hidden, StateRole) == "hidden" and model.data(hidden.siblingAtColumn(1)) == "Hidden"
    assert model.data(hidden, Qt.ItemDataRole.FontRole).italic()
    assert model.data(stealth, StateRole) == "stealth" and model.data(stealth.siblingAtColumn(1)) == "Stealth"
    assert "not shown on the course page" in model.data(stealth, Qt.ItemDataRole.ToolTipRole)
    assert model.data(restricted.siblingAtColumn(1)) == "Restricted"


def test_a_course_never_synced_is_fetched_from_the_site_when_opened(qtbot, session):
    session._client.call("core_course_create_courses", {"courses": [
        {"fullname": "Fresh", "shortname": "FRESH", "categoryid": 3, "numsections": 2}]}, write=True)
    with qtbot.waitSignal(session.sync_finished, timeout=60000):
        session.sync(("courses",))
    model = loaded_tree(qtbot, session)
    fresh = next(c for c in model.course_ids() if model.data(model.index_of("course", c)).startswith("FRESH"))
    loads = []
    model.course_loaded.connect(loads.append)
    model.fetchMore(model.index_of("course", fresh))
    qtbot.waitUntil(lambda: len(loads) == 2, timeout=WAIT)  # empty in the cache, then read from the site
    assert [r.name for r in model.sections_of(fresh)] == ["General", "New section", "New section"]


def test_details_of_an_activity_and_a_file_and_the_download(qtbot, qtmodeltester, session, site, tmp_path):
    model = loaded_tree(qtbot, session)
    open_course(qtbot, model, 2)
    folder = next(r for s in model.sections_of(2) for r in model.modules_of(s.id) if r.modname in ("folder",
                                                                                                    "resource"))
    details = ContentDetailsModel(session)
    with qtbot.waitSignal(details.loaded, timeout=WAIT) as got:
        details.show(folder)
    info = got.args[0]
    fields = dict(info.fields)
    assert fields["Type"] in ("Folder", "File") and fields["Visibility"] == "Visible"
    assert fields["Availability"] == "No restrictions" and fields["Completion tracking"] == "Not tracked"
    assert info.browser_url.endswith(f"/mod/{folder.modname}/view.php?id={folder.id}")
    qtmodeltester.check(details.fields)
    qtmodeltester.check(details.files)
    assert details.files.rowCount() >= 1
    file = details.files.file_at(0)
    assert details.files.data(details.files.index(0, 2)) == file.mimetype
    target = tmp_path / "saved" / file.name
    target.parent.mkdir()
    site.clear_requests()
    with qtbot.waitSignal(details.download_finished, timeout=WAIT) as saved:
        details.download(file, str(target))
    assert saved.args == [str(target), file.size] and target.stat().st_size == file.size
    [request] = [r for r in site.requests if r["function"] == "webservice/pluginfile.php"]
    assert request["method"] == "POST" and "token" not in request["path"]  # the token went in the body
    assert not (tmp_path / "saved" / (file.name + ".part")).exists()


def test_browser_urls_never_carry_a_token_and_availability_reads_as_words():
    url = browser_file_url("https://lms.example/webservice/pluginfile.php/5/mod_resource/content/0/a.pdf"
                           "?forcedownload=1&token=SECRET")
    assert url == "https://lms.example/pluginfile.php/5/mod_resource/content/0/a.pdf?forcedownload=1"
    text = describe_availability('{"op":"&","c":[{"type":"date","d":">=","t":4102444800},'
                                 '{"type":"completion","cm":7,"e":1}],"showc":[true,true]}')
    assert text.startswith("from 01 Jan 2100") and "activity 7 completed" in text
    assert describe_availability(None) == ""


def _item(item_id, kind, state=State.QUEUED, parent=None, size=100, name=None):
    return UploadItem(item_id, kind, 2, 3, name or f"item{item_id}", state=state, parent=parent, size=size,
                      filename=f"f{item_id}.txt", source=f"/tmp/f{item_id}", destination="CS101 › Topic 1")


def test_upload_queue_model_tree_progress_and_totals(qtmodeltester):
    model = UploadQueueModel()
    model.set_items([_item(1, Kind.FILE, State.DONE), _item(2, Kind.FOLDER, size=300),
                     _item(3, Kind.CHILD, parent=2), _item(4, Kind.CHILD, parent=2, state=State.FAILED),
                     _item(5, Kind.URL, State.REFUSED, size=0)])
    qtmodeltester.check(model)
    model.add([_item(6, Kind.FILE, size=1000)])
    model.set_live({6: (250, 1000, 2048.0)})
    qtmodeltester.check(model)
    row6 = model.index_of(6)
    assert model.data(row6.siblingAtColumn(3), ProgressRole) == pytest.approx(0.25)
    assert model.data(row6, DelegateStateRole) == "running"
    assert model.data(row6.siblingAtColumn(4)) == "2 KiB/s" and model.data(row6.siblingAtColumn(5)) == "Uploading 25%"
    folder = model.index_of(2)
    assert model.rowCount(folder) == 2 and model.data(model.index(1, 5, folder)) == "Failed"
    totals = model.totals()
    assert (totals.done, totals.failed, totals.refused) == (1, 1, 1) and totals.sent == 100 + 250
    assert totals.text().startswith("1 of 4 done · 350 bytes of 1.2 KiB · 2 KiB/s") and "1 failed" in totals.text()


def test_a_cancelled_upload_counts_as_cancelled_not_as_failed():
    model = UploadQueueModel()
    model.set_items([_item(1, Kind.FILE, State.DONE), _item(2, Kind.FILE, State.CANCELLED),
                     _item(3, Kind.FILE, State.FAILED), _item(4, Kind.URL, State.CANCELLED, size=0),
                     _item(5, Kind.FILE)])
    assert model.data(model.index_of(2).siblingAtColumn(5)) == "Cancelled"
    totals = model.totals()
    assert (totals.done, totals.pending, totals.failed, totals.cancelled) == (1, 1, 1, 2)
    assert totals.text().startswith("1 of 5 done ·")
    assert totals.text().endswith(" · 1 failed · 2 cancelled")


def files(tmp_path: Path, *specs) -> list[str]:
    out = []
    for name, size in specs:
        path = tmp_path / name
        path.write_bytes(os.urandom(size) if size else b"")
        out.append(str(path))
    return out


def test_the_controller_uploads_drops_and_keeps_refusals_on_their_rows(qtbot, qtmodeltester, session, site,
                                                                       tmp_path):
    controller = UploadController(session)
    qtbot.waitUntil(lambda: controller.state == "idle", timeout=WAIT)
    paths = files(tmp_path, ("slides.pdf", 30_000), ("empty.txt", 0))
    changed = []
    controller.contents_changed.connect(changed.append)
    controller.drop([Dropped(path=p) for p in paths] + [Dropped(url="https://example.org", title="Example")],
                    DropTarget(2, 3, destination="CS101 › Topic 1"))
    qtbot.waitUntil(lambda: len(controller.model.items()) == 3 and all(
        i.state.final for i in controller.model.items()), timeout=WAIT)
    qtmodeltester.check(controller.model)
    states = {i.name: i.state for i in controller.model.items()}
    assert states == {"slides": State.DONE, "empty": State.REFUSED, "Example": State.DONE}
    assert changed == [2, 2]
    with session.db.read() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM modules WHERE name IN ('slides', 'Example')").scalar() == 2


def test_without_the_plugin_the_drop_is_refused_with_an_explanation(qtbot, tmp_path):
    server = SandboxServer(users=20, courses=2, seed=31, settings=SandboxSettings(enable_sync_service=False)).start()
    runner = TaskRunner(http_workers=2)
    session = ConnectionSession(runner)
    try:
        session.open(ProfileStore().add("noplugin", server.url), Secret(server.admin_token))
        qtbot.waitUntil(lambda: session.state.status == Online.ONLINE, timeout=10000)
        controller = UploadController(session)
        with qtbot.waitSignal(controller.drop_refused, timeout=WAIT) as refused:
            controller.drop([Dropped(path=files(tmp_path, ("a.txt", 10))[0])], DropTarget(2, 3))
        assert "local_sync_service" in refused.args[0]
        [row] = controller.model.items()
        assert row.state == State.REFUSED and "Nothing was sent" in row.message
    finally:
        session.close()
        runner.shutdown(wait=True)
        server.stop()


def test_pause_cancel_and_retry(qtbot, session, site, tmp_path):
    site.set_faults(latency_ms=300)  # slow enough to pause in the middle
    controller = UploadController(session)
    qtbot.waitUntil(lambda: controller.state == "idle", timeout=WAIT)
    a, b, c = files(tmp_path, ("a.bin", 50_000), ("b.bin", 50_000), ("c.bin", 50_000))
    controller.drop([Dropped(path=a), Dropped(path=b), Dropped(path=c)], DropTarget(2, 3))
    qtbot.waitUntil(lambda: controller.state == "running", timeout=WAIT)
    controller.pause()
    qtbot.waitUntil(lambda: controller._current is None, timeout=WAIT)
    assert controller.state == "paused"
    rows = {i.name: i for i in controller.model.items()}
    assert any(r.state == State.QUEUED for r in rows.values())
    controller.cancel(rows["c"].id)
    qtbot.waitUntil(lambda: controller.model.item(rows["c"].id).state == State.CANCELLED, timeout=WAIT)
    site.clear_faults()
    controller.resume()
    qtbot.waitUntil(lambda: all(controller.model.item(rows[n].id).state == State.DONE for n in ("a", "b")),
                    timeout=WAIT)
    assert controller.model.item(rows["c"].id).state == State.CANCELLED
    summary = controller.model.totals().text()
    assert summary.startswith("2 of 3 done") and "1 cancelled" in summary and "failed" not in summary, summary
    controller.retry(rows["c"].id)
    qtbot.waitUntil(lambda: controller.model.item(rows["c"].id).state == State.DONE, timeout=WAIT)
    names = [m.name for s in session._client.course_contents(2).items for m in s.modules]
    assert [names.count(n) for n in ("a", "b", "c")] == [1, 1, 1]


def test_an_interrupted_queue_is_restored_and_sent_on_the_next_start(qtbot, session, site, tmp_path):
    (path,) = files(tmp_path, ("interrupted.pdf", 20_000))

    def crash_left(writer):  # what a crash in the middle of the upload leaves in the cache
        [row] = store.add_plan(writer, plan_drop([Dropped(path=path)], DropTarget(2, 3), session.site))
        store.save(writer, [dataclasses.replace(row, state=State.UPLOADING)])

    with qtbot.waitSignal(session.runner.job_changed, timeout=WAIT,
                          check_params_cb=lambda info: info.name == "crash" and info.state.finished):
        session.run_writer("crash", crash_left)
    profile, token = session.profile, session._token
    session.close()
    controller = UploadController(session)
    session.open(profile, token)  # the next start
    qtbot.waitUntil(lambda: bool(controller.model.items()) and controller.model.items()[0].state == State.DONE,
                    timeout=WAIT)
    names = [m.name for s in session._client.course_contents(2).items for m in s.modules]
    assert names.count("interrupted") == 1
