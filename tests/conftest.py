"""Shared fixtures: the embedded target server (loopback, started and stopped by PID) and
helpers to run the `lunge` CLI."""
from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import urllib.request

import pytest


class Target:
    """A running `python -m lunge.target 0`: its URL and the server's own request counts."""

    def __init__(self, proc: subprocess.Popen, port: int):
        self.proc, self.port = proc, port
        self.url = f"http://127.0.0.1:{port}"

    def stats(self) -> dict:
        with urllib.request.urlopen(f"{self.url}/__lunge/stats", timeout=5) as r:
            return json.load(r)

    def reset(self) -> None:
        urllib.request.urlopen(f"{self.url}/__lunge/reset", timeout=5).read()


@pytest.fixture(scope="session")
def target():
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    proc = subprocess.Popen([sys.executable, "-m", "lunge.target", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 30)  # bounded: never hang the suite
        line = proc.stdout.readline() if ready else ""  # the port, once listening
        if not line.strip().isdigit():
            raise RuntimeError(f"target did not start: {line!r}")
        yield Target(proc, int(line))
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    # libcurl honours *_proxy variables; the tests only ever talk to 127.0.0.1 directly.
    for k in list(os.environ):
        if k.lower().endswith("_proxy"):
            monkeypatch.delenv(k)


def run_lunge(*args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """`lunge ARGS` in a subprocess, as a user runs it (real exit status, stdout, stderr)."""
    full = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    full.update(env or {})
    return subprocess.run([sys.executable, "-m", "lunge", *args], capture_output=True, text=True,
                          timeout=timeout, env=full)


def assert_one_line_error(proc: subprocess.CompletedProcess, *fragments: str, code: int = 2) -> str:
    """Exit `code`, stderr exactly one line starting 'lunge:' containing every fragment, no traceback."""
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("lunge: "), lines[0]
    for frag in fragments:
        assert frag in lines[0], (frag, lines[0])
    return lines[0]
