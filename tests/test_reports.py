"""Reports: formats and outputs (flags and config), CSV, text colour, --template, and the
HTML report rendered in headless Chromium."""
import csv
import io
import json
import os
import pty
import re
import subprocess
import sys

import jsonschema
import pytest

import chromium
from conftest import assert_one_line_error, lunge, run_lunge
from lunge import report
from lunge.report import csv_report
from synth import make_result

needs_chromium = pytest.mark.skipif(chromium.CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
CHARTS = {"latency-over-time", "throughput-over-time", "distribution", "percentiles", "breakdown"}


def assert_all_charts_drawn(found: dict, expected=CHARTS):
    assert found["errors"] == [], found["errors"]
    assert found["resources"] == [], found["resources"]  # self-contained: nothing fetched
    charts = {c["name"]: c for c in found["charts"]}
    assert expected <= set(charts), charts
    for c in charts.values():
        assert not c["empty"] and c["marks"] >= 1 and c["width"] > 300 and c["height"] > 80, c


@pytest.mark.slow
@needs_chromium
def test_html_report_of_a_20s_run_renders_every_chart(fresh_target, tmp_path, result_schema):
    name = "html report"
    base = lunge("perf", "--url", f"{fresh_target.url}/delay/5", "--name", name, "--rps", 100, "--duration", "3s",
                 "--baseline", cwd=tmp_path)
    assert base.code == 0, base.err
    r = lunge("perf", "--url", f"{fresh_target.url}/mix/200:49,503:1", "--name", name, "--rps", 150,
              "--duration", "20s", "--concurrency", 20, "--compare", "--threshold", "p99 < 1s",
              "--threshold", "errorRate < 1%", "--format", "html", "--format", "json", "-o", tmp_path / "run",
              cwd=tmp_path, timeout=180)
    assert r.code == 1, r.err  # 2% 503s break the errorRate threshold
    page = tmp_path / "run.html"
    doc = json.loads((tmp_path / "run.json").read_text())
    jsonschema.validate(doc, result_schema)
    assert 19 <= len(doc["timeSeries"]) <= 22
    assert page.stat().st_size < 1_000_000
    text = page.read_text()
    assert "http://" not in text.replace(fresh_target.url, "") and "<script" not in text
    assert "Comparison with the baseline" in text and "errorRate &lt; 1%" in text and "FAILED" in text
    assert_all_charts_drawn(chromium.probe(page, tmp_path))


@pytest.mark.slow
@needs_chromium
def test_html_of_a_one_hour_result_stays_under_1mb(tmp_path):
    lat = [10.0] * 3600
    lat[1800:1803] = [90.0, 80.0, 70.0]
    r = make_result(lat, requests_per_second=50, failures_per_second=1)
    r.resources = [{"t": t, "cpuPercent": 40 + t % 13, "memoryMb": 120 + t / 100} for t in range(3600)]
    page = tmp_path / "hour.html"
    report.write(r, "html", str(page))
    size = page.stat().st_size
    assert size < 1_000_000, size
    found = chromium.probe(page, tmp_path)
    assert_all_charts_drawn(found, CHARTS | {"resources-cpuPercent", "resources-memoryMb"})
    assert 'class="anomaly"' in page.read_text() and "t=1800-1803s" in page.read_text()


@pytest.mark.slow
def test_csv_series_and_percentiles(fresh_target, tmp_path):
    out = tmp_path / "run.csv"
    r = lunge("perf", "--url", f"{fresh_target.url}/mix/200:3,404:1", "--concurrency", 4, "-n", 400,
              "--format", "csv", "-o", out)
    assert r.code == 0, r.err
    assert "Requests     400" in r.out  # the text summary still prints
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert list(rows[0]) == list(csv_report.SERIES_COLUMNS)
    assert sum(int(x["requests"]) for x in rows) == 400
    assert sum(int(x["status4xx"]) for x in rows) == 100 and sum(int(x["failures"]) for x in rows) == 100
    assert [int(x["t"]) for x in rows] == list(range(len(rows)))
    pct = list(csv.DictReader(io.StringIO((tmp_path / "run.percentiles.csv").read_text())))
    assert list(pct[0]) == list(csv_report.PERCENTILE_COLUMNS)
    values = [float(x["valueMs"]) for x in pct]
    assert values == sorted(values) and float(pct[-1]["percentile"]) == 100 and int(pct[-1]["totalCount"]) == 400
    # alone and without --output, CSV goes to stdout
    r = lunge("perf", "--url", f"{fresh_target.url}/", "-n", 20, "--format", "csv")
    assert r.out.splitlines()[0] == ",".join(csv_report.SERIES_COLUMNS)


def test_several_formats_share_a_base_name(fresh_target, tmp_path):
    (tmp_path / "out").mkdir()  # lunge writes into directories, it does not make them
    r = lunge("perf", "--url", f"{fresh_target.url}/", "-n", 50, "--format", "json", "--format", "html",
              "--format", "text", "-o", tmp_path / "out" / "run")
    assert r.code == 0, r.err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["run.html", "run.json"]
    assert r.out.startswith("lunge perf  GET")  # text to the terminal
    assert json.loads((tmp_path / "out" / "run.json").read_text())["metrics"]["totalRequests"] == 50


def test_two_formats_on_stdout_is_a_usage_error(fresh_target):
    proc = run_lunge("perf", "--url", f"{fresh_target.url}/", "-n", "5", "--format", "json", "--format", "html")
    assert_one_line_error(proc, "--output")
    assert fresh_target.stats()["requests"] == 0


def config(target, tmp_path, reporting):
    cfg = {"environments": {"local": {"baseUrl": target.url}}, "requests": {"home": {"url": "/"}},
           "performance": {"t": {"request": "home", "load": {"concurrency": 2, "iterations": 20},
                                 "reporting": reporting}}}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(cfg))
    return path


@pytest.mark.slow
def test_config_reporting_does_what_the_flags_do_and_flags_win(fresh_target, tmp_path):
    path = config(fresh_target, tmp_path, {"formats": ["text", "json", "csv"],
                                           "output": {"json": "r/run.json", "csv": "r/series.csv"}})
    (tmp_path / "r").mkdir()  # lunge writes into directories, it does not make them
    (tmp_path / "both").mkdir()
    r = lunge("perf", "-c", path, "-e", "local", "-p", "t", cwd=tmp_path)
    assert r.code == 0, r.err
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["run.json", "series.csv", "series.percentiles.csv"]
    assert r.out.startswith("lunge perf")
    # flags win: --format json goes to stdout, the config's paths are not written
    (tmp_path / "r" / "run.json").unlink()
    r = lunge("perf", "-c", path, "-e", "local", "-p", "t", "--format", "json", cwd=tmp_path)
    assert r.json()["testName"] == "t" and not (tmp_path / "r" / "run.json").exists()
    # a single output path in the config is the base name of every format
    path = config(fresh_target, tmp_path, {"formats": ["json", "html"], "output": "both/report"})
    assert lunge("perf", "-c", path, "-e", "local", "-p", "t", cwd=tmp_path).code == 0
    assert sorted(p.name for p in (tmp_path / "both").iterdir()) == ["report.html", "report.json"]


@pytest.mark.slow
def test_template_dir_overrides_a_block(fresh_target, tmp_path):
    tpl = tmp_path / "tpl"
    tpl.mkdir()
    (tpl / "report.html.j2").write_text('{% extends "base/report.html.j2" %}'
                                        '{% block insights %}<h2>Ours</h2><p id="ours">{{ a.insights|length }} '
                                        'insights for {{ result.name }}</p>{% endblock %}')
    out = tmp_path / "r.html"
    r = lunge("perf", "--url", f"{fresh_target.url}/", "-n", 30, "--format", "html", "-o", out, "--template", tpl)
    assert r.code == 0, r.err
    text = out.read_text()
    # the count depends on the run (a busy machine adds a generator-CPU insight)
    assert re.search(r'<p id="ours">\d+ insights for GET ', text) and 'data-chart="latency-over-time"' in text
    assert "<h2>Insights</h2>" not in text
    # a template FILE is the page itself; config paths are relative to the config file
    (tmp_path / "page.j2").write_text("<html><body>{{ result.completed }} requests</body></html>")
    path = config(fresh_target, tmp_path, {"formats": ["html"], "output": "t.html", "template": "page.j2"})
    assert lunge("perf", "-c", path, "-e", "local", "-p", "t", cwd=tmp_path).code == 0
    assert (tmp_path / "t.html").read_text() == "<html><body>20 requests</body></html>"


def test_bad_template_is_a_one_line_error(fresh_target, tmp_path):
    proc = run_lunge("perf", "--url", f"{fresh_target.url}/", "-n", "5", "--format", "html", "-o",
                     str(tmp_path / "x.html"), "--template", str(tmp_path / "missing"))
    assert_one_line_error(proc, "--template", "missing")
    assert fresh_target.stats()["requests"] == 0
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "report.html.j2").write_text("{% block x %}")
    proc = run_lunge("perf", "--url", f"{fresh_target.url}/", "-n", "5", "--format", "html", "-o",
                     str(tmp_path / "x.html"), "--template", str(broken))
    assert_one_line_error(proc, "--template", "TemplateSyntaxError")
    assert fresh_target.stats()["requests"] == 0  # the page is compiled before the run


@pytest.mark.slow
def test_text_is_coloured_on_a_tty_only(fresh_target):
    args = [sys.executable, "-m", "lunge", "perf", "--url", f"{fresh_target.url}/", "-n", "20",
            "--threshold", "p99 < 10s"]
    piped = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert piped.returncode == 0 and "\x1b[" not in piped.stdout and "passed" in piped.stdout
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    proc = subprocess.Popen(args, stdout=slave, stderr=subprocess.DEVNULL, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    assert proc.wait(timeout=60) == 0
    os.close(master)
    tty_out = b"".join(chunks).decode()
    assert "\x1b[32m\x1b[1mpassed" in tty_out


def test_text_tables_are_aligned():
    r = make_result([10.0] * 20)
    th = {"passed": True, "checks": [
        {"threshold": "p99 < 300ms", "metric": "p99", "op": "<", "limit": 300.0, "measured": 11.2, "unit": "ms",
         "passed": True},
        {"threshold": "rate(errors) < 0.01", "metric": "errorRate", "op": "<", "limit": 0.01, "measured": 0.0,
         "unit": "", "passed": True}]}
    text = report.render(r, "text", thresholds=th)
    lines = [l for l in text.splitlines() if "limit" in l]
    assert len(lines) == 2 and len({l.index("limit") for l in lines}) == 1 and len({len(l) for l in lines}) == 1
