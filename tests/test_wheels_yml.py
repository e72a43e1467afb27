"""wheels.yml cannot run here; lint it with actionlint (the `lint` extra ships the binary)."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO


def lint_tool(name):
    """A tool from the `lint` extra: required on CI, skipped without it elsewhere."""
    exe = shutil.which(name) or str(Path(sys.executable).with_name(name))
    if not os.path.exists(exe):
        if os.environ.get("CI"):
            pytest.fail(f"{name} missing: scripts/test.sh installs the `lint` extra")
        pytest.skip(f"{name} not installed (pip install '.[lint]')")
    return exe


def actionlint():
    return lint_tool("actionlint")


def lint_workflow(tmp_path, source):
    """actionlint on a copy of `source` (it only lints files under .github/workflows/)."""
    wf = tmp_path / ".github" / "workflows"
    wf.mkdir(parents=True)
    shutil.copy(source, wf / source.name)
    return subprocess.run([actionlint(), "-no-color", str(wf / source.name)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=60)


def test_wheels_workflow_passes_actionlint(tmp_path):
    p = lint_workflow(tmp_path, REPO / "wheels.yml")
    assert p.returncode == 0, p.stdout + p.stderr


def test_users_ci_example_passes_actionlint(tmp_path):
    p = lint_workflow(tmp_path, REPO / "docs" / "examples" / "perf-on-pull-request.yml")
    assert p.returncode == 0, p.stdout + p.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path):
    wf = tmp_path / ".github" / "workflows"
    wf.mkdir(parents=True)
    (wf / "bad.yml").write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n"
                                "      - run: echo ${{ matrix.nope }}\n")
    p = subprocess.run([actionlint(), "-no-color", str(wf / "bad.yml")], capture_output=True, text=True,
                       cwd=tmp_path, timeout=60)
    assert p.returncode != 0


@pytest.mark.slow
def test_cibuildwheel_builds_cpython_3_10_to_3_13():
    """The [tool.cibuildwheel] settings select exactly the wheels wheels.yml promises."""
    exe = lint_tool("cibuildwheel")
    ids = {}
    for platform, arch in (("linux", "x86_64"), ("linux", "aarch64"), ("macos", "x86_64"), ("macos", "arm64")):
        p = subprocess.run([exe, "--print-build-identifiers", "--platform", platform, "--archs", arch, str(REPO)],
                           capture_output=True, text=True, timeout=120, cwd=REPO)
        assert p.returncode == 0, p.stderr
        ids[(platform, arch)] = p.stdout.split()
    assert ids[("linux", "x86_64")] == [f"cp3{v}-manylinux_x86_64" for v in (10, 11, 12, 13)]
    assert ids[("linux", "aarch64")] == [f"cp3{v}-manylinux_aarch64" for v in (10, 11, 12, 13)]
    assert ids[("macos", "x86_64")] == [f"cp3{v}-macosx_x86_64" for v in (10, 11, 12, 13)]
    assert ids[("macos", "arm64")] == [f"cp3{v}-macosx_arm64" for v in (10, 11, 12, 13)]
