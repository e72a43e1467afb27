"""The live console, the resource monitor, hooks, Prometheus metrics and the protections
(issue 6), against the embedded target."""
import io
import json
import os
import re
import resource
import socket
import subprocess
import sys
import time
import urllib.request

import jsonschema
import pexpect
import psutil
import pytest
from screen import Screen

from conftest import assert_one_line_error, lunge, run_lunge
from lunge.analysis import analyze
from lunge.errors import ConfigError
from lunge.live import monitor
from lunge.live import view as live
from lunge.plan import for_url
from lunge.results import codec
from lunge.runner import run
from lunge.units import parse_size

ESC = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # any control character but tab and newline


def spawn_perf(*args, timeout=30):
    """`lunge perf ARGS` on a pseudo-terminal (stdout and stderr both go to it)."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    child = pexpect.spawn(sys.executable, ["-m", "lunge", "perf", *map(str, args)], env=env, encoding="utf-8",
                          timeout=timeout, dimensions=(40, 160))
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus, child.before


# ---------------------------------------------------------------------- console
def spawn_screen(columns, *args, timeout=40):
    """`lunge perf ARGS > /dev/null` in a pseudo-terminal of `columns` (the report goes
    elsewhere, as with `--format json > r.json`): the terminal's screen at the end."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy") and k not in ("COLUMNS", "LINES")}
    cmd = " ".join([sys.executable, "-m", "lunge", "perf", *map(str, args)]) + " > /dev/null"
    child = pexpect.spawn("/bin/sh", ["-c", cmd], env=env, encoding="utf-8", timeout=timeout,
                          dimensions=(30, columns))
    child.expect(pexpect.EOF)
    child.close()
    screen = Screen(columns)
    screen.feed(child.before.replace("\r\n", "\n"))
    return child.exitstatus, screen, child.before


@pytest.mark.slow
@pytest.mark.parametrize("columns", [60, 80, 160])
def test_the_bar_fits_the_terminal_and_never_stacks(fresh_target, columns):
    """A bar with 5-digit counts of failures used to wrap at 80 columns (60: always) and each
    redraw left a line behind (issue 20). Half the requests fail here."""
    code, screen, raw = spawn_screen(columns, "--url", f"{fresh_target.url}/mix/200:1,500:1", "--concurrency", 8,
                                     "--duration", "2s")
    assert code in (0, 1), raw[-2000:]
    assert raw.count("\x1b[1F\x1b[J") >= 4, raw[:2000]  # redrawn in place
    assert screen.most == 1 and len(screen.lines()) == 1, screen.rows
    last = screen.lines()[0]
    assert len(last) < columns and last.startswith("lunge "), last
    failed = int(re.search(r"([\d,]+) failed$", last).group(1).replace(",", ""))
    assert failed >= 1000, last
    if columns == 160:
        assert re.fullmatch(r"lunge \[#{24}\] 100%  2s/2s  [\d,]+ req/s  0 in flight  [\d,]+ failed", last), last


@pytest.mark.slow
@pytest.mark.parametrize("columns", [60, 80, 160])
def test_the_real_time_panel_fits_the_terminal_and_never_stacks(fresh_target, columns):
    code, screen, raw = spawn_screen(columns, "--url", f"{fresh_target.url}/mix/200:1,500:1", "--concurrency", 8,
                                     "--rps", 3000, "--duration", "3s", "--real-time")
    assert code in (0, 1), raw[-2000:]
    lines = screen.lines()
    assert all(len(ln) < columns for ln in lines), lines
    assert lines[0].startswith("lunge perf   3s / 3s"), lines
    assert screen.most == len(lines), (screen.most, lines)  # each redraw replaced the last
    assert any(ln.startswith("  rate, ") for ln in lines) and any("latency" in ln for ln in lines), lines
    assert any(ln.startswith("  progress    [") and ln.endswith("100%  0s left") for ln in lines), lines


@pytest.mark.slow
def test_progress_bar_on_a_terminal_advances(fresh_target):
    code, out = spawn_perf("--url", f"{fresh_target.url}/delay/5", "--concurrency", 4, "--duration", "3s")
    assert code == 0, out
    bars = re.findall(r"lunge \[([#.]{24})\]\s+(\d+)%\s+(\d+)s/3s\s+([\d,-]+) req/s\s+(\d+) in flight\s+(\d+) failed", out)
    assert len(bars) >= 8, out[:2000]  # redrawn a few times a second
    fills = [b[0].count("#") for b in bars]
    assert fills == sorted(fills) and fills[0] < fills[-1] == 24
    assert "\r\x1b[K" in out or "\x1b[1F\x1b[J" in out  # redrawn in place, not appended
    assert any(int(b[4]) == 4 for b in bars)  # 4 connections busy
    assert "req/s" in out.split("Requests")[-1]  # the report follows


@pytest.mark.slow
def test_progress_bar_counts_iterations(fresh_target):
    code, out = spawn_perf("--url", f"{fresh_target.url}/delay/5", "--concurrency", 4, "-n", 600)
    assert code == 0, out
    done = [int(d.replace(",", "")) for d in re.findall(r"\] +\d+% +([\d,]+)/600 ", out)]
    assert done and done == sorted(done) and done[-1] == 600


@pytest.mark.slow
def test_real_time_panel_redraws_every_second(fresh_target):
    code, out = spawn_perf("--url", f"{fresh_target.url}/delay/5", "--concurrency", 10, "--rps", 400,
                           "--duration", "4s", "--real-time")
    assert code == 0, out
    panels = re.findall(r"lunge perf +(\d+)s / 4s +([\d,]+) done", out)
    seconds = [int(s) for s, _ in panels]
    assert seconds[:3] == [1, 2, 3], out[:3000]
    done = [int(d.replace(",", "")) for _, d in panels]
    assert done == sorted(done) and done[0] < done[-1]
    assert len(re.findall(r"\x1b\[1\dF\x1b\[J", out)) >= 3  # each redraw replaces the panel (10+ lines)
    first = out.split("lunge perf ")[1]
    for needle in ("req/s now", "target 400", "connections", "last second p50", "p95", "p99", "cumulative  p50",
                   "status      2xx", "errors      0 failed: transport 0  4xx 0  5xx 0", "generator   CPU"):
        assert needle in first, (needle, first)
    rate = int(re.search(r"rate +([\d,]+) req/s now", out.split("lunge perf ")[2]).group(1).replace(",", ""))
    assert 300 < rate < 500


@pytest.mark.slow
def test_piped_output_is_plain_lines_at_the_interval(fresh_target):
    r = lunge("perf", "--url", f"{fresh_target.url}/delay/5", "--concurrency", 4, "--duration", "3s",
              "--progress-interval", "1s")
    assert r.code == 0, r.err
    assert not ESC.search(r.err) and not ESC.search(r.out), repr(r.err)
    lines = r.err.splitlines()
    assert [ln.split()[1] for ln in lines[:2]] == ["1s/3s", "2s/3s"], r.err
    assert all(ln.startswith("lunge: ") and "req/s" in ln and "p99" in ln and "CPU" in ln for ln in lines)


@pytest.mark.slow
def test_piped_default_interval_is_5s(fresh_target):
    r = lunge("perf", "--url", f"{fresh_target.url}/", "--concurrency", 2, "--duration", "2s")
    assert r.code == 0 and r.err == "", r.err  # nothing before the first 5 s


@pytest.mark.slow
def test_config_monitoring_sets_the_interval(fresh_target, tmp_path):
    cfg = {"environments": {"local": {"baseUrl": fresh_target.url}}, "requests": {"home": {"url": "/delay/5"}},
           "performance": {"t": {"request": "home", "load": {"concurrency": 2, "duration": "3s"},
                                 "monitoring": {"interval": "1s", "resources": False}}}}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(cfg))
    r = lunge("perf", "-c", path, "-e", "local", "-p", "t")
    assert r.code == 0, r.err
    lines = r.err.splitlines()
    assert len(lines) >= 2 and lines[0].startswith("lunge: 1s/3s"), r.err
    assert "CPU" not in r.err  # resources: false


@pytest.mark.slow
def test_config_real_time_shows_the_panel(fresh_target, tmp_path):
    cfg = {"environments": {"local": {"baseUrl": fresh_target.url}}, "requests": {"home": {"url": "/delay/5"}},
           "performance": {"t": {"request": "home", "load": {"concurrency": 2, "duration": "3s"},
                                 "monitoring": {"realTime": True}}}}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(cfg))
    code, out = spawn_perf("-c", path, "-e", "local", "-p", "t")
    assert code == 0, out
    assert re.search(r"lunge perf +1s / 3s", out) and "cumulative  p50" in out, out[:2000]
    assert "lunge [" not in out  # the panel replaces the bar


# ---------------------------------------------------------------------- resources
@pytest.mark.slow
def test_resources_series_is_plausible(fresh_target, result_schema):
    plan = for_url(f"{fresh_target.url}/delay/20", concurrency=8, duration=3.0)
    result = run(plan, monitor=live.Live(plan, live.Options(), stream=io.StringIO(), tty=False))
    rows = result.resources
    assert len(rows) >= 3, rows
    assert [r["t"] for r in rows] == sorted(r["t"] for r in rows)
    cores = psutil.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    for r in rows:
        assert r["rssBytes"] > 10_000_000
        assert len(r["systemCpuPercent"]) == cores and all(0 <= c <= 100 for c in r["systemCpuPercent"])
        # lunge's CPU: a share of the cores it may run on, and the same in cores, both capped
        assert 0 <= r["cpuPercent"] <= 100 and 0 <= r["cpuCores"] <= usable
        assert r["cpuPercent"] == pytest.approx(100 * r["cpuCores"] / usable, abs=0.6), r
        assert r["openFds"] >= 8
        if sys.platform.startswith("linux"):  # elsewhere the host's table may need root (then null)
            assert r["tcpTimeWait"] is not None and r["tcpTimeWait"] >= 0
    # while the run is on, lunge holds exactly its 8 keep-alive connections to the target
    during = [r for r in rows if r["t"] < 3]
    assert any(r["cpuCores"] > 0 for r in during), during
    assert during and all(r["tcpEstablished"] == 8 for r in during), [r["tcpEstablished"] for r in during]
    # 8 connections x ~45 req/s of loopback traffic: both directions counted on lo
    assert all(r["netPacketsRecvPerSec"] > 100 and r["netBytesSentPerSec"] > 10_000 for r in during), during
    # saved and loaded exactly, and valid against the result schema
    doc = codec.encode(analyze(result))
    jsonschema.validate(doc["resources"], result_schema["properties"]["resources"])
    back = codec.decode(json.loads(json.dumps(doc)))
    assert back.resources == rows and back.stop_reason is None


def test_cpu_is_a_share_of_the_usable_cores_and_never_more(monkeypatch):
    m = monitor.ResourceMonitor()
    busy = {"s": m._cpu_seconds()}
    monkeypatch.setattr(m, "_cpu_seconds", lambda: busy["s"])
    m._t = time.monotonic() - 1.0  # the last sample was a second ago ...
    busy["s"] += 0.5               # ... and lunge used half a core since
    row = m.sample(1.0)
    assert row["cpuCores"] == pytest.approx(0.5, rel=0.05)
    assert row["cpuPercent"] == pytest.approx(50 / m.cores, rel=0.05)
    # A short interval (the last one of a run) over counters that move in clock ticks can
    # read as more CPU than the cores can give: capped at all of them busy.
    busy["s"] += 0.05 * m.cores
    row = m.sample(1.01)
    assert row["cpuPercent"] == 100.0 and row["cpuCores"] == m.cores


@pytest.mark.slow
def test_resources_can_be_turned_off(fresh_target):
    plan = for_url(f"{fresh_target.url}/", concurrency=2, duration=1.5)
    result = run(plan, monitor=live.Live(plan, live.Options(resources=False), stream=io.StringIO(), tty=False))
    assert result.resources == []


def test_no_resources_flag_turns_sampling_off_over_the_config(fresh_target, tmp_path):
    # --no-resources is an answer, not "not given": it beats the default and a config's true
    out = tmp_path / "r.json"
    r = lunge("perf", "--url", f"{fresh_target.url}/", "--duration", "1500ms", "--concurrency", 1,
              "--no-resources", "--format", "json", "-o", out)
    assert r.code == 0, r.err
    assert json.loads(out.read_text())["resources"] == []
    doc = {"environments": {"e": {"baseUrl": fresh_target.url}}, "requests": {"r": {"url": "/"}},
           "performance": {"t": {"request": "r", "load": {"duration": "1500ms", "concurrency": 1},
                                 "monitoring": {"resources": True}}}}
    (tmp_path / "c.json").write_text(json.dumps(doc))
    r = lunge("perf", "-c", tmp_path / "c.json", "-p", "t", "--no-resources", "--format", "json", "-o", out)
    assert r.code == 0, r.err
    assert json.loads(out.read_text())["resources"] == []


def test_monitor_warnings():
    m = monitor.ResourceMonitor()
    base = {"t": 1, "cpuPercent": 10.0, "openFds": 10, "tcpTimeWait": 0}
    for t in range(1, 3):
        m._check({**base, "t": t, "cpuPercent": 99.0})
    assert m.warnings == []  # two hot seconds are not yet "several"
    m._check({**base, "t": 3, "cpuPercent": 99.0})
    assert len(m.warnings) == 1 and m.warnings[0].startswith("generator_cpu:") and "bounded by the generator" in m.warnings[0]
    m._check({**base, "t": 4, "cpuPercent": 99.0})
    assert len(m.warnings) == 1  # said once
    m.fd_limit = 100
    m._check({**base, "openFds": 81})
    assert m.warnings[-1].startswith("file_descriptors: 81 open of a limit of 100")
    m._check({**base, "tcpTimeWait": int(m.ports * 0.6)})
    assert m.warnings[-1].startswith("ephemeral_ports:") and "TIME_WAIT" in m.warnings[-1]


@pytest.mark.slow
def test_the_generator_cpu_warning_reaches_the_console(fresh_target, monkeypatch):
    monkeypatch.setattr(monitor, "CPU_BOUND_PERCENT", -1.0)  # any CPU use counts as "hot"
    plan = for_url(f"{fresh_target.url}/", concurrency=2, duration=4.0)
    err = io.StringIO()
    result = run(plan, monitor=live.Live(plan, live.Options(), stream=err, tty=False))
    assert any(w.startswith("generator_cpu:") for w in result.warnings), result.warnings
    assert "lunge: warning: generator_cpu:" in err.getvalue()


# ---------------------------------------------------------------------- hooks and Prometheus
HOOK = '''
import json, os
class Recorder:
    def __init__(self):
        self.seconds, self.config = [], None
    def on_start(self, configuration):
        self.config = configuration
    def on_second(self, view):
        self.seconds.append(view)
    def on_result(self, result):
        with open(os.environ["HOOK_OUT"], "w") as f:
            json.dump({"config": self.config, "seconds": self.seconds, "completed": result.completed,
                       "resources": len(result.resources)}, f)
'''


@pytest.mark.slow
def test_hook_gets_every_second_and_the_result(fresh_target, tmp_path):
    (tmp_path / "myhooks.py").write_text(HOOK)
    out = tmp_path / "hook.json"
    r = run_lunge("perf", "--url", f"{fresh_target.url}/delay/5", "--concurrency", "3", "--duration", "3s",
                  "--hook", "myhooks:Recorder", "--format", "json",
                  env={"PYTHONPATH": str(tmp_path), "HOOK_OUT": str(out)})
    assert r.returncode == 0, r.stderr
    got = json.loads(out.read_text())
    assert got["config"]["concurrency"] == 3
    assert [s["t"] for s in got["seconds"]][:2] == [1, 2]
    s = got["seconds"][1]
    # a snapshot can fall between a completion and the next send on that connection
    assert 1 <= s["inFlight"] <= 3 and s["connections"] == 3 and 0 < s["rps"] < 700
    assert s["lastSecond"]["p50Ms"] >= 5 and s["cumulative"]["p99Ms"] >= s["cumulative"]["p50Ms"]
    assert s["resources"]["rssBytes"] > 0
    assert got["completed"] == json.loads(r.stdout)["metrics"]["totalRequests"] == fresh_target.stats()["requests"]
    assert got["resources"] >= 2


@pytest.mark.parametrize("spec,needle", [("nosuchmodule:Hook", "cannot load"), ("json:dumps", "could not be created"),
                                         ("collections:OrderedDict", "none of the hook methods"), ("bad", "is not")])
def test_bad_hook_is_refused_in_one_line(spec, needle, target):
    r = run_lunge("perf", "--url", f"{target.url}/", "-n", "5", "--hook", spec)
    assert_one_line_error(r, "--hook", needle)


@pytest.mark.slow
def test_prometheus_metrics_are_scraped_during_the_run(fresh_target, closed_port):
    port = closed_port  # free: nothing listens on it
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    proc = subprocess.Popen([sys.executable, "-m", "lunge", "perf", "--url", f"{fresh_target.url}/delay/5",
                             "--concurrency", "4", "--duration", "5s", "--metrics-port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        # Scrape until the exporter answers with a count, then until the next second's view
        # raises it (not a fixed wait: lunge's start-up varies with the machine's load).
        scrapes, deadline = [], time.monotonic() + 15
        while len(scrapes) < 2 and time.monotonic() < deadline and proc.poll() is None:
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
            except OSError:
                body = ""
            m = re.search(r"^lunge_requests_completed_total (\S+)$", body, re.M)
            if m and (not scrapes or float(m.group(1)) > scrapes[0][0]):
                scrapes.append((float(m.group(1)), body))
            else:
                time.sleep(0.1)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert f"metrics at http://127.0.0.1:{port}/metrics" in err
    assert len(scrapes) == 2 and 0 < scrapes[0][0] < scrapes[1][0], scrapes
    body = scrapes[1][1]
    assert 1 <= float(re.search(r"^lunge_in_flight_requests (\S+)$", body, re.M).group(1)) <= 4
    for needle in ('lunge_responses_total{class="2xx"}', 'lunge_http_responses_total{version="1.1"}',
                   "lunge_connections 4.0",
                   'lunge_latency_seconds{quantile="0.99",window="cumulative"}', "lunge_process_resident_memory_bytes",
                   "lunge_process_cpu_cores", "lunge_requests_per_second"):
        assert needle in body, (needle, body)
    p50 = float(re.search(r'lunge_latency_seconds\{quantile="0.5",window="last_second"\} (\S+)', body).group(1))
    assert 0.005 <= p50 < 0.05


def test_busy_metrics_port_is_refused_in_one_line(target):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    try:
        r = run_lunge("perf", "--url", f"{target.url}/", "-n", "5", "--metrics-port", str(s.getsockname()[1]))
    finally:
        s.close()
    assert_one_line_error(r, "--metrics-port", "cannot listen")


# ---------------------------------------------------------------------- protections
def test_hard_maximum_refuses_a_typo_in_one_line(target):
    r = run_lunge("perf", "--url", f"{target.url}/", "--concurrency", "1000000", "-n", "1")
    assert_one_line_error(r, "--concurrency: 1000000", "use at most 20000", "--max-concurrency 1000000")


@pytest.mark.slow
def test_file_descriptor_limit_refuses_with_a_number_that_works(target):
    def low_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

    full = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    r = subprocess.run([sys.executable, "-m", "lunge", "perf", "--url", f"{target.url}/", "--concurrency", "1000",
                        "-n", "1"], capture_output=True, text=True, timeout=60, env=full, preexec_fn=low_limit)
    line = assert_one_line_error(r, "--concurrency: 1000 needs 1064 file descriptors but the limit is 256",
                                 "use --concurrency 192", "ulimit -Hn 1064")
    assert "limits.conf" in line
    # and the number it names does work under that limit
    r = subprocess.run([sys.executable, "-m", "lunge", "perf", "--url", f"{target.url}/", "--concurrency", "192",
                        "-n", "200", "--format", "json"], capture_output=True, text=True, timeout=60, env=full,
                       preexec_fn=low_limit)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["metrics"]["successfulRequests"] == 200


@pytest.mark.slow
def test_error_rate_abort_stops_early_with_a_valid_report(closed_port, tmp_path, result_schema):
    out = tmp_path / "r.json"
    t0 = time.monotonic()
    r = lunge("perf", "--url", f"http://127.0.0.1:{closed_port}/", "--concurrency", 2, "--duration", "60s",
              "--max-error-rate-abort", "50%:2s", "--format", "json", "--output", out)
    assert r.code == 3, (r.code, r.err)
    assert time.monotonic() - t0 < 20  # not the 60 s asked for
    doc = json.loads(out.read_text())
    jsonschema.validate(doc, result_schema, format_checker=jsonschema.FormatChecker())
    assert doc["interrupted"] is True and doc["metrics"]["errors"]["connection_refused"] > 0
    assert any(w.startswith("error_rate_abort: 100% of requests failed") for w in doc["warnings"]), doc["warnings"]
    assert "error_rate_abort" in r.out  # the text report on stdout says why too
    assert "lunge: stopping: error_rate_abort: 100% of requests failed" in r.err  # and the console, at once


@pytest.mark.slow
def test_error_rate_abort_leaves_a_healthy_run_alone(fresh_target):
    r = lunge("perf", "--url", f"{fresh_target.url}/mix/200:9,500:1", "--concurrency", 2, "--duration", "3s",
              "--max-error-rate-abort", "0.5:1s")
    assert r.code == 0, r.err


@pytest.mark.slow
def test_max_memory_stops_cleanly_with_a_valid_report(fresh_target, tmp_path, result_schema):
    out = tmp_path / "r.json"
    r = lunge("perf", "--url", f"{fresh_target.url}/", "--concurrency", 2, "--duration", "60s",
              "--max-memory", "1MB", "--format", "json", "--output", out)
    assert r.code == 4, (r.code, r.err)
    doc = json.loads(out.read_text())
    jsonschema.validate(doc, result_schema, format_checker=jsonschema.FormatChecker())
    assert doc["interrupted"] is True and doc["durationMs"] < 10_000
    assert doc["metrics"]["totalRequests"] == fresh_target.stats()["requests"] > 0  # in-flight ones finished
    assert any(w.startswith("resource_limit: lunge's memory reached") and "--max-memory 1.00MiB" in w
               for w in doc["warnings"]), doc["warnings"]


@pytest.mark.slow
def test_config_max_memory_does_what_the_flag_does(fresh_target, tmp_path):
    cfg = {"environments": {"local": {"baseUrl": fresh_target.url}}, "requests": {"home": {"url": "/"}},
           "performance": {"t": {"request": "home", "load": {"concurrency": 2, "duration": "60s"},
                                 "monitoring": {"maxMemory": "2MB"}}}}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(cfg))
    r = lunge("perf", "-c", path, "-e", "local", "-p", "t", "--format", "json")
    assert r.code == 4, (r.code, r.err)
    assert r.json()["interrupted"] is True


@pytest.mark.parametrize("args,needle", [
    (["--max-memory", "lots"], "--max-memory"),
    (["--max-error-rate-abort", "2"], "--max-error-rate-abort"),
    (["--max-error-rate-abort", "half"], "--max-error-rate-abort"),
    (["--max-error-rate-abort", "0.5:0s"], "--max-error-rate-abort"),
])
def test_bad_protection_flags_exit_2(args, needle, target):
    assert_one_line_error(run_lunge("perf", "--url", f"{target.url}/", "-n", "1", *args), needle)


def test_parsers():
    assert parse_size("512MB") == parse_size("512mib") == 512 << 20 and parse_size(4096) == 4096
    assert live.parse_error_abort("50%") == (0.5, 5) and live.parse_error_abort("0.2:10s") == (0.2, 10)
    with pytest.raises(ConfigError):
        parse_size("12 parsecs")


def test_error_rate_guard_counts_seconds_in_a_row():
    plan = for_url("http://127.0.0.1:1/", concurrency=1, iterations=1)
    lv = live.Live(plan, live.Options(error_abort=(0.5, 3), resources=False), stream=io.StringIO(), tty=False)
    view = {"resources": None, "elapsed": 1.0}
    seq = [0.9, 0.9, None, 0.1, 0.9, 0.9, None, 0.9]  # None: nothing completed that second (neutral)
    stops = [lv._protect({**view, "failedShare": f}) for f in seq]
    assert stops[:7] == [None] * 7 and stops[7][0] == "error_rate_abort"
