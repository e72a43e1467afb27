"""Shared fixtures: the embedded target in a child process, a closed port, running the CLI.

Everything listens on 127.0.0.1 and is stopped by PID at teardown."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lunge import target as target_mod

REPO = Path(__file__).resolve().parent.parent
RESULT_SCHEMA = REPO / "docs" / "result.schema.json"


@pytest.fixture(scope="session")
def target():
    server = target_mod.Spawned()
    yield server
    server.stop()


@pytest.fixture
def fresh_target(target):
    target.reset()
    return target


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    # libcurl honours *_proxy variables; the tests only ever talk to 127.0.0.1 directly.
    for k in list(os.environ):
        if k.lower().endswith("_proxy"):
            monkeypatch.delenv(k)


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def closed_port():
    return free_port()


class Run:
    def __init__(self, proc: subprocess.CompletedProcess):
        self.code = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def json(self):
        return json.loads(self.out)


def lunge(*args, timeout=120, **kw) -> Run:
    """Run the installed `lunge` CLI in a child process, as a user would."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run([sys.executable, "-m", "lunge", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env, **kw)
    return Run(proc)


def wait_for(condition, what: str, timeout: float = 30, proc: subprocess.Popen | None = None):
    """Poll `condition()` until it returns something true, and return that: instead of sleeping
    for a fixed time while a process starts (its start-up varies with the machine's load).
    Fails naming `what` after `timeout` seconds, or as soon as `proc` (if given) has exited."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"waiting for {what}: the process exited with {proc.returncode}")
        if time.monotonic() > deadline:
            pytest.fail(f"waiting for {what}: not within {timeout:g} s")
        time.sleep(0.05)


@pytest.fixture
def result_schema():
    return json.loads(RESULT_SCHEMA.read_text())


def run_lunge(*args: str, env: dict | None = None, timeout: float = 60, cwd=None) -> subprocess.CompletedProcess:
    """`lunge ARGS` in a subprocess, as a user runs it (real exit status, stdout, stderr).
    cwd: where a run whose report fails keeps its result (lunge-result-*.json)."""
    full = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    full.update(env or {})
    return subprocess.run([sys.executable, "-m", "lunge", *args], capture_output=True, text=True,
                          timeout=timeout, env=full, cwd=cwd)


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
