"""Run the CLI as a child process under a 1 GiB address-space limit and a timeout, so a
regression in the hostile-input tests fails instead of filling the machine's memory."""
from __future__ import annotations

import os
import resource
import subprocess
import sys

LIMIT_AS = 1 << 30


def _limit():
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT_AS, LIMIT_AS))


def bounded(*args, timeout=30, stdin=None) -> subprocess.CompletedProcess:
    """`lunge ARGS` under a 1 GiB address-space limit and a timeout."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    return subprocess.run([sys.executable, "-m", "lunge", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env, preexec_fn=_limit, stdin=stdin)
