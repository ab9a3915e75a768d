"""validate() follows external_api::validate_parameters."""

import pytest

from lms_console.sandbox.errors import MoodleError
from lms_console.sandbox.validation import (BOOL, DEFAULT, INT, OPTIONAL, RAW, USERNAME, Multiple, Single, Value,
                                            params, validate)

DESC = params(courseid=Value(INT), flag=Value(BOOL, DEFAULT, False), name=Value(RAW, OPTIONAL),
              items=Multiple(Single({"id": Value(INT), "username": Value(USERNAME)}), DEFAULT, []))


def error(value) -> MoodleError:
    with pytest.raises(MoodleError) as info:
        validate(DESC, value)
    assert info.value.errorcode == "invalidparameter"
    assert info.value.message == "Invalid parameter value detected"
    return info.value


def test_defaults_and_optional():
    assert validate(DESC, {"courseid": "5"}) == {"courseid": 5, "flag": False, "items": []}
    assert validate(DESC, {"courseid": "-3", "name": "x"})["name"] == "x"


@pytest.mark.parametrize("raw, expected", [("1", True), ("0", False)])
def test_bool_accepts_only_zero_and_one(raw, expected):
    assert validate(DESC, {"courseid": "1", "flag": raw})["flag"] is expected


@pytest.mark.parametrize("raw", ["true", "false", "yes", "", "2"])
def test_bool_rejects_words(raw):
    assert "expecting \"bool\" type" in error({"courseid": "1", "flag": raw}).debuginfo


@pytest.mark.parametrize("raw", ["abc", "05", "1.0", "", " 5", "5 "])
def test_int_must_be_canonical(raw):
    exc = error({"courseid": raw})
    assert exc.debuginfo == (f'courseid => Invalid parameter value detected: Invalid external api parameter: the value'
                             f' is "{raw}", the server was expecting "int" type')


def test_missing_and_unexpected_keys():
    assert error({}).debuginfo == "Missing required key in single structure: courseid"
    assert error({"courseid": "1", "foo": "bar"}).debuginfo == "Unexpected keys (foo) detected in parameter array."


def test_structure_errors_carry_the_path():
    exc = error({"courseid": "1", "items": {0: {"id": "1", "username": "Bob"}}})
    assert exc.debuginfo.startswith("items => Invalid parameter value detected: username => ")
    assert "Only arrays accepted" in error({"courseid": "1", "items": "x"}).debuginfo
    assert "Scalar type expected" in error({"courseid": {0: "1"}}).debuginfo
