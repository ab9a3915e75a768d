"""The PHP parse_str-like parser: bracket syntax, auto-indexing, GET/POST merge and max_input_vars."""

from lms_console.sandbox.phpparams import flatten, parse_pairs, parse_str, php_array_merge, split_query


def test_nested_brackets_and_numeric_keys():
    parsed = parse_str("users%5B0%5D%5Busername%5D=x&users[0][customfields][0][type]=a&options[ids][0]=14"
                       "&criteria[1][key]=email&criteria[1][value]=%25")
    assert parsed == {"users": {0: {"username": "x", "customfields": {0: {"type": "a"}}}},
                      "options": {"ids": {0: "14"}}, "criteria": {1: {"key": "email", "value": "%"}}}


def test_empty_brackets_append_and_later_values_win():
    assert parse_str("a[]=1&a[]=2&a[5]=x&a[]=3") == {"a": {0: "1", 1: "2", 5: "x", 6: "3"}}
    assert parse_str("k=1&k=2") == {"k": "2"}
    assert parse_str("k=1&k[x]=2") == {"k": {"x": "2"}}


def test_php_name_mangling_and_plus_decoding():
    assert parse_str("a.b=1&c d=2&e[f=3&q=a+b%2Bc") == {"a_b": "1", "c_d": "2", "e_f": "3", "q": "a b+c"}
    assert parse_str("[x]=1&=2") == {}


def test_max_input_vars_drops_the_rest_silently():
    text = "field=id&" + "&".join(f"values[{i}]={1000 + i}" for i in range(20)) + "&values[20]=2"
    parsed, dropped = parse_pairs(split_query(text), max_input_vars=10)
    assert dropped == 12
    assert list(parsed["values"].values()) == [str(1000 + i) for i in range(9)]
    assert "2" not in parsed["values"].values()


def test_get_post_merge_like_array_merge():
    merged = php_array_merge({"wstoken": "g", "a": {0: "1"}}, {"a": {1: "2"}, "b": "x"})
    assert merged == {"wstoken": "g", "a": {1: "2"}, "b": "x"}


def test_flatten_roundtrip():
    params = {"users": [{"username": "x", "customfields": [{"type": "jobtitle", "value": "QA"}]}], "flag": True}
    pairs = flatten(params)
    assert ("users[0][customfields][0][value]", "QA") in pairs and ("flag", "1") in pairs
    assert parse_pairs(pairs)[0] == {"users": {0: {"username": "x", "customfields": {0: {"type": "jobtitle",
                                                                                           "value": "QA"}}}},
                                     "flag": "1"}
