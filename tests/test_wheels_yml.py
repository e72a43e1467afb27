"""wheels.yml cannot run here; lint it with actionlint (the `lint` extra ships the binary)."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO


def actionlint():
    exe = shutil.which("actionlint") or str(Path(sys.executable).with_name("actionlint"))
    if not os.path.exists(exe):
        if os.environ.get("CI"):
            pytest.fail("actionlint missing: scripts/test.sh installs the `lint` extra")
        pytest.skip("actionlint not installed (pip install '.[lint]')")
    return exe


def test_wheels_workflow_passes_actionlint(tmp_path):
    # actionlint only lints files under .github/workflows/: lint a copy placed there.
    wf = tmp_path / ".github" / "workflows"
    wf.mkdir(parents=True)
    shutil.copy(REPO / "wheels.yml", wf / "wheels.yml")
    p = subprocess.run([actionlint(), "-no-color", str(wf / "wheels.yml")], capture_output=True, text=True,
                       cwd=tmp_path, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path):
    wf = tmp_path / ".github" / "workflows"
    wf.mkdir(parents=True)
    (wf / "bad.yml").write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n"
                                "      - run: echo ${{ matrix.nope }}\n")
    p = subprocess.run([actionlint(), "-no-color", str(wf / "bad.yml")], capture_output=True, text=True,
                       cwd=tmp_path, timeout=60)
    assert p.returncode != 0
