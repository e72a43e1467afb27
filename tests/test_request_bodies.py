"""Request bodies read from files (issue 18): `-d @/dev/zero` and friends are read in a bounded
way, capped at --max-request-body (default 100MB), with one line naming the file."""
from __future__ import annotations

import json
import time

import pytest
from bounded import bounded

from conftest import assert_one_line_error


@pytest.mark.parametrize("args", [
    ["perf", "--url", "{url}/", "-n", "1", "-d", "@/dev/zero"],
    ["post", "{url}/", "-d", "@/dev/zero"],
    ["post", "{url}/", "--json", "@/dev/zero"],
])
def test_endless_request_body_is_refused(target, args):
    t0 = time.monotonic()
    r = bounded(*[a.format(url=target.url) for a in args], timeout=30)
    assert_one_line_error(r, "/dev/zero", "100MB", "--max-request-body")
    assert time.monotonic() - t0 < 15


def test_config_body_file_is_capped(tmp_path, target):
    p = tmp_path / "c.json"
    p.write_text(json.dumps({"requests": {"x": {"url": f"{target.url}/", "method": "POST", "body": "@/dev/zero"}}}))
    assert_one_line_error(bounded("run", "-c", p, "-r", "x", timeout=30), "/dev/zero", "--max-request-body")


def test_max_request_body_flag(tmp_path, target):
    body = tmp_path / "body.bin"
    body.write_bytes(b"x" * 3000)
    assert_one_line_error(bounded("post", f"{target.url}/", "-d", f"@{body}", "--max-request-body", "2KB"),
                          "body.bin", "2KB")
    r = bounded("post", f"{target.url}/", "-d", f"@{body}", "--max-request-body", "4KB")
    assert r.returncode == 0, r.stderr
    assert_one_line_error(bounded("perf", "--url", f"{target.url}/", "-n", 1, "-d", f"@{body}",
                                  "--max-request-body", "1KB"), "body.bin", "1KB")
    r = bounded("perf", "--url", f"{target.url}/", "-n", 1, "-d", f"@{body}", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["configuration"]["bodyBytes"] == 3000


def test_max_request_body_is_for_one_invocation(tmp_path, target):
    # cli.main in one process (as an embedding program or the test suite calls it): a limit
    # given to one command must not cap the next one, which did not ask for it
    import contextlib
    import io

    from lunge.cli import main

    body = tmp_path / "body.bin"
    body.write_bytes(b"x" * 3000)

    def call(*argv):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.TextIOWrapper(io.BytesIO())):
            try:
                main(list(argv))
            except SystemExit as e:
                return e.code, err.getvalue()
        raise AssertionError("main returned without exiting")

    code, err = call("post", f"{target.url}/", "-d", f"@{body}", "--max-request-body", "1KB")
    assert code == 2 and "1KB" in err
    code, err = call("post", f"{target.url}/", "-d", f"@{body}")
    assert code == 0, err
    code, err = call("perf", "--url", f"{target.url}/", "-d", f"@{body}", "-n", "1", "--max-request-body", "1KB")
    assert code == 2 and "--max-request-body" in err, err
