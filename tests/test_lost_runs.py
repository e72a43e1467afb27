"""A finished run must never be lost (issue 18): outputs checked before anything is sent, a
report that still cannot be written keeps the result elsewhere and says where, numbers that
cannot be run refused up front, SIGHUP stops a run as SIGTERM does."""
import json
import os
import signal
import subprocess
import sys

import pytest
from bounded import bounded

from conftest import assert_one_line_error, run_lunge, wait_for
from lunge.results import load

HUGE = "99999999999999999999"


def _perf(target, *args, cwd=None, stdout=None, timeout=60) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    return subprocess.run([sys.executable, "-m", "lunge", "perf", "--url", f"{target.url}/", "--no-resources",
                           "--progress-interval", "0", *map(str, args)], cwd=cwd, env=env, text=True,
                          stdout=stdout if stdout is not None else subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout)


def _kept(proc, cwd) -> str:
    """The path the one error line says the result is kept in (relative to the run's cwd)."""
    line = proc.stderr.strip().splitlines()[-1]
    assert "kept in '" in line, proc.stderr
    path = line.split("kept in '", 1)[1].split("'", 1)[0]
    return os.path.join(cwd, path)


# ------------------------------------------------------------------ 4. outputs checked before the run


@pytest.mark.parametrize("case", ["directory", "under a file", "missing directory", "missing under a file"])
def test_an_output_that_cannot_be_written_is_refused_before_the_run(fresh_target, tmp_path, case):
    (tmp_path / "a-file").write_text("x")
    path, needle = {
        "directory": (tmp_path, "is a directory"),
        "under a file": (tmp_path / "a-file" / "r.json", "is not a directory"),
        "missing directory": (tmp_path / "no" / "such" / "r.json", "does not exist"),
        "missing under a file": (tmp_path / "a-file" / "sub" / "r.json", "is not a directory"),
    }[case]
    p = _perf(fresh_target, "-n", 5, "--format", "json", "-o", path)
    assert_one_line_error(p, "--output", needle)
    assert fresh_target.stats()["requests"] == 0  # refused before anything was sent
    assert not (tmp_path / "no").exists()  # no directory the user did not ask for
    assert (tmp_path / "a-file").read_text() == "x"


def test_each_format_s_path_is_checked_with_several_formats(fresh_target, tmp_path):
    # a base name: run.json is fine, but run.html is a directory
    (tmp_path / "run.html").mkdir()
    p = _perf(fresh_target, "-n", 5, "--format", "json", "--format", "html", "-o", tmp_path / "run")
    assert_one_line_error(p, "--output", "run.html", "is a directory")
    assert fresh_target.stats()["requests"] == 0 and not (tmp_path / "run.json").exists()


def test_a_config_output_in_a_missing_directory_is_refused_naming_the_field(fresh_target, tmp_path):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({
        "requests": {"home": {"method": "GET", "url": f"{fresh_target.url}/"}},
        "performance": {"t": {"request": "home", "load": {"iterations": 5},
                              "reporting": {"formats": ["json"], "output": {"json": "results/load.json"}}}}}))
    p = subprocess.run([sys.executable, "-m", "lunge", "perf", "-c", cfg, "-p", "t", "--no-resources"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert_one_line_error(p, "reporting.output", "results", "does not exist")
    assert fresh_target.stats()["requests"] == 0 and not (tmp_path / "results").exists()


def test_the_check_creates_and_truncates_nothing(fresh_target, tmp_path):
    # --cacert is checked after the outputs, still before the run: the run never starts
    old = tmp_path / "old.json"
    old.write_text("keep me")
    for out in (old, tmp_path / "new.json", tmp_path / "base"):
        p = _perf(fresh_target, "-n", 5, "--format", "json", "--format", "csv", "-o", out,
                  "--cacert", tmp_path / "missing.pem")
        assert_one_line_error(p, "missing.pem")
    assert old.read_text() == "keep me"
    assert sorted(f.name for f in tmp_path.iterdir()) == ["old.json"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_an_output_directory_without_write_permission_is_refused(fresh_target, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    p = _perf(fresh_target, "-n", 5, "--format", "json", "-o", ro / "r.json")
    assert_one_line_error(p, "--output", "ro")
    assert fresh_target.stats()["requests"] == 0


# ------------------------------------------------------------------ 4. writing fails after the run


def test_a_full_device_keeps_the_result_and_says_where(fresh_target, tmp_path):
    p = _perf(fresh_target, "-n", 20, "--format", "json", "-o", "/dev/full", cwd=tmp_path)
    assert p.returncode == 74, p.stderr  # ReportError's status
    assert "Traceback" not in p.stderr
    [line] = p.stderr.splitlines()
    assert line.startswith("lunge: --output: cannot write '/dev/full' (No space left on device)"), line
    kept = _kept(p, tmp_path)
    assert os.path.basename(kept).startswith("lunge-result-") and kept.endswith(".json")
    r = load(kept)
    assert r.completed == 20 == fresh_target.stats()["requests"]
    assert "Requests     20 in" in p.stdout  # the text summary still printed


def test_other_formats_are_still_written_when_one_fails(fresh_target, tmp_path):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({
        "requests": {"home": {"method": "GET", "url": f"{fresh_target.url}/"}},
        "performance": {"t": {"request": "home", "load": {"iterations": 20},
                              "reporting": {"formats": ["json", "html", "csv"],
                                            "output": {"json": "/dev/full", "html": "r.html", "csv": "r.csv"}}}}}))
    p = subprocess.run([sys.executable, "-m", "lunge", "perf", "-c", cfg, "-p", "t", "--no-resources",
                        "--progress-interval", "0"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert p.returncode == 74, p.stderr
    assert "Traceback" not in p.stderr
    assert (tmp_path / "r.html").stat().st_size > 1000 and (tmp_path / "r.csv").exists()
    assert load(_kept(p, tmp_path)).completed == 20


def test_a_baseline_store_that_cannot_be_written_is_refused_before_the_run(fresh_target, tmp_path):
    (tmp_path / ".lunge").write_text("not a directory")
    p = _perf(fresh_target, "-n", 5, "--baseline", cwd=tmp_path)
    assert_one_line_error(p, "--baseline", ".lunge")  # known before the run
    assert fresh_target.stats()["requests"] == 0


def test_a_template_that_fails_as_it_renders_keeps_the_result(fresh_target, tmp_path):
    # the sandbox refuses this only while rendering, after the run
    t = tmp_path / "evil.html"
    t.write_text("{{ ''.__class__.__mro__[1].__subclasses__() }}")
    p = _perf(fresh_target, "-n", 5, "--format", "html", "-o", tmp_path / "r.html", "--template", t, cwd=tmp_path)
    assert_one_line_error(p, "--template", "unsafe", "the result is kept in")
    assert load(_kept(p, tmp_path)).completed == 5 == fresh_target.stats()["requests"]
    assert not (tmp_path / "r.html").exists()


# ------------------------------------------------------------------ 6. stdout that cannot be written


def test_a_text_report_to_a_full_stdout_is_one_line_and_keeps_the_result(fresh_target, tmp_path):
    with open("/dev/full", "w") as full:
        p = _perf(fresh_target, "-n", 20, cwd=tmp_path, stdout=full)
    assert p.returncode == 74, p.stderr
    assert "Traceback" not in p.stderr and "Exception ignored" not in p.stderr, p.stderr
    [line] = p.stderr.splitlines()
    assert line.startswith("lunge: cannot write the text report to stdout (No space left on device)"), line
    assert load(_kept(p, tmp_path)).completed == 20 == fresh_target.stats()["requests"]


def test_a_full_stdout_does_not_stop_the_other_formats(fresh_target, tmp_path):
    with open("/dev/full", "w") as full:
        p = _perf(fresh_target, "-n", 20, "--format", "text", "--format", "json", "--format", "html",
                  "-o", tmp_path / "run", cwd=tmp_path, stdout=full)
    assert p.returncode == 74, p.stderr
    assert "Traceback" not in p.stderr and "Exception ignored" not in p.stderr, p.stderr
    assert (tmp_path / "run.html").exists()
    assert load(str(tmp_path / "run.json")).completed == 20
    assert p.stderr.splitlines()[-1].endswith(f"the result is kept in '{tmp_path / 'run.json'}'"), p.stderr
    assert not [f for f in os.listdir(tmp_path) if f.startswith("lunge-result-")]  # run.json holds it


# ------------------------------------------------------------------ 5. numbers that cannot be run


@pytest.mark.parametrize("args, flag", [
    (("-n", HUGE), "--iterations"),
    (("-n", "1", "--rps", "1e308"), "--rps"),
    (("-D", "1s", "--rps", "1e20"), "--rps"),
    (("-n", "1", "--warmup-iterations", HUGE), "--warmup-iterations"),
    (("-n", "1", "--low-speed-limit", HUGE), "--low-speed-limit"),
    (("-n", "1", "--max-redirects", HUGE), "--max-redirects"),
    (("-n", "1", "--max-concurrency", HUGE), "--max-concurrency"),
    (("-n", "1", "--concurrency", HUGE, "--max-concurrency", HUGE), "--max-concurrency"),
    (("-n", "1", "--pattern", "step:1e308@1s"), "--pattern"),
    (("-n", "1", "--pattern", "linear:1:1e308:1s"), "--pattern"),
    (("-n", "1", "--rps", "1e-300", "--warmup-iterations", "5"), "--warmup-iterations"),
])
def test_numbers_out_of_range_are_refused_before_the_run(fresh_target, args, flag):
    p = bounded("perf", "--url", f"{fresh_target.url}/", "--no-resources", *args, timeout=30)
    assert_one_line_error(p, flag, "out of range")
    assert fresh_target.stats()["requests"] == 0


def test_a_counted_warmup_at_a_rate_of_nothing_is_refused(fresh_target):
    # the pattern sends nothing in its first minute: the warmup's span divided by 0
    p = bounded("perf", "--url", f"{fresh_target.url}/", "--no-resources", "--pattern", "step:0@100s,10@1s",
                "--warmup-iterations", 5, "-n", 1, timeout=30)
    assert_one_line_error(p, "--warmup-iterations", "first minute")
    assert fresh_target.stats()["requests"] == 0


def test_a_custom_pattern_scheduling_too_many_requests_is_refused_before_the_run(fresh_target, tmp_path):
    (tmp_path / "hugepattern.py").write_text(
        "class Huge:\n"
        "    def rate(self, elapsed):\n        return 1e300\n"
        "    def is_complete(self, elapsed):\n        return elapsed >= 1\n")
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    p = subprocess.run([sys.executable, "-m", "lunge", "perf", "--url", f"{fresh_target.url}/", "--no-resources",
                        "--pattern", "custom:hugepattern:Huge", "-n", "1"], capture_output=True, text=True,
                       timeout=30, cwd=tmp_path, env={**env, "PYTHONPATH": str(tmp_path)})
    assert_one_line_error(p, "load.pattern", "out of range")
    assert fresh_target.stats()["requests"] == 0


@pytest.mark.parametrize("load, field", [
    ({"iterations": 1, "rps": 1e308}, "--rps"),
    ({"duration": "1s", "pattern": {"type": "step", "steps": [{"rps": 1e308, "duration": "1s"}]}}, "pattern"),
    ({"iterations": 9_000_000_000_000_000_000}, "--iterations"),
    ({"iterations": 1, "concurrency": 1, "warmup": {"iterations": 9_000_000_000_000_000_000}}, "--warmup-iterations"),
])
def test_the_same_numbers_from_a_config_are_refused(fresh_target, tmp_path, load, field):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"requests": {"home": {"method": "GET", "url": f"{fresh_target.url}/"}},
                               "performance": {"t": {"request": "home", "load": load}}}))
    p = bounded("perf", "-c", cfg, "-p", "t", "--no-resources", timeout=30)
    assert_one_line_error(p, field, "out of range")
    assert fresh_target.stats()["requests"] == 0


# ------------------------------------------------------------------ 7. SIGHUP


@pytest.mark.slow
def test_sighup_stops_the_run_like_sigterm(fresh_target, tmp_path):
    out = tmp_path / "r.json"
    proc = subprocess.Popen([sys.executable, "-m", "lunge", "perf", "--url", f"{fresh_target.url}/",
                             "--concurrency", "2", "--duration", "30s", "--format", "json", "--output", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:  # the handler is in place before the first request
        wait_for(lambda: fresh_target.stats()["requests"] > 0, "the target to count a request", proc=proc)
    except BaseException:
        proc.kill()
        raise
    proc.send_signal(signal.SIGHUP)
    _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    doc = json.loads(out.read_text())
    assert doc["interrupted"] and doc["metrics"]["totalRequests"] == fresh_target.stats()["requests"]


def test_a_report_that_cannot_be_opened_leaves_the_existing_file_alone(tmp_path, monkeypatch):
    # open() failing (EACCES on an existing file; as root only a fake can) writes nothing: the
    # file there is the user's, not half a report of this call's, and must not be removed
    import builtins

    from lunge import report
    from lunge.errors import ReportError
    from synth import make_result

    mine = tmp_path / "mine.json"
    mine.write_text("the user's own file")
    real_open = builtins.open

    def refusing_open(file, *a, **kw):
        if os.fspath(file) == str(mine):
            raise PermissionError(13, "Permission denied", str(mine))
        return real_open(file, *a, **kw)

    monkeypatch.setattr(builtins, "open", refusing_open)
    with pytest.raises(ReportError, match="Permission denied"):
        report.write(make_result([5.0, 5.0]), "json", str(mine))
    monkeypatch.undo()
    assert mine.read_text() == "the user's own file"


BAD_BASELINE = '{"format": "lunge-result/1"}'


def test_a_bad_baseline_with_compare_is_refused_before_the_run(fresh_target, tmp_path):
    store = tmp_path / ".lunge" / "baselines"
    store.mkdir(parents=True)
    (store / "bt@default.json").write_text(BAD_BASELINE)
    p = _perf(fresh_target, "-n", 20, "--name", "bt", "--compare", "--format", "json", "-o", "out.json",
              cwd=tmp_path)
    assert_one_line_error(p, "--compare", "bt@default.json")  # bad input: exit 2
    assert fresh_target.stats()["requests"] == 0  # known before anything was sent
    assert not (tmp_path / "out.json").exists()


def test_a_bad_baseline_is_refused_before_the_run_without_a_name_and_with_an_env(fresh_target, tmp_path):
    # the baseline's name is the plan's (METHOD URL when there is no --name), and -e is in its
    # file name: both are known before the run, so the check is made then too
    from lunge.analysis import baselines

    url = f"{fresh_target.url}/"
    doc = {"environments": {"stage": {"baseUrl": fresh_target.url}}, "requests": {"r": {"url": "/"}},
           "performance": {"t": {"name": "env test", "request": "r", "load": {"iterations": 20}}}}
    (tmp_path / "c.json").write_text(json.dumps(doc))
    for name, env, args in ((f"GET {url}", None, ("--url", url, "-n", "20")),
                            ("env test", "stage", ("-c", "c.json", "-e", "stage", "-p", "t"))):
        path = tmp_path / baselines.path_for(name, env)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(BAD_BASELINE)
        p = run_lunge("perf", *args, "--compare", "--format", "json", "-o", "out.json", cwd=tmp_path)
        assert_one_line_error(p, "--compare")
        assert fresh_target.stats()["requests"] == 0
        assert not (tmp_path / "out.json").exists()


def test_a_baseline_that_fails_only_after_the_run_keeps_the_run(tmp_path, monkeypatch, capsys):
    # finish() not handed a checked baseline (it went bad during the run): warn, compare
    # nothing, and write every report as usual; never lose the run
    from lunge.cli import finish
    from lunge.settings import Settings
    from synth import make_result

    monkeypatch.chdir(tmp_path)
    store = tmp_path / ".lunge" / "baselines"
    store.mkdir(parents=True)
    (store / "synthetic@default.json").write_text(BAD_BASELINE)
    s = Settings.layered({"compare": True, "formats": ("json",), "output": {"json": "out.json"}})
    assert finish.finish(make_result([5.0, 5.0]), s) == 0
    assert load(str(tmp_path / "out.json")).completed == 400
    err = capsys.readouterr().err
    assert "warning: --compare" in err and "synthetic@default.json" in err and "not compared" in err
