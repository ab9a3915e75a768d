"""PHP bracket encoding, LIKE escaping and URL hygiene."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from urllib.parse import parse_qsl, urlencode

from lms_console.services.lms.http import count_fields, encode_form, flatten_params, is_loopback_url, strip_html
from lms_console.services.lms.moodle import like_prefix
from lms_console.services.lms.parse import strip_token_from_url


def test_nested_structures_use_php_brackets():
    fields = flatten_params({
        "users": [{"username": "jdoe", "suspended": True, "customfields": [{"type": "jobtitle", "value": "QA"}]}],
        "members": [{"cohorttype": {"type": "idnumber", "value": "C1"}, "usertype": {"type": "id", "value": 5}}],
        "courseid": 14,
        "skip": None,
        "flag": False,
    })
    assert fields == [
        ("users[0][username]", "jdoe"),
        ("users[0][suspended]", "1"),
        ("users[0][customfields][0][type]", "jobtitle"),
        ("users[0][customfields][0][value]", "QA"),
        ("members[0][cohorttype][type]", "idnumber"),
        ("members[0][cohorttype][value]", "C1"),
        ("members[0][usertype][type]", "id"),
        ("members[0][usertype][value]", "5"),
        ("courseid", "14"),
        ("flag", "0"),
    ]


@given(st.lists(st.tuples(st.text(max_size=12), st.text(max_size=24)), max_size=8))
def test_form_encoding_is_exactly_urlencode(fields):
    # The fast path (plain ids and words go as they are) must give the very bytes urlencode gives.
    body = encode_form(fields)
    assert body == urlencode(fields).encode("ascii")
    assert parse_qsl(body.decode("ascii"), keep_blank_values=True) == [(k, v) for k, v in fields]


def test_field_counts_match_the_flattened_fields():
    value = {"users": [{"a": 1, "b": True, "c": None, "d": "x y", "e": 1.5, "f": [1, 2], "g": {"h": "i"}}]}
    assert count_fields(value) == len(flatten_params(value)) == 7
    assert encode_form(flatten_params(value)) == (
        b"users%5B0%5D%5Ba%5D=1&users%5B0%5D%5Bb%5D=1&users%5B0%5D%5Bd%5D=x+y&users%5B0%5D%5Be%5D=1.5&"
        b"users%5B0%5D%5Bf%5D%5B0%5D=1&users%5B0%5D%5Bf%5D%5B1%5D=2&users%5B0%5D%5Bg%5D%5Bh%5D=i")


def test_empty_list_sends_nothing_and_unknown_types_are_refused():
    assert flatten_params({"cohortids": []}) == []
    with pytest.raises(TypeError):
        flatten_params({"x": object()})


@given(st.text(max_size=20))
def test_like_prefix_escapes_wildcards(prefix):
    pattern = like_prefix(prefix)
    assert pattern.endswith("%")
    body = pattern[:-1]
    # every %, _ and backslash of the prefix is escaped, so it only matches literally
    i = 0
    while i < len(body):
        if body[i] == "\\":
            assert body[i + 1] in "\\%_"
            i += 2
        else:
            assert body[i] not in "%_"
            i += 1


def test_strip_html_and_tokens_in_urls():
    assert strip_html("<div>Passwords must be at least 8 characters long.</div><div>1 digit</div>") == \
        "Passwords must be at least 8 characters long. 1 digit"
    assert strip_token_from_url("https://m.example/webservice/pluginfile.php/5/x/a.pdf?forcedownload=1&token=abc") \
        == "https://m.example/webservice/pluginfile.php/5/x/a.pdf?forcedownload=1"
    assert is_loopback_url("http://127.0.0.1:8080") and is_loopback_url("http://localhost/")
    assert not is_loopback_url("http://moodle.example.org")
