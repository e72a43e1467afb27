"""Secrets by value (issue 18): the values of secret-looking variables and URL credentials
are redacted wherever they appear (reports, errors, verbose output) unless --show-secrets;
with -L, credentials do not follow a redirect to another origin unless --location-trusted."""
from __future__ import annotations

import glob
import json

import pytest
from recording_server import RecordingServer

from conftest import assert_one_line_error, free_port, run_lunge

API_KEY = "sk-live-4p1k3y-value"
SESSION = "s3ss10n-id-value"


@pytest.fixture(scope="module")
def server():
    s = RecordingServer()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def other():
    s = RecordingServer()
    yield s
    s.stop()


@pytest.fixture
def rec(server, other):
    server.reset()
    other.reset()
    return server


def config(tmp_path, url, **extra):
    cfg = {
        "environments": {"dev": {"baseUrl": url, "variables": {"apiKey": API_KEY, "userSession": SESSION,
                                                               "page": "2"}}},
        "requests": {
            "r": {"url": "/items?q={{apiKey}}&page={{page}}",
                  "headers": {"X-Plain": "v-{{apiKey}}", "X-Other": "{{userSession}}", "Accept": "text/plain"}},
            "login": {"url": "/secret", "extract": {"token": "$.token"}},
            "use": {"url": "/use", "headers": {"X-Plain": "{{token}}"}},
        },
        "suites": {"s": {"requests": ["login", "use"],
                         "tests": [{"name": "t", "request": "use",
                                    "assertions": [{"header": "X-Missing", "equals": "{{token}}"}]}]}},
        "performance": {"p": {"request": "r", "load": {"iterations": 3, "concurrency": 1}}},
        **extra,
    }
    p = tmp_path / "c.json"
    p.write_text(json.dumps(cfg))
    return str(p)


def test_secret_variable_values_are_redacted_in_perf_reports(rec, tmp_path):
    base = tmp_path / "out"
    proc = run_lunge("perf", "-c", config(tmp_path, rec.url), "-p", "p", "--format", "json", "--format", "html",
                     "--format", "csv", "--format", "text", "--output", str(base))
    assert proc.returncode == 0, proc.stderr
    texts = {p: open(p).read() for p in glob.glob(f"{base}*")}
    texts.update(stdout=proc.stdout, stderr=proc.stderr)
    for where, text in texts.items():
        assert API_KEY not in text, where
        assert SESSION not in text, where
    doc = json.loads(texts[f"{base}.json"])
    assert "X-Plain: v-[redacted]" in doc["configuration"]["headers"]
    assert "Accept: text/plain" in doc["configuration"]["headers"]
    assert "page=2" in doc["configuration"]["url"]
    # the server got the real values
    assert rec.seen[0]["headers"]["X-Plain"] == f"v-{API_KEY}"


def test_show_secrets_keeps_the_values(rec, tmp_path):
    proc = run_lunge("perf", "-c", config(tmp_path, rec.url), "-p", "p", "--format", "json", "--show-secrets")
    assert proc.returncode == 0, proc.stderr
    assert f"X-Plain: v-{API_KEY}" in json.loads(proc.stdout)["configuration"]["headers"]


def test_verbose_output_redacts_secret_values_and_headers(rec, tmp_path):
    proc = run_lunge("run", "-c", config(tmp_path, rec.url), "-r", "r", "-v")
    assert proc.returncode == 0, proc.stderr
    assert API_KEY not in proc.stderr + proc.stdout and SESSION not in proc.stderr
    assert "X-Plain: v-[redacted]" in proc.stderr
    proc = run_lunge("get", "-v", f"{rec.url}/", "-H", "Authorization: Bearer b34r3r-t0k3n")
    assert proc.returncode == 0, proc.stderr
    assert "b34r3r-t0k3n" not in proc.stderr and "Authorization: [redacted]" in proc.stderr
    proc = run_lunge("run", "-c", config(tmp_path, rec.url), "-r", "r", "-v", "--show-secrets")
    assert f"X-Plain: v-{API_KEY}" in proc.stderr


def test_extracted_secret_is_redacted_in_suite_output_and_verbose(rec, tmp_path):
    path = config(tmp_path, rec.url)
    proc = run_lunge("run", "-c", path, "-r", "login", "-v")
    assert proc.returncode == 0, proc.stderr
    assert "srv-t0k3n-from-response" not in proc.stderr
    assert "extracted token = [redacted]" in proc.stderr
    for fmt in ("text", "json", "junit"):
        proc = run_lunge("test", "-c", path, "-s", "s", "--format", fmt)
        assert proc.returncode == 1, proc.stderr  # the assertion on X-Missing fails
        assert "srv-t0k3n-from-response" not in proc.stdout + proc.stderr, fmt


def test_url_credentials_are_redacted_in_connection_errors():
    port = free_port()
    proc = run_lunge("get", f"http://user:pa55w0rd@127.0.0.1:{port}/x")
    assert proc.returncode == 1
    assert "pa55w0rd" not in proc.stderr and "Traceback" not in proc.stderr
    assert "user:[redacted]@" in proc.stderr
    proc = run_lunge("get", f"http://user:pa55w0rd@127.0.0.1:{port}/x", "--show-secrets")
    assert "pa55w0rd" in proc.stderr


def test_secret_values_are_redacted_in_error_messages(rec, tmp_path):
    cfg = json.loads(open(config(tmp_path, rec.url)).read())
    cfg["requests"]["bad"] = {"url": "http://127.0.0.1:99999/{{apiKey}}"}
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(cfg))
    line = assert_one_line_error(run_lunge("run", "-c", str(p), "-r", "bad"), "requests.bad.url")
    assert API_KEY not in line and "[redacted]" in line


# ---------------------------------------------------------------- redirects

CREDS = ["X-Api-Key: k3y-f0r-a-0nly", "Cookie: c=c00kie-f0r-a", "Authorization: Bearer b34r3r-f0r-a",
         "X-Session-Token: t0k-f0r-a"]


def _get(url, *extra):
    args = ["get", "-L", url, "-H", "X-Plain-Header: kept"]
    for h in CREDS:
        args += ["-H", h]
    return run_lunge(*args, *extra)


def test_credentials_do_not_follow_a_redirect_to_another_origin(rec, other):
    proc = _get(f"{rec.url}/redirect?to={other.url}/landing")
    assert proc.returncode == 0, proc.stderr
    assert [r["path"] for r in other.seen] == ["/landing"]
    landed = other.seen[0]["headers"]
    assert landed.get("X-Plain-Header") == "kept"
    for h in CREDS:
        assert h.split(":")[0] not in landed, (h, landed)
    first = rec.seen[0]["headers"]
    assert first["X-Api-Key"] == "k3y-f0r-a-0nly" and first["Cookie"] == "c=c00kie-f0r-a"


def test_credentials_follow_a_same_origin_redirect(rec):
    proc = _get(f"{rec.url}/redirect?to=/landing")
    assert proc.returncode == 0, proc.stderr
    assert [r["path"] for r in rec.seen] == ["/redirect?to=/landing", "/landing"]
    for h in CREDS:
        name, value = h.split(": ", 1)
        assert rec.seen[1]["headers"][name] == value


def test_location_trusted_sends_them_anywhere(rec, other):
    proc = _get(f"{rec.url}/redirect?to={other.url}/landing", "--location-trusted")
    assert proc.returncode == 0, proc.stderr
    for h in CREDS:
        name, value = h.split(": ", 1)
        assert other.seen[0]["headers"][name] == value


def test_config_request_with_follow_redirects_drops_credentials_too(rec, other, tmp_path):
    cfg = {"requests": {"r": {"url": f"{rec.url}/redirect?to={other.url}/landing", "followRedirects": True,
                              "headers": {"X-Api-Key": "{{apiKey}}", "X-Plain": "v-{{apiKey}}"}}},
           "environments": {"dev": {"variables": {"apiKey": API_KEY}}}}
    p = tmp_path / "c.json"
    p.write_text(json.dumps(cfg))
    proc = run_lunge("run", "-c", str(p), "-r", "r")
    assert proc.returncode == 0, proc.stderr
    landed = other.seen[0]["headers"]
    assert "X-Api-Key" not in landed
    assert rec.seen[0]["headers"]["X-Api-Key"] == API_KEY


def test_redirect_303_after_post_becomes_get_and_counts_hops(rec, other):
    proc = run_lunge("post", "-L", f"{rec.url}/redirect?code=303&to={other.url}/done", "-d", "payload",
                     "-H", "X-Api-Key: k", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert rec.seen[0]["method"] == "POST" and rec.seen[0]["body"] == b"payload"
    assert other.seen[0]["method"] == "GET" and other.seen[0]["body"] == b""
    assert json.loads(proc.stdout)["url"] == f"{other.url}/done"


def test_perf_follow_refuses_credentials_it_cannot_keep(rec, other):
    """The load engine's -L is libcurl's: Authorization and Cookie stay with the original host,
    other credential headers would go along, so perf refuses them before anything is sent;
    --location-trusted sends them anyway (documented in docs/reliability.md)."""
    args = ["perf", "--url", f"{rec.url}/redirect?to={other.url}/landing", "-L", "-n", "1", "--concurrency", "1"]
    for h in CREDS:
        args += ["-H", h]
    proc = run_lunge(*args)
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1, proc.stderr
    assert "X-Api-Key" in proc.stderr and "--location-trusted" in proc.stderr
    assert rec.seen == [] and other.seen == []
    proc = run_lunge(*args, "--location-trusted")
    assert proc.returncode == 0, proc.stderr
    landed = other.seen[0]["headers"]
    assert "Authorization" not in landed and "Cookie" not in landed
    assert landed.get("X-Api-Key") == "k3y-f0r-a-0nly"
