"""Bad input: one clear line on stderr naming the bad flag or value, exit 2, no traceback."""
import pytest

from conftest import lunge


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
