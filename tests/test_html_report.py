"""The HTML report's charts as a first-time user reads them (issue 20): enough x ticks on the
distribution, resource charts with human titles and units, the open model's target rate, a
flow's VUs on their own axis, and a page that fits a phone's width."""
import re

import pytest
from test_flow_results import flow_result
from test_text_report import open_result

import chromium
from lunge import report
from lunge.report import html
from synth import make_result

needs_chromium = pytest.mark.skipif(chromium.CHROMIUM is None, reason="Debian's chromium is not installed")


def chart(page: str, name: str) -> str:
    m = re.search(rf'<svg class="chart[^"]*" data-chart="{re.escape(name)}".*?</svg>', page, re.S)
    assert m, f"no chart {name}"
    return m.group(0)


def x_tick_labels(svg: str) -> list[str]:
    """The labels under the x axis (the axis line's y + 16)."""
    h = int(re.search(r'height="(\d+)"', svg).group(1))
    return re.findall(rf'<text x="[\d.]+" y="{h - 42 + 16}" text-anchor="middle">([^<]*)</text>', svg)


@pytest.mark.parametrize("latency, noise", [(2002.0, 0.0004), (7.0, 0.15), (10.0, 0.05), (3.0, 1.2)])
def test_distribution_chart_has_at_least_three_distinct_x_ticks(latency, noise):
    page = report.render(make_result([latency] * 5, noise=noise), "html")
    labels = x_tick_labels(chart(page, "distribution"))
    assert len(labels) >= 3 and len(set(labels)) == len(labels), labels


def test_distribution_ticks_of_a_narrow_range_read_differently():
    ticks = html.distribution_ticks(1999.2, 2005.0)
    assert len(ticks) >= 3 and len({label for _, label in ticks}) == len(ticks)
    assert all(1999.2 <= v <= 2005.0 for v, _ in ticks)
    assert [label for _, label in html.distribution_ticks(0.5, 600.0)][:3] == ["500us", "1.00ms", "2.00ms"]


def test_resource_charts_have_human_titles_and_units():
    r = make_result([10.0] * 5)
    r.resources = [{"t": t, "cpuPercent": 40.0, "rssBytes": 1e8, "netBytesSentPerSec": 2e6, "fooBarCount": 3}
                   for t in range(5)]
    page = report.render(r, "html")
    for title in ("CPU (% of usable cores)", "Memory (RSS) (bytes)", "Network sent (bytes/s)", "Foo bar count (value)"):
        assert f"<h3>{title}</h3>" in page, title
    assert 'aria-label="Network sent (bytes/s)"' in page
    assert ">netBytesSentPerSec<" not in page and ">cpuPercent<" not in page


def test_open_model_throughput_chart_draws_the_target_rate():
    steps = [{"rps": 100, "durationMs": 2000}, {"rps": 400, "durationMs": 2000}]
    svg = chart(report.render(open_result({"type": "step", "steps": steps}, 4), "html"), "throughput-over-time")
    line = re.search(r'<polyline class="series target"[^>]*points="([^"]*)"', svg)
    assert line and "target / s" in svg
    ys = sorted({float(p.split(",")[1]) for p in line.group(1).split()})
    assert len(ys) == 2  # two levels, 100/s and 400/s: a step, drawn as a step
    # the 400/s level is within the plot (the y range covers the target, not only what completed)
    assert ys[0] >= 30


def test_header_names_the_open_models_target_rate():
    steps = [{"rps": 100, "durationMs": 2000}, {"rps": 400, "durationMs": 2000}]
    page = report.render(open_result({"type": "step", "steps": steps}, 4), "html")
    assert "open model: step 100 req/s for 2s, 400 req/s for 2s" in page


def test_target_line_follows_ramps_and_is_absent_without_a_known_pattern():
    r = open_result({"type": "constant", "rps": 100}, 4, durationMs=4000.0, rampUpMs=1000.0)
    assert 'class="series target"' in chart(report.render(r, "html"), "throughput-over-time")
    custom = open_result({"type": "custom", "class": "pkg.Square"}, 4, durationMs=4000.0)
    assert 'class="series target"' not in report.render(custom, "html")
    assert 'class="series target"' not in report.render(make_result([10.0] * 4), "html")  # closed model


def test_flow_vus_have_their_own_axis():
    page = report.render(flow_result(), "html")
    main, vus = chart(page, "scenario-checkout"), chart(page, "scenario-checkout-vus")
    assert "VUs" not in main and "requests / s" in main
    assert "polyline" in vus and ">VUs<" in vus


@pytest.mark.slow
@needs_chromium
@pytest.mark.parametrize("which", ["errors", "flow", "long"])
def test_report_fits_a_phone_without_sideways_scrolling(which, tmp_path):
    if which == "errors":
        r = make_result([10.0] * 20, requests_per_second=100, failures_per_second=30)
        r.name = "GET http://a-long-host-name.example.com/api/v1/a/long/path/that/does/not/wrap?x=1&y=2"
    elif which == "flow":
        r = flow_result()
    else:
        r = make_result([10.0] * 90)
        r.resources = [{"t": t, "cpuPercent": 40.0, "netBytesSentPerSec": 2e6} for t in range(90)]
    page = tmp_path / "r.html"
    report.write(r, "html", str(page))
    found = chromium.probe(page, tmp_path, width=390)
    assert found["errors"] == []
    assert found["viewport"] == 390 and found["scrollWidth"] <= 390, found["scrollWidth"]
    # a chart keeps a readable width (its panel scrolls) rather than shrinking to the screen
    assert all(c["width"] >= 700 for c in found["charts"]), found["charts"]
