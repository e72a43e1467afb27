"""scripts/setup.sh (what scripts/test.sh and scripts/demo.sh run first): it installs lunge
into .venv, and skips the install (a wheel build of the engine) when neither the sources nor
the extras changed since the last one.  Run on a copy with a stand-in .venv/bin/python that
records what it is asked to do: no real install, a second or so."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

FAKE_PYTHON = """#!/bin/sh
echo "$*" >> "$(dirname "$0")/../calls.log"
exit 0
"""


def copy(tmp_path: Path) -> Path:
    root = tmp_path / "lunge"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "setup.sh", root / "scripts" / "setup.sh")
    for name in ("setup.py", "pyproject.toml"):
        shutil.copy(REPO / name, root / name)
    (root / "src" / "lunge").mkdir(parents=True)
    (root / "src" / "lunge" / "units.py").write_text("x = 1\n")
    (root / "csrc").mkdir()
    (root / "csrc" / "a.h").write_text("/* a */\n")
    venv = root / ".venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "python").write_text(FAKE_PYTHON)
    (venv / "python").chmod(0o755)
    return root


def setup(root: Path, extras: str = "test", **env) -> list[str]:
    log = root / ".venv" / "calls.log"
    log.unlink(missing_ok=True)
    proc = subprocess.run(["bash", "scripts/setup.sh", extras], cwd=root, capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", **env})
    assert proc.returncode == 0, proc.stderr
    return [ln for ln in log.read_text().splitlines() if "pip install" in ln] if log.exists() else []


def test_setup_installs_once_then_only_when_the_sources_or_extras_change(tmp_path):
    root = copy(tmp_path)
    assert setup(root)[-1] == "-m pip install -q .[test]"
    assert setup(root) == []                                   # nothing changed: no rebuild
    (root / "src" / "lunge" / "units.py").touch()
    assert setup(root) == []                                   # a touch is not a change
    (root / "src" / "lunge" / "units.py").write_text("x = 2\n")
    assert setup(root)[-1] == "-m pip install -q .[test]"      # a changed source reinstalls
    assert setup(root, "test,lint")[-1] == "-m pip install -q .[test,lint]"  # other extras too
    assert setup(root, "test,lint") == []
    assert setup(root, "test,lint", LUNGE_REINSTALL="1")[-1] == "-m pip install -q .[test,lint]"
