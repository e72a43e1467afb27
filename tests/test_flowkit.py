"""The flow engine's JSON path finder (csrc/lunge_json.h): what it finds agrees with Python's
json module on any document, and it never reads past a truncated or malformed one."""
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lunge._native.flowkit import is_plain_path, json_path

DOC = json.dumps({"token": "abc\u00e9\"x/\U0001F600", "data": [{"id": 7, "n": None, "ok": True}, {"id": 8.5e3}],
                  "0": {"id": "k"}, "empty": [], "nested": {"a": {"b": [[1, 2], [3]]}}}).encode()


@pytest.mark.parametrize("path, expected", [
    ("$.token", ("string", "abc\u00e9\"x/\U0001F600")),
    ("$.data[1].id", ("number", "8500.0")),
    ("$.data.0.id", ("number", "7")),            # gjson: a number is an index
    ("$.data[0].n", ("null", "null")),
    ("$.data[0].ok", ("true", "true")),
    ("$.data.#", ("count", "2")),                # gjson: the length
    ("$.empty.#", ("count", "0")),
    ("$.0.id", ("string", "k")),                 # ... or a key, on an object
    ("$['nested']['a'][\"b\"][0][1]", ("number", "2")),
    ("$.nested.a.b[1]", ("array", "[3]")),
    ("$.data[2]", None), ("$.nope", None), ("$.token.x", None), ("$.data[0].id.x", None),
])
def test_paths(path, expected):
    assert json_path(DOC, path) == expected


@pytest.mark.parametrize("path", ["$..id", "$.data[*].id", "$.data[?(@.id>1)]", "$.data[-1]", "$.data[0:2]",
                                  "$.", "$.a.", "$[abc]", "token"])
def test_paths_that_need_python(path):
    assert not is_plain_path(path)
    with pytest.raises(ValueError):
        json_path(DOC, path)


keys = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\"'\\.[]#\x00"), min_size=1, max_size=6)
values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.text(max_size=8),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(keys, kids, max_size=4), max_leaves=20)


def _walk(doc, max_steps=6):
    """Every (path, value) reachable in doc by plain steps."""
    out = [("$", doc)]
    frontier = [("$", doc)]
    for _ in range(max_steps):
        nxt = []
        for path, v in frontier:
            if isinstance(v, dict):
                nxt += [(f"$['{k}']" if path == "$" else f"{path}['{k}']", x) for k, x in v.items()]
            elif isinstance(v, list):
                nxt += [(f"{path}[{i}]", x) for i, x in enumerate(v)]
        out += nxt
        frontier = nxt
    return out


def _expected(v):
    if isinstance(v, bool):
        return ("true", "true") if v else ("false", "false")
    if v is None:
        return ("null", "null")
    if isinstance(v, str):
        return ("string", v)
    if isinstance(v, int):
        return ("number", str(v))
    return ("object" if isinstance(v, dict) else "array", None)


@settings(max_examples=300, deadline=None)
@given(values, st.sampled_from([0, 1, 2]))
def test_agrees_with_json_module(doc, indent):
    text = json.dumps(doc, indent=indent or None, ensure_ascii=bool(indent % 2)).encode()
    for path, v in _walk(doc):
        got = json_path(text, path)
        want = _expected(v)
        assert got is not None and got[0] == want[0], (path, got, want)
        if want[1] is not None:
            assert got[1] == want[1], (path, got)
        else:
            assert json.loads(got[1]) == v


@settings(max_examples=300, deadline=None)
@given(values, st.data())
def test_truncated_or_mangled_documents_are_safe(doc, data):
    text = json.dumps(doc).encode()
    cut = data.draw(st.integers(0, len(text)))
    mangled = text[:cut] + data.draw(st.binary(max_size=4))
    for path, _ in _walk(doc)[:20]:
        json_path(mangled, path)  # any answer or None, never a crash or a read past the end


# ---------------------------------------------------------------- request templates (csrc/lunge_tmpl.h)

import re  # noqa: E402
import uuid  # noqa: E402

from lunge._native.flowkit import render  # noqa: E402


def test_template_renders_literals_variables_and_the_vus_counters():
    segs = [("lit", "http://h/users/"), ("var", 1), ("lit", "?i="), ("iteration",), ("lit", "&vu="), ("vuId",),
            ("lit", "&t="), ("timestamp",), ("lit", "&ms="), ("timestampMs",)]
    assert render(segs, [b"unused", b"42"], iteration=7, vu=3, now_ms=1700000000123) == \
        b"http://h/users/42?i=7&vu=3&t=1700000000&ms=1700000000123"
    assert render([("var", 0)], [b""]) == b""                 # set, but empty
    assert render([("iteration",)], [], iteration=2**64 - 1) == str(2**64 - 1).encode()


def test_template_refuses_what_it_cannot_render():
    assert render([("lit", "a"), ("var", 0)], [None]) is None    # the flow's earlier extraction failed
    assert render([("var", 3)], [b"x"]) is None                  # no such variable
    assert render([("lit", "x" * 10)], [], cap=9) is None        # never past the VU's buffer
    assert render([("lit", "x" * 10)], [], cap=10) == b"x" * 10
    assert render([("uuid",)], [], cap=35) is None


def test_uuids_are_version_4_and_differ():
    seen = set()
    for seed in range(1, 200):
        u = render([("uuid",)], [], seed=seed).decode()
        assert uuid.UUID(u).version == 4 and re.fullmatch(r"[0-9a-f-]{36}", u)
        seen.add(u)
    assert len(seen) == 199


def test_random_ints_stay_in_their_range():
    got = {int(render([("randomInt", -3, 3)], [], seed=s)) for s in range(1, 400)}
    assert got == set(range(-3, 4))
    assert int(render([("randomInt", 5, 5)], [], seed=7)) == 5


@pytest.mark.parametrize("ms", [0, 1, 951782400000, 1700000000123, 1796541600999, 4102444800000, 253402300799999,
                                68719476735999])
def test_iso_timestamps_agree_with_datetime(ms):
    import datetime

    want = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc)
    want = want.replace(microsecond=(ms % 1000) * 1000)
    got = render([("isoTimestamp",)], [], now_ms=ms).decode()
    assert got == want.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
    assert render([("lit", "t="), ("isoTimestamp",)], [], now_ms=1796541600123) == b"t=2026-12-06T07:20:00.123Z"
