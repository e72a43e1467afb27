"""The original Go Lunge's commands and flags, accepted with its meaning (issue 17): `-v` for
the version, `help`, `completion`, `--environment`, `-t`/`-T` timeouts, `-v` on test and perf,
`-q`, `--json`, `--html`, `--output` by extension, `--no-color` and NO_COLOR."""
from __future__ import annotations

import csv
import json
import os
import pathlib
import pty
import re
import select
import subprocess
import sys
import time
from html.parser import HTMLParser

import pytest

from conftest import assert_one_line_error, lunge, run_lunge
from lunge import report

EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "items.json"
ANSI = "\x1b["


def _env(target) -> dict:
    return {"LUNGE_TARGET_PORT": str(target.port)}


# ---------------------------------------------------------------- commands

def test_short_v_is_the_version():
    short, long = run_lunge("-v"), run_lunge("--version")
    assert short.returncode == long.returncode == 0
    assert short.stdout == long.stdout and short.stdout.startswith("lunge ")


@pytest.mark.parametrize("command", [None, "perf", "get", "test", "completion"])
def test_help_command_is_dash_dash_help(command):
    via_help = run_lunge("help", *([command] if command else []))
    direct = run_lunge(*([command] if command else []), "--help")
    assert via_help.returncode == direct.returncode == 0, via_help.stderr
    assert via_help.stdout == direct.stdout and "Usage: lunge" in via_help.stdout


def test_help_for_an_unknown_command_is_one_line():
    assert_one_line_error(run_lunge("help", "nosuch"), "help", "'nosuch'", "perf")


@pytest.mark.parametrize("shell,marker", [("bash", "complete -o nosort -F _lunge_completion lunge"),
                                          ("zsh", "#compdef lunge"),
                                          ("fish", "complete --no-files --command lunge")])
def test_completion_scripts_for_each_shell(shell, marker):
    proc = run_lunge("completion", shell)
    assert proc.returncode == 0, proc.stderr
    assert marker in proc.stdout and "_LUNGE_COMPLETE" in proc.stdout


@pytest.mark.parametrize("shell,env,expect", [
    ("bash", {"COMP_WORDS": "lunge pe", "COMP_CWORD": "1"}, "plain,perf"),
    ("zsh", {"COMP_WORDS": "lunge pe", "COMP_CWORD": "1"}, "perf"),
    ("fish", {"COMP_WORDS": "lunge pe", "COMP_CWORD": "pe"}, "perf"),
])
def test_the_scripts_protocol_answers(shell, env, expect):
    # what the scripts run: lunge itself with _LUNGE_COMPLETE set, answering with completions
    proc = run_lunge(env={"_LUNGE_COMPLETE": f"{shell}_complete", **env})
    assert proc.returncode == 0, proc.stderr
    assert expect in proc.stdout


def test_completion_for_an_unknown_shell_is_one_line():
    assert_one_line_error(run_lunge("completion", "powershell"), "powershell")


# ---------------------------------------------------------------- --environment, timeouts, -v on test

def test_environment_long_form_on_run_test_and_perf(target, tmp_path):
    env = _env(target)
    assert run_lunge("run", "-c", str(EXAMPLE), "--environment", "local", "-r", "home", env=env).returncode == 0
    t = run_lunge("test", "-c", str(EXAMPLE), "--environment", "local", "-s", "items", env=env)
    assert t.returncode == 0, t.stdout + t.stderr
    p = run_lunge("perf", "-c", str(EXAMPLE), "--environment", "local", "-p", "smoke", "--format", "json", env=env)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["metrics"]["totalRequests"] == 100
    bad = run_lunge("test", "-c", str(EXAMPLE), "--environment", "nosuch", "-s", "items", env=env)
    assert bad.returncode == 2 and "nosuch" in bad.stderr


@pytest.mark.parametrize("method", ["get", "post", "put", "delete", "patch", "head"])
def test_short_t_timeout_on_the_request_commands(target, method):
    ok = run_lunge(method, f"{target.url}/", "-t", "5s")
    assert ok.returncode == 0, ok.stderr
    slow = run_lunge(method, f"{target.url}/delay/3000", "-t", "200ms")
    assert slow.returncode == 1 and "tim" in slow.stderr.lower(), slow.stderr  # timed out / timeout


def test_bad_timeout_value_is_one_line():
    assert_one_line_error(run_lunge("get", "http://127.0.0.1:1/", "-t", "5x"), "--timeout", "5x")
    assert_one_line_error(run_lunge("test", "-c", str(EXAMPLE), "-s", "items", "-T", "soon"), "--timeout", "soon")


def _slow_config(target, tmp_path) -> pathlib.Path:
    cfg = {"environments": {"local": {"baseUrl": target.url}},
           "requests": {"slow": {"url": "/delay/3000"}, "quick": {"url": "/delay/10"}},
           "suites": {"s": {"tests": [{"name": "slow one", "request": "slow", "assertions": [{"status": 200}]}]},
                      "q": {"tests": [{"name": "quick one", "request": "quick", "assertions": [{"status": 200}]}]}}}
    path = tmp_path / "slow.json"
    path.write_text(json.dumps(cfg))
    return path


def test_run_takes_t_timeout(target, tmp_path):
    path = str(_slow_config(target, tmp_path))
    slow = run_lunge("run", "-c", path, "-e", "local", "-r", "slow", "-t", "200ms")
    assert slow.returncode == 1 and "tim" in slow.stderr.lower(), slow.stderr
    quick = run_lunge("run", "-c", path, "-e", "local", "-r", "quick", "--timeout", "5s")
    assert quick.returncode == 0, quick.stderr


def test_test_takes_capital_t_timeout_and_v(target, tmp_path):
    path = str(_slow_config(target, tmp_path))
    t0 = time.monotonic()
    slow = run_lunge("test", "-c", path, "-e", "local", "-s", "s", "-T", "200ms", "--format", "json")
    assert time.monotonic() - t0 < 2.5  # the suite's request gave up after 200 ms, not 3 s
    assert slow.returncode == 1
    assert "request failed" in json.loads(slow.stdout)["tests"][0]["error"]
    quiet = run_lunge("test", "-c", path, "-e", "local", "-s", "q", "--timeout", "5s")
    assert quiet.returncode == 0 and "> GET" not in quiet.stderr
    verbose = run_lunge("test", "-c", path, "-e", "local", "-s", "q", "-v")
    assert verbose.returncode == 0, verbose.stderr
    assert "> GET /delay/10 HTTP/1.1" in verbose.stderr and re.search(r"< HTTP/1\.1 200", verbose.stderr)
    assert "PASS" in verbose.stdout and "> GET" not in verbose.stdout  # the exchange goes to stderr


def test_perf_short_t_timeout(target):
    r = lunge("perf", "--url", f"{target.url}/delay/3000", "-n", 2, "--concurrency", 2, "-t", "200ms",
              "--format", "json")
    assert r.code == 0, r.err
    doc = r.json()
    assert doc["configuration"]["timeoutMs"] == 200 and doc["metrics"]["errors"] == {"timeout": 2}


# ---------------------------------------------------------------- perf: -v, -q, --json, --html, --output

def test_perf_verbose_describes_the_run_and_each_error_class(closed_port):
    r = lunge("perf", "--url", f"http://127.0.0.1:{closed_port}/", "-n", 5, "--concurrency", 2, "-v",
              "--threshold", "http_reqs: count > 1", "--format", "json")
    assert r.code == 0, r.err
    assert f"lunge: GET http://127.0.0.1:{closed_port}/\n" in r.err
    assert "lunge: closed model, 2 connections, 5 requests, timeout 30s" in r.err
    assert "lunge: threshold: http_reqs: count > 1" in r.err
    assert re.search(r"^lunge: errors: connection_refused: 5 \(first: .+\)$", r.err, re.M), r.err
    plain = lunge("perf", "--url", f"http://127.0.0.1:{closed_port}/", "-n", 5, "--format", "json")
    assert "errors: connection_refused" not in plain.err and "closed model" not in plain.err


@pytest.mark.slow
def test_perf_verbose_prints_a_progress_line_every_second(target):
    r = lunge("perf", "--url", f"{target.url}/delay/20", "--duration", "2500ms", "--concurrency", 2, "-v")
    assert r.code == 0, r.err
    assert len(re.findall(r"^lunge: \ds/\ds  ", r.err, re.M)) >= 2, r.err  # off a terminal: one line a second
    default = lunge("perf", "--url", f"{target.url}/delay/20", "--duration", "2500ms", "--concurrency", 2)
    assert not re.search(r"^lunge: \ds/\ds  ", default.err, re.M)  # the default: one every 5 s


def test_perf_quiet_conflicts_are_one_line(target):
    for extra in (["--real-time"], ["--progress-interval", "1s"]):
        assert_one_line_error(run_lunge("perf", "--url", f"{target.url}/", "-n", "5", "-q", *extra), "--quiet")


def test_perf_json_alone_goes_to_stdout(target, tmp_path):
    r = lunge("perf", "--url", f"{target.url}/", "-n", 20, "--json", cwd=tmp_path)
    assert r.code == 0, r.err
    assert r.json()["metrics"]["totalRequests"] == 20  # stdout is the JSON result and nothing else
    assert list(tmp_path.iterdir()) == []
    out = tmp_path / "results.json"
    r = lunge("perf", "--url", f"{target.url}/", "-n", 20, "--json", "--output", out)
    assert r.code == 0 and json.loads(out.read_text())["metrics"]["totalRequests"] == 20
    assert "Requests     20" in r.out  # the text summary still on the terminal


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)


def _html_tags(path: pathlib.Path) -> list[str]:
    p = _Tags()
    p.feed(path.read_text())
    return p.tags


def test_perf_html_without_output_uses_the_originals_file_name(target, tmp_path):
    r = lunge("perf", "--url", f"{target.url}/", "-n", 20, "--html", "--name", "CLI Test", cwd=tmp_path)
    assert r.code == 0, r.err
    files = [p.name for p in tmp_path.iterdir()]
    assert len(files) == 1 and re.fullmatch(r"perf-report-cli-test-\d{8}-\d{6}\.html", files[0]), files
    assert "html" in _html_tags(tmp_path / files[0]) and "svg" in _html_tags(tmp_path / files[0])
    assert f"lunge: wrote {files[0]}" in r.err
    assert "Requests     20" in r.out  # the summary still prints
    # with --json too: the JSON result on stdout, the HTML report in its file
    both = lunge("perf", "--url", f"{target.url}/", "-n", 20, "--html", "--json", cwd=tmp_path / "..")
    assert both.code == 0 and both.json()["metrics"]["totalRequests"] == 20


def _check_html(p):
    assert "html" in _html_tags(p)


def _check_json(p):
    assert json.loads(p.read_text())["metrics"]["totalRequests"] == 20


def _check_csv(p):
    rows = list(csv.DictReader(p.open()))
    assert rows and rows[0]["t"] == "0" and sum(int(r["requests"]) for r in rows) == 20


def _check_text(p):
    assert p.read_text().startswith("lunge perf  GET ") and "Requests     20" in p.read_text()


@pytest.mark.parametrize("name,check", [("r.html", _check_html), ("r.HTM", _check_html), ("r.json", _check_json),
                                        ("r.csv", _check_csv), ("r.txt", _check_text), ("r.out", _check_text)])
def test_perf_output_extension_names_the_format(target, tmp_path, name, check):
    out = tmp_path / name
    r = lunge("perf", "--url", f"{target.url}/", "-n", 20, "--output", out)
    assert r.code == 0, r.err
    check(out)
    assert "Requests     20" in r.out


def test_perf_output_without_extension_writes_html_and_json(target, tmp_path):
    base = tmp_path / "out" / "r2"
    base.parent.mkdir()  # lunge creates no directories for reports
    r = lunge("perf", "--url", f"{target.url}/", "-n", 20, "--output", base)
    assert r.code == 0, r.err
    assert sorted(p.name for p in base.parent.iterdir()) == ["r2.html", "r2.json"]
    _check_html(base.parent / "r2.html")
    _check_json(base.parent / "r2.json")


def test_format_flag_keeps_the_path_as_given(target, tmp_path):
    out = tmp_path / "report.html"
    r = lunge("perf", "--url", f"{target.url}/", "-n", 20, "--format", "json", "--output", out)
    assert r.code == 0 and json.loads(out.read_text())["metrics"]["totalRequests"] == 20


def test_merge_and_config_output_by_extension(target, tmp_path):
    part = tmp_path / "part.json"
    assert lunge("perf", "--url", f"{target.url}/", "-n", 20, "--output", part).code == 0
    merged = tmp_path / "merged.json"
    r = lunge("merge", part, "--output", merged)
    assert r.code == 0, r.err
    _check_json(merged)
    cfg = {"requests": {"r": {"url": f"{target.url}/"}},
           "performance": {"p": {"request": "r", "load": {"iterations": 20},
                                 "reporting": {"output": str(tmp_path / "from-config.html")}}}}
    (tmp_path / "c.json").write_text(json.dumps(cfg))
    r = lunge("perf", "-c", tmp_path / "c.json", "-p", "p")
    assert r.code == 0, r.err
    _check_html(tmp_path / "from-config.html")


def test_output_mapping_and_default_name():
    assert report.formats_for_output("r.html") == (("html",), {"*": "r.html"})
    assert report.formats_for_output("a.b/r") == (("html", "json"), {"html": "a.b/r.html", "json": "a.b/r.json"})
    assert report.formats_for_output("r", ("json",)) == (("json",), {"json": "r.json"})
    assert report.formats_for_output("r.json", ("html",)) == (("html", "json"), {"html": "r.html", "json": "r.json"})
    assert report.formats_for_output("r.log") == (("text",), {"*": "r.log"})
    import datetime

    when = datetime.datetime(2026, 1, 2, 3, 4, 5)
    assert report.default_html_path("CLI Test", when) == "perf-report-cli-test-20260102-030405.html"
    assert report.default_html_path("GET http://h:80/a b", when) == "perf-report-get-http-h-80-a-b-20260102-030405.html"


# ---------------------------------------------------------------- colour

def _on_terminal(*args: str, env: dict | None = None, timeout: float = 60) -> tuple[int, str]:
    """`lunge ARGS` with stdout and stderr on a pseudo-terminal: (exit status, all it wrote)."""
    full = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy") and k != "NO_COLOR"}
    full.update(env or {})
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "lunge", *args], stdin=subprocess.DEVNULL, stdout=slave,
                            stderr=slave, env=full, close_fds=True)
    os.close(slave)
    chunks, deadline = [], time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not select.select([master], [], [], 0.2)[0]:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        return proc.wait(timeout=max(1, deadline - time.monotonic())), b"".join(chunks).decode("utf-8", "replace")
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)


def _commands(target):
    return {
        "perf": ["perf", "--url", f"{target.url}/delay/5", "-n", "200", "--concurrency", "2", "--threshold", "p99 < 5s"],
        "get": ["get", f"{target.url}/echo", "-v"],
        "test": ["test", "-c", str(EXAMPLE), "-e", "local", "-s", "items"],
    }


@pytest.mark.parametrize("command", ["perf", "get", "test"])
def test_no_color_and_NO_COLOR_leave_no_escape_sequence(target, command):
    argv = _commands(target)[command]
    env = _env(target)
    code, coloured = _on_terminal(*argv, env=env)
    assert code == 0 and ANSI in coloured, coloured  # on a terminal: colour (the control)
    for variant, extra_env in ((argv + ["--no-color"], {}), (["--no-color"] + argv, {}), (argv, {"NO_COLOR": "1"})):
        code, plain = _on_terminal(*variant, env={**env, **extra_env})
        assert code == 0, plain
        assert "\x1b" not in plain, (variant, extra_env, plain)
    code, plain = _on_terminal(*argv, env={**env, "NO_COLOR": ""})  # set but empty: no-color.org says ignore it
    assert ANSI in plain


def test_perf_quiet_on_a_terminal_shows_no_progress(target):
    argv = ["perf", "--url", f"{target.url}/delay/300", "--duration", "700ms", "--concurrency", "2"]
    code, loud = _on_terminal(*argv)
    assert code == 0 and "in flight" in loud  # the progress bar (the control)
    code, quiet = _on_terminal(*argv, "-q")
    assert code == 0 and "in flight" not in quiet and "Requests" in quiet
