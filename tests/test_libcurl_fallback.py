"""Without pycurl, the engine falls back to the system's libcurl, says so, and still works."""
import ctypes.util
import subprocess
import sys

import pytest

SNIPPET = """
import sys
sys.modules["pycurl"] = None          # as if pycurl were not installed
from lunge.cli import main
main(sys.argv[1:])
"""


def run(*args):
    return subprocess.run([sys.executable, "-c", SNIPPET, *map(str, args)], capture_output=True, text=True, timeout=60)


@pytest.fixture
def system_libcurl():
    try:
        ctypes.CDLL("libcurl.so.4")
    except OSError:
        if not ctypes.util.find_library("curl"):
            pytest.skip("no system libcurl on this machine")


def test_version_says_system_libcurl(system_libcurl):
    p = run("--version")
    assert p.returncode == 0, p.stderr
    line = [l for l in p.stdout.splitlines() if l.startswith("engine libcurl file:")][0]
    assert "the system's" in line and "pycurl.libs" not in line


def test_perf_runs_on_system_libcurl(system_libcurl, fresh_target):
    p = run("perf", "--url", f"{fresh_target.url}/", "--concurrency", 4, "-n", 200, "--format", "json")
    assert p.returncode == 0, p.stderr
    assert '"totalRequests": 200' in p.stdout
    assert fresh_target.stats()["requests"] == 200
