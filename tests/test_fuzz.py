"""Bad input, fuzzed with hypothesis: config files, `lunge perf` flags, result files.

The only outcomes allowed: a valid plan (or a normal exit), or exit 2 with exactly one line on
stderr starting "lunge: ".  Never a traceback (an exception escaping `lunge.cli.main`).
Everything runs in-process for speed; `lunge perf` stops at the plan (runner.run is replaced),
after building the engine's arguments, so nothing is sent.
"""
from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lunge import cli, runner
from lunge.prepare import prepare

EXAMPLE = json.loads((Path(__file__).resolve().parent.parent / "examples" / "items.json").read_text())
FUZZ = settings(max_examples=int(os.environ.get("LUNGE_FUZZ_EXAMPLES", 500)), deadline=None, suppress_health_check=[HealthCheck.too_slow],
                derandomize=bool(os.environ.get("CI")))
TMP = Path(tempfile.mkdtemp(prefix="lunge-fuzz-"))


class Planned(Exception):
    """Raised instead of running: the flags made a plan."""


@pytest.fixture(autouse=True)
def _stop_at_the_plan(monkeypatch):
    def fake_run(plan, on_tick=None, monitor=None, workers=None):
        prepare(plan).engine_kwargs()  # what the engine would be given: must build too
        plan.configuration()
        raise Planned()

    monkeypatch.setattr(runner, "run", fake_run)


def invoke(*argv) -> tuple[int | str, str, str]:
    """`lunge ARGV` in-process: (exit status or "planned", stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            cli.main(list(argv))
        except SystemExit as e:
            return e.code, out.getvalue(), err.getvalue()
        except Planned:
            return "planned", out.getvalue(), err.getvalue()
    raise AssertionError("lunge.cli.main returned without exiting")


def assert_clean(code, err, allowed=(0, "planned")):
    if code in allowed:
        assert "Traceback" not in err
        return
    assert code == 2, (code, err)
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("lunge: "), err


# ---------------------------------------------------------------- values

huge = st.sampled_from([10**400, -10**400, 2**63, 2**64 + 1, -1, 0, 1e308, -1e308, 1e-320])
texts = st.one_of(st.text(max_size=30), st.sampled_from(["", " ", "\x00", "\n", "é", "😀", "1e999", "nan", "inf",
                                                         "-1", "0", "{{", "{{x}}", "${HOME}", "@/nonexistent"]))
scalars = st.one_of(st.none(), st.booleans(), st.integers(), huge, st.floats(allow_nan=True), texts)
json_values = st.recursive(scalars, lambda kids: st.one_of(st.lists(kids, max_size=4),
                                                            st.dictionaries(texts, kids, max_size=4)),
                           max_leaves=12)


def write(doc, name="c.json") -> str:
    path = TMP / name
    # json.dumps keeps NaN/Infinity and huge integers: the loader must refuse them cleanly
    path.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    return str(path)


def paths_of(doc, prefix=()):
    """Every path (tuple of keys/indices) in a JSON document."""
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from paths_of(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from paths_of(v, prefix + (i,))


EXAMPLE_PATHS = [p for p in paths_of(EXAMPLE) if p]


def mutate(doc, path, value, delete=False):
    doc = copy.deepcopy(doc)
    parent = doc
    for k in path[:-1]:
        parent = parent[k]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return doc


# ---------------------------------------------------------------- the config loader

@pytest.mark.slow
@FUZZ
@given(json_values)
def test_validate_random_json(doc):
    code, _, err = invoke("validate", "-c", write(doc))
    assert_clean(code, err)


@pytest.mark.slow
@FUZZ
@given(st.lists(st.tuples(st.sampled_from(EXAMPLE_PATHS), json_values, st.booleans()), min_size=1, max_size=3))
def test_validate_mutated_example(changes):
    doc = EXAMPLE
    for path, value, delete in changes:
        try:
            doc = mutate(doc, path, value, delete)
        except (KeyError, IndexError, TypeError):  # an earlier change removed the path
            pass
    code, _, err = invoke("validate", "-c", write(doc))
    assert_clean(code, err)


PERF_PATHS = [p for p in EXAMPLE_PATHS if p[0] in ("performance", "requests", "environments")]


@pytest.mark.slow
@FUZZ
@given(st.sampled_from(PERF_PATHS), json_values, st.booleans(), st.sampled_from(["fetchLoad", "smoke"]))
@example(("requests", "createItem", "timeout"), 10 ** 400, False, "fetchLoad")  # found: float() overflowed
def test_perf_from_mutated_config(path, value, delete, test):
    doc = mutate(EXAMPLE, path, value, delete)
    code, _, err = invoke("perf", "-c", write(doc), "-e", "local", "-p", test)
    assert_clean(code, err)


@pytest.mark.slow
def test_perf_with_integers_beyond_a_float_anywhere():
    # JSON integers have no bound; a float() of one raises OverflowError.  Every field, both signs.
    for path in PERF_PATHS:
        for value in (10 ** 400, -10 ** 400):
            code, _, err = invoke("perf", "-c", write(mutate(EXAMPLE, path, value, False)), "-e", "local",
                                  "-p", "fetchLoad")
            assert_clean(code, err)


@pytest.mark.slow
@FUZZ
@given(st.binary(max_size=200), st.sampled_from(["c.json", "c.yaml"]))
@example(b"\x00", "c.yaml")  # found: a YAML reader error spanning two lines
@example(b"?", "c.yaml")  # found: a null YAML key crashed the did-you-mean hint
def test_validate_random_bytes(data, name):
    path = TMP / name
    path.write_bytes(data)
    code, _, err = invoke("validate", "-c", str(path))
    assert_clean(code, err)


# ---------------------------------------------------------------- the perf flag parser

number_text = st.one_of(st.integers(-5, 10**6).map(str), st.floats(allow_nan=True, allow_infinity=True).map(str),
                        st.sampled_from(["1e309", "-0", "0x10", "1_000", "١٢", "10**9", "99999999999999999999"]))
duration_text = st.one_of(number_text, st.sampled_from(["1ms", "250ms", "1s", "2m", "1h", "1m30s", "0s", "1us",
                                                        "5µs", "10d", "ms", "1.5.5s", "-1s", "9999999h", "1e3s"]))
pattern_text = st.one_of(texts, st.builds(lambda kind, a, b, c: f"{kind}:{a}:{b}:{c}",
                                          st.sampled_from(["linear", "step", "custom", "constant", ""]),
                                          number_text, number_text, duration_text),
                         st.builds(lambda a, b, c, d: f"step:{a}@{b},{c}@{d}", number_text, duration_text,
                                   number_text, duration_text))
FLAGS = {
    "--concurrency": number_text, "-n": number_text, "--duration": duration_text, "--rps": number_text,
    "--pattern": pattern_text, "--ramp-up": duration_text, "--ramp-down": duration_text,
    "--warmup": duration_text, "--warmup-iterations": number_text, "--backoff": st.one_of(duration_text, texts),
    "--workers": number_text, "--shard": st.one_of(texts, st.builds("{}/{}".format, number_text, number_text)),
    "--timeout": duration_text, "--connect-timeout": duration_text, "--grace": duration_text,
    "--max-redirects": number_text, "--max-concurrency": number_text, "-X": texts, "-H": texts, "-d": texts,
    "--name": texts, "--format": texts, "--cacert": texts, "--cert": texts, "--key": texts,
    "--variants": number_text, "--var": texts, "-p": texts, "-e": texts,
    "--threshold": st.one_of(texts, st.builds("{}: {} {} {}".format, texts, st.sampled_from(["rate", "count", "p95"]),
                                              st.sampled_from(["<", "!=", "<>"]), texts)),
    "--output": texts,
}
BOOL_FLAGS = ["--insecure", "--http2", "-L", "--json", "--html", "-q", "-v"]
urls = st.one_of(st.just("http://127.0.0.1:9/"), texts, st.builds("http://{}/".format, texts),
                 st.sampled_from(["https://[::1]:99999/", "http://:80/", "ftp://x/", "http://a b/", "http://[/",
                                  "http://127.0.0.1:0/", "http://user:pw@127.0.0.1:9/x?q=1#f"]))


@st.composite
def perf_argv(draw):
    argv = ["perf"]
    if draw(st.integers(0, 9)):  # usually a URL
        argv += ["--url", draw(urls)]
    names = draw(st.lists(st.sampled_from(sorted(FLAGS)), max_size=5, unique=True))
    if not draw(st.integers(0, 5)):  # sometimes a flag without its value
        names.append(draw(st.sampled_from(sorted(FLAGS))))
        argv += [a for n in names[:-1] for a in (n, draw(FLAGS[n]))] + [names[-1]]
    else:
        argv += [a for n in names for a in (n, draw(FLAGS[n]))]
    argv += draw(st.lists(st.sampled_from(BOOL_FLAGS), max_size=2, unique=True))
    return argv


@pytest.mark.slow
@FUZZ
@given(perf_argv())
def test_perf_flags(argv):
    code, _, err = invoke(*argv)
    assert_clean(code, err)


@pytest.mark.slow
@FUZZ
@given(st.builds(lambda n, c, d, extra: ["perf", "--url", "http://127.0.0.1:9/", "-n", n, "--concurrency", c,
                                         *extra],
                 number_text, number_text, duration_text,
                 st.lists(st.sampled_from([("--rps", "100"), ("--duration", "1s"), ("--ramp-up", "500ms"),
                                           ("--workers", "2"), ("--shard", "1/2"), ("--warmup-iterations", "3"),
                                           ("--pattern", "linear:1:100:2s"), ("--backoff", "10ms:1s")]),
                          max_size=4, unique=True).map(lambda pairs: [a for p in pairs for a in p])))
def test_perf_flag_combinations_near_valid(argv):
    code, _, err = invoke(*argv)
    assert_clean(code, err)


# ---------------------------------------------------------------- result files for merge

def _valid_result() -> dict:
    """A real result document (a tiny run against a closed port), made once."""
    path = TMP / "seed-result.json"
    if not path.exists():
        from lunge import report
        from lunge.plan import for_url

        plan = for_url("http://127.0.0.1:9/", iterations=3, concurrency=1)
        report.write(runner_run(plan), "json", str(path))
    return json.loads(path.read_text())


runner_run = runner.run  # the real one, before the fixture replaces it


@pytest.fixture(scope="module")
def seed_result():
    return _valid_result()


@pytest.mark.slow
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture],
          derandomize=bool(os.environ.get("CI")))
@given(data=st.data())
def test_merge_mutated_results(seed_result, data):
    paths = [p for p in paths_of(seed_result) if p]
    doc = seed_result
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        try:
            doc = mutate(doc, path, data.draw(json_values), data.draw(st.booleans()))
        except (KeyError, IndexError, TypeError):
            pass
    a, b = write(doc, "a.json"), write(seed_result, "b.json")
    code, _, err = invoke("merge", a, b)
    assert_clean(code, err, allowed=(0,))


@pytest.mark.slow
@FUZZ
@given(json_values)
def test_merge_random_json(doc):
    code, _, err = invoke("merge", write(doc, "r.json"))
    assert_clean(code, err, allowed=(0,))


@pytest.mark.parametrize("path, value", [
    (("counters", "completed"), 10**400),   # found: merge overflowed converting it to float
    (("counters", "errors"), {"timeout": [1]}),  # found: merge added a list to an int
    (("configuration",), {}),               # found: the text report needs configuration.url
    (("histogram", "minNs"), -1),           # found: decoding overflowed uint64
    (("configuration", "durationMs"), [None]),  # found: the text report divided a list
])
def test_merge_found_bugs(seed_result, path, value):
    code, _, err = invoke("merge", write(mutate(seed_result, path, value), "a.json"), write(seed_result, "b.json"))
    assert_clean(code, err, allowed=())


@pytest.mark.parametrize("key", ["\r", "\n", "\u2028", "\x85"])
def test_config_key_with_a_line_break_is_one_line(key):
    # found: jsonschema's path of the bad value quoted the key as is
    doc = mutate(EXAMPLE, ("environments",), {key: None})
    code, _, err = invoke("validate", "-c", write(doc))
    assert_clean(code, err, allowed=())
