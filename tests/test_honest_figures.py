"""Figures that must not mislead (issue 18): the rate of a short run, the per-second rate of a
partial second, and the warmup kept out of the measured series and durations."""
import csv
import io
import json
import re

import pytest

from conftest import REPO, lunge
from lunge import report
from lunge.analysis import analyze
from lunge.results import Second, load
from synth import make_result


def _text_summary(out: str) -> tuple[str, float]:
    m = re.search(r"Requests\s+\d+ in (\S+), ([\d.]+) req/s", out)
    assert m, out
    return m.group(1), float(m.group(2))


def _seconds(text: str) -> float:
    """812us, 1.25ms, 3.41s -> seconds."""
    for unit, scale in (("us", 1e-6), ("ms", 1e-3), ("s", 1.0)):
        if text.endswith(unit):
            return float(text[:-len(unit)]) * scale
    raise AssertionError(text)


# ------------------------------------------------------------------ 1. short runs


def test_a_run_shorter_than_a_tick_has_an_honest_rate(fresh_target, tmp_path):
    # -n 10 at 10 connections: everything is issued at once and nothing has completed when
    # issuing ends; the rate over that instant was "0.0 req/s", and 'rps > 1' failed.
    out = tmp_path / "r.json"
    r = lunge("perf", "--url", f"{fresh_target.url}/", "-n", 10, "--concurrency", 10, "--threshold", "rps > 1",
              "--format", "json", "--format", "text", "-o", out)
    assert r.code == 0, r.err
    doc = json.loads(out.read_text())
    tp, c = doc["metrics"]["throughput"], doc["counters"]
    measured_s = (doc["durationMs"] - c["firstSendMs"]) / 1000
    assert tp["rps"] == pytest.approx(10 / measured_s, rel=1e-6) and tp["rps"] > 1
    assert tp["rpsWindow"] == "measured" and tp["measuredMs"] == pytest.approx(measured_s * 1000)
    elapsed, rate = _text_summary(r.out)
    assert elapsed != "0.00s" and elapsed.endswith(("ms", "us")), r.out  # ms precision, not 0.00s
    assert rate == pytest.approx(tp["rps"], abs=0.1)
    assert doc["thresholds"]["checks"][0]["passed"]


def test_the_rate_is_over_the_issuing_window_once_it_is_a_second_or_more():
    r = make_result([10.0] * 5, requests_per_second=200)  # 5 s issuing, 1000 completed
    r.elapsed_ns = 5_500_000_000  # a half-second drain
    r.completed_at_issue_end = 990
    tp = analyze(r).metrics["throughput"]
    assert tp["rpsWindow"] == "issuing" and tp["rps"] == pytest.approx(990 / 5.0)
    assert tp["overallRps"] == pytest.approx(1000 / 5.5)


def test_most_completions_after_issuing_means_the_measured_window():
    # issuing for 2 s against a server that answers in 3 s: nothing completed while issuing
    r = make_result([3000.0] * 5, requests_per_second=[0, 0, 0, 10, 10])
    r.issue_end_ns, r.completed_at_issue_end = 2_000_000_000, 0
    tp = analyze(r).metrics["throughput"]
    assert tp["rpsWindow"] == "measured" and tp["rps"] == pytest.approx(20 / 5.0)


# ------------------------------------------------------------------ 2. partial seconds


def _sliver_result():
    """3 s at 3000 completions a second, then the drain: 20 completions in the first 3.3 ms of
    second 3 (the run ends there)."""
    r = make_result([5.0] * 4, requests_per_second=[3000, 3000, 3000, 20])
    r.elapsed_ns = 3_003_300_000
    r.issue_end_ns = 3_000_200_000
    return r


def test_each_row_says_the_time_it_covers_and_its_rate_is_over_that_time():
    r = _sliver_result()
    r.first_send_ns = 400_000_000  # measuring began 0.4 s into second 0 (after a counted warmup, say)
    rep = report.Report(r)
    doc = json.loads(report.render(rep, "json"))
    rows = doc["timeSeries"]
    assert [row["coveredMs"] for row in rows] == pytest.approx([600, 1000, 1000, 3.3])
    for row in rows:
        assert row["rps"] == pytest.approx(row["requests"] / (row["coveredMs"] / 1000))
    assert rows[0]["rps"] == pytest.approx(5000)  # 3000 in 0.6 s, not 3000 "per second"
    series = list(csv.DictReader(io.StringIO(report.render(rep, "csv"))))
    assert [float(s["coveredMs"]) for s in series] == pytest.approx([600, 1000, 1000, 3.3])
    assert [float(s["rps"]) for s in series] == pytest.approx([row["rps"] for row in rows], rel=1e-4)


def test_a_partial_last_second_is_not_a_whole_seconds_rate():
    # 1.5 s: second 0 whole (1000), second 1 half covered (500): the spread of the per-second
    # rate is over whole seconds, not 1000 and a "500 req/s" second
    r = make_result([5.0] * 2, requests_per_second=[1000, 500])
    r.elapsed_ns = r.issue_end_ns = 1_500_000_000
    tp = analyze(r).block["throughput"]
    assert tp["perSecondMin"] == tp["perSecondMax"] == 1000


def _polyline(svg: str, chart: str) -> list[tuple[float, float]]:
    part = svg[svg.index(f'data-chart="{chart}"'):]
    part = part[:part.index("</svg>")]
    pts = re.search(r'<polyline class="series"[^>]* points="([^"]+)"', part).group(1)
    return [tuple(map(float, p.split(","))) for p in pts.split()]


def test_the_html_throughput_chart_does_not_double_at_the_drain():
    page = report.render(_sliver_result(), "html")
    pts = _polyline(page, "throughput-over-time")
    width, right_margin, height, bottom_margin = 920, 34, 260, 42
    assert max(x for x, _ in pts) <= width - right_margin + 0.5  # no point past the end of the run
    heights = sorted(height - bottom_margin - y for _, y in pts)
    median = heights[len(heights) // 2]
    assert heights[-1] <= 1.1 * median, pts  # 3000/s throughout: no spike to 6000/s at the end


def test_the_time_axis_starts_where_the_series_does():
    r = make_result([5.0] * 6, requests_per_second=100)
    r.series = [Second(t=s.t + 3, requests=s.requests, failures=s.failures, errors=s.errors, bytes=s.bytes,
                       status=s.status, hist=s.hist) for s in r.series]
    r.first_send_ns, r.elapsed_ns = 3_000_000_000, 9_000_000_000
    page = report.render(r, "html")
    chart = page[page.index('data-chart="throughput-over-time"'):]
    chart = chart[:chart.index("</svg>")]
    xs = [float(p.split(",")[0]) for p in re.search(r'<polyline class="series"[^>]* points="([^"]+)"', chart).group(1).split()]
    assert xs[0] < 58 + (920 - 58 - 34) * 0.2  # the first second is near the left edge, not 3/9 of the way in


def test_partial_seconds_are_not_throughput_drops():
    # the per-second rate of a half-covered first and last second is their count / 0.5 s
    counts = [150] + [300] * 10 + [150]
    r = make_result([5.0] * 12, requests_per_second=counts)
    r.first_send_ns = 500_000_000
    r.elapsed_ns = r.issue_end_ns = 11_500_000_000
    rows = analyze(r).series
    assert [round(row["rps"]) for row in rows] == [300] * 12
    assert analyze(r).block["anomalies"] == []


# ------------------------------------------------------------------ 3. warmup


def test_warmup_seconds_are_not_in_the_series_and_durations_exclude_them(fresh_target, tmp_path):
    out = tmp_path / "r.json"
    r = lunge("perf", "--url", f"{fresh_target.url}/", "--rps", 100, "--warmup", "1s", "-D", "1s",
              "--format", "json", "--format", "text", "-o", out)
    assert r.code == 0, r.err
    doc = json.loads(out.read_text())
    c = doc["counters"]
    assert c["firstSendMs"] == pytest.approx(1000, abs=1)
    assert doc["timeSeries"][0]["t"] == 1  # second 0 was all warmup: not a 0-request second
    measured = doc["metrics"]["throughput"]["measuredMs"]
    assert measured == pytest.approx(doc["durationMs"] - c["firstSendMs"])
    assert doc["analysis"]["summary"]["durationS"] == pytest.approx(measured / 1000)
    assert 0.98 <= measured / 1000 < 1.5  # the last of 100 sends a second is due at 0.99 s
    elapsed, _ = _text_summary(r.out)
    assert _seconds(elapsed) == pytest.approx(measured / 1000, abs=0.01), r.out
    assert re.search(r"Warmup\s+\d+ requests", r.out), r.out
    html = report.render(load(str(out)), "html")
    sub = html[html.index('<p class="sub">'):]
    assert elapsed in sub[:sub.index("</p>")]  # the HTML header gives the same measured duration


@pytest.mark.slow
def test_the_example_fetch_load_with_warmup_has_no_throughput_drop(fresh_target, tmp_path, monkeypatch):
    # examples/items.json fetchLoad: 3 s of warmup, then a 5 s ramp-up; the warmup's seconds
    # were kept as 0-request seconds and reported as a throughput drop
    monkeypatch.setenv("LUNGE_TARGET_PORT", str(fresh_target.port))
    r = lunge("perf", "-c", REPO / "examples" / "items.json", "-e", "local", "-p", "fetchLoad", "--duration", "6s",
              "--format", "json", "--format", "text", "-o", tmp_path / "fl.json", "--no-thresholds")
    assert r.code == 0, r.err
    doc = json.loads((tmp_path / "fl.json").read_text())
    assert [a for a in doc["analysis"]["anomalies"] if a["kind"] == "throughput_drop"] == []
    assert doc["timeSeries"][0]["t"] == 3 and doc["timeSeries"][0]["requests"] > 0
    assert 5.9 <= doc["analysis"]["summary"]["durationS"] < 6.5
    elapsed, _ = _text_summary(r.out)
    assert 5.9 <= _seconds(elapsed) < 6.5, r.out


def test_merged_parts_keep_the_warmup_out_of_the_series():
    from lunge.results import RunResult

    parts = []
    for i in range(2):
        r = make_result([5.0] * 3, requests_per_second=100, start_wall_ns=1_790_000_000_000_000_000 + i * 1000)
        r.series = [Second(t=s.t + 2, requests=s.requests, failures=s.failures, errors=s.errors, bytes=s.bytes,
                           status=s.status, hist=s.hist) for s in r.series]  # seconds 2-4, after 2 s of warmup
        r.first_send_ns, r.elapsed_ns = 2_000_000_000, 5_000_000_000
        parts.append(r)
    merged = RunResult.merge(parts)
    assert [s.t for s in merged.series] == [2, 3, 4]
