"""The upload queue against the sandbox over real HTTP: files, folders and links become activities
in the right place; every bad input ends as a message on its own row while the others carry on;
the local_sync_service bugs are guarded; an interrupted queue is picked up after a restart."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from lms_console.services import uploads_names, uploads_site
from lms_console.services import uploads_store as store
from lms_console.services.cache.db import CacheDb
from lms_console.services.cache.writer import CacheWriter
from lms_console.services.uploads import (
    Dropped,
    DropTarget,
    Kind,
    LiveProgress,
    State,
    UploadError,
    plan_drop,
)
from lms_console.services.uploads_names import check_url, clean_filename
from lms_console.services.uploads_run import UploadQueue, record_send, send_entry

PLUGIN_CALLS = ("local_course_add_new_course_module_resource", "local_course_add_new_course_module_directory",
                "local_course_add_new_course_module_url", "local_course_add_files_to_directory")


@pytest.fixture
def env(make_site, connect, cache, run_sync):
    """A fresh sandbox mirrored into the test's cache: a namespace with server, client, db, writer, site."""
    server = make_site(users=40, courses=3, seed=11)
    client = connect(server)
    assert run_sync(client, entities=("site", "categories", "courses", "contents")).status == "ok"
    db, writer = cache
    site = client.site_info()

    class Env:
        pass

    e = Env()
    e.server, e.client, e.db, e.writer, e.site = server, client, db, writer, site
    e.course = 2
    with db.read() as conn:
        e.sections = [r[0] for r in conn.exec_driver_sql(
            "SELECT id FROM sections WHERE courseid = 2 ORDER BY section").all()]
    return e


def queue(env, **kw) -> UploadQueue:
    kw.setdefault("site", env.site)
    return UploadQueue(env.client, env.db, env.writer, profile="test", lms_user="admin", **kw)


def site_modules(env, sectionid: int) -> list:
    sections = env.client.course_contents(env.course).items
    return next(s for s in sections if s.id == sectionid).modules


def plugin_requests(env) -> list[dict]:
    return [r for r in env.server.requests if r["function"] in PLUGIN_CALLS]


def write(path: Path, data: bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return str(path)


def test_a_file_becomes_a_file_resource_in_the_right_section(env, tmp_path):
    section = env.sections[2]
    pdf = write(tmp_path / "Lecture notes.pdf", b"%PDF-1.4 " + b"x" * 70_000)
    q = queue(env)
    q.add([Dropped(path=pdf)], DropTarget(env.course, section, destination="CS101 › Topic 2"))
    [item] = q.run()
    assert item.state == State.DONE and item.kind == Kind.FILE
    module = next(m for m in site_modules(env, section) if m.id == item.cmid)
    assert module.modname == "resource" and module.name == "Lecture notes"
    assert [(f.filename, f.filesize) for f in module.files] == [("Lecture notes.pdf", 70_009)]
    with env.db.read() as conn:  # the cache was refreshed from the site
        assert conn.exec_driver_sql("SELECT sectionid, name FROM modules WHERE cmid = ?", (item.cmid,)).one() == \
            (section, "Lecture notes")
        kind, status, target, inverse = conn.exec_driver_sql(
            "SELECT kind, status, target, inverse FROM change_items").one()
    assert (kind, status, target) == ("upload.resource", "done", f"cm:{item.cmid}")
    assert '"module.delete"' in inverse  # undo deletes the new activity
    [call] = plugin_requests(env)
    assert call["params"]["visible"] == "true" and call["params"]["sectionnum"] == "2"


def test_a_folder_becomes_a_folder_activity_with_its_files(env, tmp_path):
    folder = tmp_path / "Week 3 slides"
    write(folder / "intro.pdf", b"intro")
    write(folder / "extra" / "notes.txt", b"notes")
    write(folder / ".DS_Store", b"junk")
    section = env.sections[1]
    q = queue(env)
    q.add([Dropped(path=str(folder))], DropTarget(env.course, section, destination="CS101 › Topic 1"))
    items = q.run()
    entry = next(i for i in items if i.kind == Kind.FOLDER)
    assert entry.state == State.DONE and "Left out 1 system file" in entry.note
    assert {(i.relpath, i.filename, i.state) for i in items if i.kind == Kind.CHILD} == \
        {("/", "intro.pdf", State.DONE), ("/extra/", "notes.txt", State.DONE)}
    module = next(m for m in site_modules(env, section) if m.id == entry.cmid)
    # The plugin answers the folder's instance id; the queue found the real cmid and context.
    assert module.modname == "folder" and module.name == "Week 3 slides"
    assert entry.contextid == module.contextid
    assert sorted(f.filepath + f.filename for f in module.files) == ["/extra/notes.txt", "/intro.pdf"]
    directory = next(r for r in plugin_requests(env) if r["function"].endswith("_directory"))
    assert directory["params"]["visible"] == "true"


def test_a_link_becomes_a_url_activity_and_javascript_is_refused(env):
    section = env.sections[1]
    q = queue(env)
    plan = q.add([Dropped(url="https://example.org/syllabus", title="Syllabus"), Dropped(url="javascript:alert(1)"),
                  Dropped(url="data:text/html,<b>x</b>")], DropTarget(env.course, section, destination="CS101"))
    assert (plan.queued, plan.refused) == (1, 2)
    items = q.run()
    url, js, data = items
    assert url.state == State.DONE
    module = next(m for m in site_modules(env, section) if m.id == url.cmid)
    assert (module.modname, module.name) == ("url", "Syllabus")
    assert module.files[0].fileurl == "https://example.org/syllabus"
    assert js.state == data.state == State.REFUSED and "javascript:" in js.message
    assert [r["params"]["url"] for r in plugin_requests(env)] == ["https://example.org/syllabus"]


def test_dropped_on_an_activity_the_new_ones_follow_it_in_order(env, tmp_path):
    section = env.sections[1]
    before = [m.id for m in site_modules(env, section)]
    anchor = before[0]
    files = [write(tmp_path / f"{n}.txt", n.encode()) for n in ("one", "two")]
    q = queue(env)
    q.add([Dropped(path=f) for f in files] + [Dropped(url="https://example.org/three")],
          DropTarget(env.course, section, after_cmid=anchor))
    new = [i.cmid for i in q.run()]
    after = [m.id for m in site_modules(env, section)]
    assert after == [anchor, *new, *before[1:]]
    moves = [r for r in env.server.requests if r["function"] == "core_courseformat_update_course"]
    assert moves and all(r["params"]["action"] == "cm_move" for r in moves)
    assert not [r for r in env.server.requests if r["function"] == "local_course_move_module_to_specific_position"]


def test_every_bad_input_is_a_message_on_its_row_and_the_others_carry_on(env, tmp_path, monkeypatch):
    section = env.sections[1]
    good = write(tmp_path / "good.txt", b"fine")
    big = write(tmp_path / "big.bin", b"b" * 5000)
    empty = write(tmp_path / "empty.txt", b"")
    locked = write(tmp_path / "locked.txt", b"secret")
    odd = write(tmp_path / "bad\nname\x07 a\\b.txt", b"odd")
    real_open = open

    def guarded(path, *a, **kw):  # EACCES for one file (root reads mode 000 files, so chmod would not do)
        if str(path) == locked:
            raise PermissionError(13, "Permission denied")
        return real_open(path, *a, **kw)

    monkeypatch.setattr(uploads_names, "open", guarded, raising=False)
    site = dataclasses.replace(env.site, max_upload_bytes=4096)  # the site's own per-file limit
    q = queue(env, site=site)
    q.add([Dropped(path=p) for p in (good, big, empty, locked, odd)], DropTarget(env.course, section))
    rows = {Path(i.source).name: i for i in q.run()}
    assert rows["good.txt"].state == rows[Path(odd).name].state == State.DONE
    assert rows["big.bin"].state == State.REFUSED and "at most 4 KiB" in rows["big.bin"].message
    assert rows["empty.txt"].state == State.REFUSED and "empty" in rows["empty.txt"].message
    assert rows["locked.txt"].state == State.REFUSED and "Permission denied" in rows["locked.txt"].message
    renamed = rows[Path(odd).name]
    assert renamed.filename == "badname a_b.txt" and "control characters removed" in renamed.note
    assert "path separators replaced" in renamed.note
    names = {f.filename for m in site_modules(env, section) for f in m.files}
    assert {"good.txt", "badname a_b.txt"} <= names
    uploads = [r for r in env.server.requests if r["function"] == "webservice/upload.php"]
    assert sorted(f for r in uploads for f in r["params"]["files"]) == ["badname a_b.txt", "good.txt"]
    with env.db.read() as conn:  # nothing lost: every row is kept with its state and message
        assert conn.exec_driver_sql("SELECT count(*) FROM upload_items").scalar() == 5


def test_the_sites_own_limits_come_back_on_the_files_row(env, tmp_path):
    section = env.sections[1]
    env.server.update_settings(max_upload_file_bytes=2000, max_request_bytes=50_000)
    small = write(tmp_path / "small.txt", b"s" * 100)
    over = write(tmp_path / "over.bin", b"o" * 3000)  # over Moodle's maxbytes: per-file fileoversized
    huge = write(tmp_path / "huge.bin", b"h" * 60_000)  # over the web server's cap: an HTML 413 page
    q = queue(env)
    q.add([Dropped(path=p) for p in (over, huge, small)], DropTarget(env.course, section))
    over_row, huge_row, small_row = q.run()
    assert small_row.state == State.DONE
    assert over_row.state == State.FAILED and over_row.code == "fileoversized"
    assert "larger than the site's maximum upload size" in over_row.message
    assert huge_row.state == State.FAILED and huge_row.code == "http413"
    assert "larger than the web server accepts" in huge_row.message
    assert [r["params"]["displayname"] for r in plugin_requests(env)] == ["small"]


def test_after_a_413_files_as_big_are_not_sent_whole_again_until_retried(env, tmp_path):
    section = env.sections[1]
    env.server.update_settings(max_request_bytes=50_000)
    first = write(tmp_path / "first.bin", b"a" * 60_000)
    bigger = write(tmp_path / "bigger.bin", b"b" * 90_000)
    smaller = write(tmp_path / "smaller.bin", b"c" * 55_000)  # under the refused size, over the cap: still tried
    fits = write(tmp_path / "fits.txt", b"d" * 1_000)
    q = queue(env)
    q.add([Dropped(path=p) for p in (first, bigger, smaller, fits)], DropTarget(env.course, section))
    rows = {r.filename: r for r in q.run()}

    def sent():
        return [f for r in env.server.requests if r["function"] == "webservice/upload.php" for f in r["params"]["files"]]

    refused = [r["length"] for r in env.server.requests if r["fault"] == "413"]
    assert len(refused) == 2 and max(refused) < 90_000  # first and smaller; bigger not sent whole again
    assert rows["bigger.bin"].state == State.FAILED and rows["bigger.bin"].code == "http413"
    assert "refused a file of 58.6 KiB a moment ago" in rows["bigger.bin"].message
    assert "then Retry" in rows["bigger.bin"].message
    assert rows["first.bin"].code == rows["smaller.bin"].code == "http413"
    assert rows["fits.txt"].state == State.DONE
    env.server.update_settings(max_request_bytes=200_000)  # the admin raises the server's limit
    q.retry(rows["bigger.bin"].id)
    assert {r.filename: r.state for r in q.run()}["bigger.bin"] == State.DONE
    assert sent().count("bigger.bin") == 1


def test_a_section_deleted_on_the_site_meanwhile_is_not_recreated(env, tmp_path):
    doomed, other = env.sections[3], env.sections[1]
    q = queue(env)
    q.add([Dropped(path=write(tmp_path / "a.txt", b"a"))], DropTarget(env.course, doomed))
    q.add([Dropped(path=write(tmp_path / "b.txt", b"b"))], DropTarget(env.course, other))
    env.client.call("core_courseformat_update_course", {"action": "section_delete", "courseid": env.course,
                                                         "ids": [doomed]}, write=True)
    numbers = sorted(s.section for s in env.client.course_contents(env.course).items)
    first, second = q.run()
    assert first.state == State.FAILED and first.code == "nosection" and "deleted on the site" in first.message
    assert second.state == State.DONE
    assert sorted(s.section for s in env.client.course_contents(env.course).items) == numbers  # no gap made
    assert [r["params"]["displayname"] for r in plugin_requests(env)] == ["b"]
    assert not [r for r in env.server.requests if r["function"] == "webservice/upload.php"
                and r["params"]["files"] == ["a.txt"]]  # refused before a byte was sent


def test_an_out_of_range_section_is_refused_before_any_call(env, tmp_path):
    q = queue(env)
    q.add([Dropped(path=write(tmp_path / "x.txt", b"x"))], DropTarget(env.course, 987654))
    [row] = q.run()
    assert row.state == State.FAILED and row.code == "nosection"
    assert plugin_requests(env) == []


def test_without_the_plugin_the_drop_is_refused_with_what_the_site_needs(make_site, connect, tmp_path, cache):
    from lms_console.sandbox.settings import SandboxSettings

    server = make_site(users=20, courses=2, seed=5, settings=SandboxSettings(enable_sync_service=False))
    client = connect(server)
    site = client.site_info()
    db, writer = cache
    q = UploadQueue(client, db, writer, site=site)
    plan = q.add([Dropped(path=write(tmp_path / "a.txt", b"a")), Dropped(url="https://example.org")],
                 DropTarget(2, 3))
    assert plan.refused == 2 and "local_sync_service" in plan.refusal and "External services" in plan.refusal
    rows = q.run()
    assert all(r.state == State.REFUSED and "local_course_add_new_course_module" in r.message for r in rows)
    assert not [r for r in server.requests if r["function"] == "webservice/upload.php"]


def test_a_plugin_removed_between_drop_and_send_is_a_message_not_a_crash(env, tmp_path):
    q = queue(env)  # planned with the site info that still lists the plugin
    q.add([Dropped(path=write(tmp_path / "a.txt", b"a"))], DropTarget(env.course, env.sections[1]))
    env.server.update_settings(enable_sync_service=False)
    [row] = q.run()
    assert row.state == State.FAILED
    assert "local_course_add_new_course_module_resource" in row.message and "local_sync_service" in row.message


def test_a_link_dropping_mid_file_fails_that_file_only_and_retry_sends_it(env, tmp_path):
    section = env.sections[1]
    big = write(tmp_path / "video.mp4", os.urandom(4 * 1024 * 1024))
    rest = [write(tmp_path / f"{n}.txt", n.encode()) for n in ("after1", "after2")]

    def events(name, item):
        if name == "checked" and item.filename == "video.mp4":
            env.server.set_faults(drop_before_rate=1.0)  # the server hangs up on the upload's body
        elif name == "failed":
            env.server.clear_faults()

    q = queue(env, events=events)
    q.add([Dropped(path=p) for p in (big, *rest)], DropTarget(env.course, section))
    video, a1, a2 = q.run()
    assert video.state == State.FAILED and video.code == "linkdropped"
    assert "connection to the site dropped" in video.message and "Retry" in video.message
    assert a1.state == a2.state == State.DONE
    q.events = lambda *_: None
    q.retry(video.id)
    video = next(i for i in q.run() if i.id == video.id)
    assert video.state == State.DONE
    [module] = [m for m in site_modules(env, section) if m.name == "video"]  # exactly one
    assert module.files[0].filesize == 4 * 1024 * 1024


def test_a_folder_file_retried_later_is_added_to_the_same_folder(env, tmp_path):
    folder = tmp_path / "Readings"
    write(folder / "r1.txt", b"one")
    write(folder / "r2.txt", b"two" * 2000)
    env.server.update_settings(max_upload_file_bytes=1000)  # r2 is refused by the site
    q = queue(env)
    q.add([Dropped(path=str(folder))], DropTarget(env.course, env.sections[1]))
    items = q.run()
    entry = next(i for i in items if i.kind == Kind.FOLDER)
    r2 = next(i for i in items if i.filename == "r2.txt")
    assert entry.state == State.DONE and r2.state == State.FAILED
    env.server.update_settings(max_upload_file_bytes=10_000)
    q.retry(r2.id)
    assert all(i.state == State.DONE for i in q.run())
    [add] = [r for r in plugin_requests(env) if r["function"] == "local_course_add_files_to_directory"]
    assert add["params"]["contextid"] == str(entry.contextid) and add["params"]["courseid"] == str(env.course)
    module = next(m for m in site_modules(env, env.sections[1]) if m.id == entry.cmid)
    assert sorted(f.filename for f in module.files) == ["r1.txt", "r2.txt"]
    assert len([m for m in site_modules(env, env.sections[1]) if m.modname == "folder"
                and m.name == "Readings"]) == 1


def test_hidden_uploads_send_the_word_false(env, tmp_path):
    q = queue(env)
    q.add([Dropped(path=write(tmp_path / "h.txt", b"h"))], DropTarget(env.course, env.sections[1]), visible=False)
    [row] = q.run()
    [call] = plugin_requests(env)
    assert call["params"]["visible"] == "false"
    assert next(m for m in site_modules(env, env.sections[1]) if m.id == row.cmid).visible is False


def test_a_crash_interrupted_queue_is_requeued_on_the_next_start(env, tmp_path):
    section = env.sections[1]
    q = queue(env)
    q.add([Dropped(path=write(tmp_path / f"{n}.txt", n.encode())) for n in ("sent", "creating", "waiting")],
          DropTarget(env.course, section))
    sent, creating, _waiting = q.items()
    # "sent": its bytes reached the draft area, then the console died before the activity was made.
    result = send_entry(env.client, sent, [], site=env.site)
    record_send(env.writer, sent, [], result)
    # "creating": the create call went out and the console died before recording the answer.
    result = send_entry(env.client, creating, [], site=env.site)
    creating, _ = record_send(env.writer, creating, [], result)
    course = uploads_site.read_course(env.client, env.course)
    store.save(env.writer, [dataclasses.replace(creating, state=State.CREATING,
                                                snapshot=tuple(sorted(course.cmids)))])
    uploads_site.create_resource(env.client, course, section, creating.draft_itemid, creating.name, True)
    env.writer.close()
    env.db.close()

    db = CacheDb.open(Path(env.db.path))  # the next start
    writer = CacheWriter(db)
    try:
        restarted = UploadQueue(env.client, db, writer, site=env.site)
        states = {i.name: i.state for i in restarted.resume()}
        assert states == {"sent": State.QUEUED, "creating": State.CREATING, "waiting": State.QUEUED}
        assert {i.name: i.state for i in restarted.run()} == {n: State.DONE for n in ("sent", "creating", "waiting")}
        names = [m.name for m in site_modules(env, section)]
        assert names.count("sent") == names.count("creating") == names.count("waiting") == 1
        with db.read() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM change_items WHERE status = 'done'").scalar() == 3
    finally:
        writer.close()
        db.close()


def test_a_lost_answer_to_the_create_call_is_checked_on_the_site_not_resent(env, tmp_path):
    section = env.sections[1]
    q = queue(env)
    q.add([Dropped(path=write(tmp_path / "once.txt", b"1"))], DropTarget(env.course, section))
    entry = q.items()[0]
    entry, _ = record_send(env.writer, entry, [], send_entry(env.client, entry, [], site=env.site))

    class Flaky:
        """The client; the site creates the resource, then the answer to that call is lost."""

        def __getattr__(self, name):
            return getattr(env.client, name)

        def call(self, function, params=None, **kw):
            if function.startswith("local_course"):
                env.server.set_faults(drop_after_rate=1.0)
            try:
                return env.client.call(function, params, **kw)
            finally:
                env.server.clear_faults()

    from lms_console.services.uploads_run import finish_entry

    done = finish_entry(Flaky(), env.writer, entry, [])
    assert done.entry.state == State.DONE
    assert [m.name for m in site_modules(env, section)].count("once") == 1
    assert len([r for r in plugin_requests(env) if r["function"].endswith("_resource")]) == 1


def test_guards_of_the_plugin_bugs_in_isolation():
    with pytest.raises(UploadError, match="draft area"):
        uploads_site.require_draft(0, 3)
    with pytest.raises(UploadError, match="draft area"):
        uploads_site.require_draft(1234, 0)
    assert uploads_site.require_draft(1234, 1) == 1234

    from lms_console.services.lms.base import Module, Section

    folder = Module(id=7, courseid=2, sectionid=3, name="F", modname="folder", contextid=70)
    course = uploads_site.CourseOnSite(2, (Section(3, 2, 0, "General", modules=(folder,)),))

    class Recorder:
        def __init__(self) -> None:
            self.calls: list = []

        def call(self, *a, **kw):
            self.calls.append(a)

    client = Recorder()
    with pytest.raises(UploadError, match="not the one the console knows"):
        uploads_site.add_files_to_folder(client, course, 7, 71, 555)  # another context: refused
    with pytest.raises(UploadError, match="deleted"):
        uploads_site.add_files_to_folder(client, course, 8, 70, 555)
    assert client.calls == []
    with pytest.raises(UploadError, match="deleted on the site"):
        course.section_number(99)


def test_names_and_urls_are_cleaned_or_refused():
    assert clean_filename("a/b\\c.pdf").value == "a_b_c.pdf"
    assert clean_filename("tab\there.txt").value == "tabhere.txt"
    long = clean_filename("x" * 300 + ".docx")
    assert len(long.value) == 255 and long.value.endswith(".docx") and "shortened" in long.note
    assert clean_filename("..").value == "file"
    assert clean_filename("Cafe\u0301.txt").value == "Café.txt"  # NFC, as Moodle compares names
    for bad in ("javascript:alert(1)", " JavaScript:x", "vbscript:x", "data:text/html,x", "file:///etc/passwd",
                "http://", "relative/path"):
        with pytest.raises(uploads_names.UrlRefused):
            check_url(bad)
    assert check_url(" https://example.org/a?b=1 ") == "https://example.org/a?b=1"


def test_plan_drop_refuses_without_reading_whole_files(tmp_path):
    folder = tmp_path / "empty-folder"
    folder.mkdir()
    plan = plan_drop([Dropped(path=str(folder)), Dropped(path=str(tmp_path / "gone.txt"))], DropTarget(2, 3), None)
    (empty, _), (gone, _) = plan.entries
    assert empty.state == State.REFUSED and "no files" in empty.message
    assert gone.state == State.REFUSED and "no longer exists" in gone.message


def test_live_progress_reports_speed_per_row():
    now = [0.0]
    live = LiveProgress(clock=lambda: now[0])
    live.start(1, 1000)
    for step in range(1, 11):
        now[0] = step * 0.1
        live.update(1, step * 100)
    sent, total, speed = live.snapshot()[1]
    assert (sent, total) == (1000, 1000) and speed == pytest.approx(1000, rel=0.01)
