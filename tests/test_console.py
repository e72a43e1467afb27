"""The live console on a terminal (issue 20): every line fits the terminal's width, whatever
it is and however it changes during the run, and a redraw replaces the block instead of
stacking a new one. A fake terminal stream and a patched width; test_live.py runs lunge in a
real pseudo-terminal."""
import io
import os
import shutil
from types import SimpleNamespace

import numpy as np
import pytest
from screen import Screen

from lunge._native.hist import Histogram
from lunge.live import console
from lunge.live import view as live_view
from lunge.results import SparseHist


class FakeTTY(io.StringIO):
    encoding = "utf-8"  # type: ignore[assignment]

    def isatty(self):
        return True


@pytest.fixture
def columns(monkeypatch):
    """columns(w, h=24) sets the terminal size the console reads."""
    def set_size(w, h=24):
        monkeypatch.setattr(shutil, "get_terminal_size", lambda fallback=(80, 24): os.terminal_size((w, h)))
    return set_size


def snap(elapsed=12.0, completed=12_345_678, in_flight=12_345, failures=1_234_567):
    return SimpleNamespace(elapsed_s=elapsed, completed=completed, in_flight=in_flight, failures=failures)


def run_info(planned=30.0, iterations=None):
    return SimpleNamespace(planned=planned, iterations=iterations)


def a_view(rps=1_234_567.0, t=12, scenarios=True, **over):
    v = {"t": t, "elapsed": float(t), "planned": 30.0, "iterations": None, "issued": 12_400_000,
         "completed": 12_345_678, "failures": 1_234_567, "errors": 1_000, "bytes": 10**9, "inFlight": 12_345,
         "connections": 12_345, "warmupCompleted": 0,
         "statusClasses": {"error": 1_000, "1xx": 0, "2xx": 11_111_111, "3xx": 0, "4xx": 1_000_000, "5xx": 233_567},
         "rps": rps, "failedShare": 0.1, "targetRps": 1_500_000.0,
         "lastSecond": {"t": t - 1, "requests": 1_234_567, "p50Ms": 1234.5, "p95Ms": 2345.6, "p99Ms": 9876.5},
         "cumulative": {"p50Ms": 1234.5, "p95Ms": 2345.6, "p99Ms": 9876.5},
         "latencyHistogram": [[0.5, 10], [1.25, 1_234_567], [2.5, 300_000], [9876.5, 12]],
         "resources": {"cpuPercent": 99.0, "rssBytes": 3 * 2**30, "openFds": 123_456}}
    if scenarios:
        v["scenarios"] = [{"name": "a-very-long-scenario-name-indeed", "state": "running",
                           "stage": "stage 2/3 (the long steady stage)", "vus": 12_345, "targetVus": 20_000,
                           "iterations": 9_876_543, "dropped": 123_456, "requests": 12_345_678, "failures": 1_234_567,
                           "rps": 1_234_567.0, "iterationsPerSec": 234_567.0},
                          {"name": "b", "state": "waiting", "stage": None, "vus": 0, "targetVus": 10, "iterations": 0,
                           "dropped": 0, "requests": 0, "failures": 0, "rps": 0.0, "iterationsPerSec": 0.0}]
    v.update(over)
    return v


def drawn_lines(out: str) -> list[str]:
    """Each line written, without the escape sequences."""
    return [ln for ln in console_text(out).split("\n") if ln]


def console_text(out: str) -> str:
    import re
    return re.sub(r"\x1b\[\d*[A-Za-z]", "", out)


# ---------------------------------------------------------------------- the progress bar
def test_bar_fits_every_width_from_20_to_200(columns):
    for w in range(20, 201):
        columns(w)
        stream = FakeTTY()
        bar = console.Bar(stream)
        screen = Screen(w)
        for i in range(3):
            bar.tick(snap(elapsed=10.0 + i), a_view(), run_info())
            screen.feed(stream.getvalue())
            stream.seek(0)
            stream.truncate()
            assert len(screen.lines()) == 1, (w, screen.rows)  # replaced, never stacked
        assert all(len(ln) < w for ln in screen.lines()), (w, screen.lines())
        assert screen.most == 1


def test_bar_shrinks_the_least_important_first(columns):
    expect = {
        160: "lunge [#########...............]  40%  12s/30s  1,234,567 req/s  12345 in flight  1,234,567 failed",
        80: "lunge [########..............]  40%  12s/30s  1,234,567 req/s  1,234,567 failed",
        70: "lunge [####........]  40%  12s/30s  1,234,567 req/s  1,234,567 failed",
        60: "lunge 40%  12s/30s  1,234,567 req/s  1,234,567 failed",
        50: "lunge 12s/30s  1,234,567 req/s  1,234,567 failed",
        40: "lunge 12s/30s  1,234,567 failed",
        25: "lunge 12s/30s",
    }
    for w, line in expect.items():
        columns(w)
        stream = FakeTTY()
        console.Bar(stream).tick(snap(), a_view(), run_info())
        assert drawn_lines(stream.getvalue()) == [line]


def test_bar_with_a_5_digit_rate_and_failures(columns):
    """The line that grew past 80 columns and stacked (issue 20)."""
    line = "lunge [#########...............]  40%  12s/30s  52,300 req/s  48 in flight  12,345 failed"
    for w, expect in ((100, line), (80, line.replace("  48 in flight", ""))):
        columns(w)
        stream = FakeTTY()
        console.Bar(stream).tick(snap(completed=500_000, in_flight=48, failures=12_345), a_view(rps=52_300.0),
                                 run_info())
        assert drawn_lines(stream.getvalue()) == [expect]


def test_bar_reads_the_width_at_each_draw(columns):
    stream = FakeTTY()
    bar = console.Bar(stream)
    columns(120)
    bar.tick(snap(), a_view(), run_info())
    first = drawn_lines(stream.getvalue())[0]
    assert first.endswith("12345 in flight  1,234,567 failed")
    stream.seek(0)
    stream.truncate()
    columns(60)  # the user narrows the terminal: a reflowing terminal now shows the line on 2 rows
    bar.tick(snap(), a_view(), run_info())
    out = stream.getvalue()
    assert out.startswith("\x1b[2F\x1b[J")
    assert len(drawn_lines(out)[0]) < 60


def test_warnings_go_above_the_bar(columns):
    columns(60)
    stream = FakeTTY()
    bar = console.Bar(stream)
    screen = Screen(60)
    bar.tick(snap(), a_view(), run_info())
    bar.warn("generator_cpu: lunge used more than 90% of the CPU of its usable cores")
    bar.tick(snap(), a_view(), run_info())
    screen.feed(stream.getvalue())
    assert len(screen.lines()) == 3  # the warning wraps on two rows, the bar under it
    assert screen.lines()[-1].startswith("lunge 40%")


# ---------------------------------------------------------------------- --real-time
def test_panel_fits_every_width_and_never_stacks(columns):
    for w in range(40, 201):
        columns(w, 60)
        stream = FakeTTY()
        panel = console.Panel(stream)
        screen = Screen(w)
        for t in range(1, 5):
            panel.second(a_view(t=t, rps=1_000_000.0 + t * 50_000))
        screen.feed(stream.getvalue())
        lines = panel.lines(panel._view, panel.width())
        assert screen.lines() == [ln for ln in lines if ln.strip()], w
        assert all(len(ln) < w for ln in screen.lines()), (w, [ln for ln in screen.lines() if len(ln) >= w])
        assert screen.most == len(lines)


def test_panel_at_80_columns(columns):
    columns(80, 60)
    stream = FakeTTY()
    panel = console.Panel(stream)
    for t, rps in enumerate((1000.0, 2000.0, 4000.0, 8000.0, 8000.0), 1):
        panel.second(a_view(t=t, rps=rps, scenarios=False))
    screen = Screen(80)
    screen.feed(stream.getvalue())
    assert screen.lines() == [
        "lunge perf   5s / 30s   12,345,678 done   12,400,000 sent",
        "  progress    [██████░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░]  17%  25s left",
        "  rate        8,000 req/s now   target 1,500,000",
        "  rate, 5s    ▁▂▄██  max 8,000",
        "  in flight   12345   connections 12345",
        "  last second p50 1.23s  p95 2.35s  p99 9.88s",
        "  cumulative  p50 1.23s  p95 2.35s  p99 9.88s",
        "  status      2xx 11,111,111  4xx 1,000,000  5xx 233,567",
        "  errors      1,234,567 failed: transport 1,000  4xx 1,000,000  5xx 233,567",
        "  generator   CPU 99%  RSS 3.00GiB  fds 123456",
        "  latency     all responses so far",
        "    <=  500us █                                               10",
        "    <= 1.25ms ████████████████████████████████████████ 1,234,567",
        "    <= 2.50ms ██████████                                 300,000",
        "    <=  9.88s █                                               12",
    ]


def test_panel_shows_the_http_versions_beyond_http11(columns):
    columns(100, 60)
    lines = {}
    for versions in ({"1.1": 50}, {"3": 40, "2": 10}):
        stream = FakeTTY()
        console.Panel(stream).second(a_view(scenarios=False, httpVersions=versions))
        screen = Screen(100)
        screen.feed(stream.getvalue())
        lines[len(versions)] = next(ln for ln in screen.lines() if ln.startswith("  in flight"))
    assert lines[1] == "  in flight   12345   connections 12345"  # plain HTTP/1.1: nothing to tell
    assert lines[2] == "  in flight   12345   connections 12345   HTTP/3 40   HTTP/2 10"


def test_panel_is_cut_to_the_terminal_height(columns):
    columns(100, 12)
    stream = FakeTTY()
    panel = console.Panel(stream)
    panel.second(a_view())
    panel.second(a_view())
    screen = Screen(100)
    screen.feed(stream.getvalue())
    assert len(screen.lines()) == 11 and screen.most == 11


def test_panel_without_utf8_draws_ascii(columns):
    columns(80)
    stream = io.StringIO()  # no encoding: ASCII only
    panel = console.Panel(stream)
    panel.second(a_view(rps=1.0))
    panel.second(a_view(rps=8.0))
    assert stream.getvalue().isascii()


def test_iterations_progress_estimates_the_time_left(columns):
    columns(80)
    panel = console.Panel(FakeTTY())
    lines = panel.lines(a_view(planned=None, iterations=20_000_000, rps=1_000_000.0), 79)
    assert lines[1].startswith("  progress    [") and lines[1].endswith("]  62%  ~8s left")


def test_sparkline():
    assert console.sparkline([0, 1, 2, 4, 8]) == " ▁▂▄█"
    assert console.sparkline([0, 0]) == "  "
    assert console.sparkline([3, 3], console.SPARK_ASCII) == "%%"


# ---------------------------------------------------------------------- the histogram of the view
def test_latency_histogram_of_the_view():
    h = Histogram()
    h.record_array(np.repeat(np.array([1, 2.5, 4.5, 8, 1000]) * 1_000_000, [500, 300, 150, 49, 1]))
    idx, counts = h.nonzero()
    sh = SparseHist(idx, counts, h.total, h.min_ns, h.max_ns)
    rows = live_view._histogram(sh)
    assert sum(c for _, c in rows) == 1000
    # 7 equal buckets from the fastest (1ms) to the p99 (8ms), then the tail up to the slowest
    assert [c for _, c in rows] == [500, 300, 0, 150, 0, 0, 49, 1]
    assert [ms for ms, _ in rows] == pytest.approx([2, 3, 4, 5, 6, 7, 8, 1000], rel=0.002)


# ---------------------------------------------------------------------- off a terminal: unchanged
def test_plain_scenario_lines_are_unchanged():
    v = a_view()
    assert console.scenario_lines(v) == [
        "  a-very-long-scenario running  stage 2/3 (the long steady stage) 12345/20000 VUs  234,567 it/s  "
        "1,234,567 req/s  9,876,543 iterations  123,456 dropped  1,234,567 failed",
        "  b                    waiting  0/10 VUs  0 it/s  0 req/s  0 iterations  0 failed"]
