"""Course structure editing through core_courseformat_update_course and friends."""

import json

from .conftest import ws_call


def _contents(server, courseid):
    return ws_call(server, "core_course_get_contents", courseid=courseid)


def test_sections_and_modules_editing(make_sandbox):
    server = make_sandbox()
    course = 2
    before = _contents(server, course)
    state = json.loads(ws_call(server, "core_courseformat_update_course", action="section_add", courseid=course))
    assert state[0]["name"] == "course" and {u["name"] for u in state} == {"course", "section", "cm"}
    after = _contents(server, course)
    assert len(after) == len(before) + 1
    new_section = after[-1]["id"]
    cm = before[1]["modules"][-1]["id"]
    ws_call(server, "core_courseformat_update_course", action="cm_move", courseid=course, ids=[cm],
            targetsectionid=new_section)
    assert [m["id"] for m in _contents(server, course)[-1]["modules"]] == [cm]
    ws_call(server, "core_courseformat_update_course", action="cm_hide", courseid=course, ids=[cm])
    assert _contents(server, course)[-1]["modules"][0]["visible"] == 0
    ws_call(server, "core_courseformat_update_course", action="cm_stealth", courseid=course, ids=[cm])
    moved = _contents(server, course)[-1]["modules"][0]
    assert moved["visible"] == 1 and moved["visibleoncoursepage"] == 0
    renamed = ws_call(server, "core_update_inplace_editable", component="format_topics", itemtype="sectionname",
                      itemid=new_section, value="Renamed section")
    assert renamed["displayvalue"] == "Renamed section"
    ws_call(server, "core_update_inplace_editable", component="core_course", itemtype="activityname", itemid=cm,
            value="Renamed activity")
    assert _contents(server, course)[-1]["modules"][0]["name"] == "Renamed activity"
    ws_call(server, "core_courseformat_update_course", action="section_hide", courseid=course, ids=[new_section])
    assert _contents(server, course)[-1]["visible"] == 0
    removed = json.loads(ws_call(server, "core_courseformat_update_course", action="section_delete",
                                 courseid=course, ids=[new_section]))
    assert {"name": "section", "action": "remove", "fields": {"id": str(new_section)}} in removed
    assert len(_contents(server, course)) == len(before)
    bad = ws_call(server, "core_courseformat_update_course", action="explode", courseid=course)
    assert bad["exception"] == "core\\exception\\moodle_exception"


def test_new_module_delete_modules_and_duplicate(make_sandbox):
    server = make_sandbox()
    contents = _contents(server, 2)
    section = contents[1]["id"]
    refused = ws_call(server, "core_courseformat_new_module", courseid=2, modname="resource", targetsectionid=section)
    assert refused["errorcode"] == "Module resource does not support quick creation"
    ws_call(server, "core_courseformat_new_module", courseid=2, modname="subsection", targetsectionid=section)
    after = _contents(server, 2)
    assert after[-1]["component"] == "mod_subsection"
    victim = after[1]["modules"][0]["id"]
    assert ws_call(server, "core_course_delete_modules", cmids=[victim]) is None
    assert victim not in [m["id"] for s in _contents(server, 2) for m in s["modules"]]
    copy = ws_call(server, "core_course_duplicate_course", courseid=2, fullname="Copy", shortname="COPY1",
                   categoryid=2)
    assert copy["shortname"] == "COPY1"
    copied = _contents(server, copy["id"])
    assert sum(len(s["modules"]) for s in copied) == sum(len(s["modules"]) for s in _contents(server, 2))
