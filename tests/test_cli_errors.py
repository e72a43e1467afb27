"""Bad input: one clear line on stderr naming the bad flag or value, exit 2, no traceback."""
import json

import pytest

from conftest import assert_one_line_error, lunge, run_lunge


@pytest.mark.parametrize("args,needle", [
    (["--concurrency", "0", "-n", "1"], "--concurrency"),
    (["--duration", "5x"], "'5x'"),
    (["-n", "0"], "--iterations"),
    (["--timeout", "soon", "-n", "1"], "--timeout"),
    (["--max-concurrency", "100", "--concurrency", "1000", "-n", "1"], "--concurrency"),
    (["-n", "1", "-H", "NoColonHere"], "NoColonHere"),
    (["-n", "1", "-X", "FETCH"], "FETCH"),
    (["-n", "1", "-d", "@/nonexistent/body.json"], "/nonexistent/body.json"),
    (["--format", "xml", "-n", "1"], "xml"),
])
def test_bad_flags(args, needle, target):
    r = lunge("perf", "--url", f"{target.url}/", *args)
    assert r.code == 2, (r.code, r.err)
    lines = r.err.strip().splitlines()
    assert len(lines) == 1, r.err
    assert needle in lines[0] and "Traceback" not in r.err
    assert r.out == ""


@pytest.mark.parametrize("url", ["127.0.0.1:8080/", "ftp://127.0.0.1/", "http://", "http://127.0.0.1:99999/",
                                 "not a url", "http://exa mple.com/"])
def test_malformed_urls(url):
    r = lunge("perf", "--url", url, "-n", "1")
    assert r.code == 2, r.err
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.err
    assert "--url" in lines[0]


@pytest.mark.slow
def test_missing_limit_and_url(target):
    r = lunge("perf", "--url", f"{target.url}/")
    assert r.code == 2 and "--iterations" in r.err and len(r.err.strip().splitlines()) == 1
    r = lunge("perf", "-n", "1")
    assert r.code == 2 and "--url" in r.err and len(r.err.strip().splitlines()) == 1


def test_unknown_command_and_option():
    r = lunge("perff")
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1
    r = lunge("perf", "--bogus")
    assert r.code == 2 and "--bogus" in r.err and len(r.err.strip().splitlines()) == 1


# ---------------------------------------------------------------------- lunge agrees with itself (issue 20)
def test_perf_takes_the_url_as_its_argument(fresh_target, tmp_path):
    out = tmp_path / "r.json"
    p = run_lunge("perf", f"{fresh_target.url}/", "-n", "7", "--format", "json", "-o", str(out))
    assert p.returncode == 0, p.stderr
    assert json.loads(out.read_text())["configuration"]["url"] == f"{fresh_target.url}/"
    assert fresh_target.stats()["requests"] == 7


def test_perf_url_twice_is_one_line(target):
    assert_one_line_error(run_lunge("perf", f"{target.url}/a", "--url", f"{target.url}/b", "-n", "1"),
                          "the URL is given twice", "give it once")


def test_perf_c_with_a_number_says_c_is_the_config_file(target):
    line = assert_one_line_error(run_lunge("perf", "--url", f"{target.url}/", "-c", "50", "-n", "1"))
    assert line == ("lunge: -c is the config file (as in the original Lunge), and there is no file '50': "
                    "for 50 connections use --concurrency 50 (or --vus 50)")


def test_demo_c_points_to_concurrency():
    line = assert_one_line_error(run_lunge("demo", "-c", "50"))
    assert line == "lunge: demo takes no config file (-c is perf's config file): for 50 connections use --concurrency 50"
    assert "-c, --concurrency" not in run_lunge("demo", "--help").stdout
