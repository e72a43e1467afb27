"""The Windows x64 build, as far as this Linux machine can exercise it: scripts/windows_check.sh
cross-compiles the engine with mingw-w64 and runs the C layer under wine against the libcurl DLL
of pycurl's Windows wheel (docs/windows.md).  .ci/run installs the tools and sets
LUNGE_REQUIRE_WINDOWS_CHECK=1, so CI never skips it; elsewhere it is skipped without them."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "windows_check.sh"
TOOLS = ("x86_64-w64-mingw32-gcc", "x86_64-w64-mingw32-dlltool")
HAVE = all(shutil.which(t) for t in TOOLS) and bool(shutil.which("wine64") or shutil.which("wine")
                                                   or os.path.exists("/usr/lib/wine/wine64"))
REQUIRED = os.environ.get("LUNGE_REQUIRE_WINDOWS_CHECK") == "1"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not SCRIPT.exists(), reason="needs the repository's scripts/ (not on the wheel builders)"),
    pytest.mark.skipif(not HAVE and not REQUIRED,
                       reason="needs mingw-w64 and wine (apt-get install gcc-mingw-w64-x86-64 wine64)"),
]


def test_windows_build_cross_compiles_and_its_c_layer_serves_requests_under_wine():
    p = subprocess.run(["bash", str(SCRIPT), sys.executable], capture_output=True, text=True, timeout=900,
                       env={**os.environ, "WINDOWS_CHECK_REQUESTS": "1500", "WINDOWS_CHECK_CONNECTIONS": "16"})
    out = p.stdout + p.stderr
    assert p.returncode == 0, out[-4000:]
    # both sets of compiler paths built, linked and run; each run's count matched the server's
    for variant in ("gcc", "msvc"):
        assert f"cross-compiled and linked hist, engine, flowkit, flow ({variant} paths)" in out
        assert f"harness ({variant} paths) under wine:" in out
    assert out.count("ok=1500 connections_opened=16") == 2, out[-2000:]
    assert out.count("server counted 1500") == 2
    assert "clock=QueryPerformanceCounter" in out
