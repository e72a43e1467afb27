"""wheels.yml cannot run here: lint it with actionlint (the `lint` extra ships the binary), and hold
its matrix and cibuildwheel's build selection to pyproject.toml's [tool.lunge.wheels], the one list
of where lunge ships wheels, which must cover every CPython pycurl has wheels for (the record in
tests/data/pycurl-wheels.txt; scripts/pycurl_wheels.py reads PyPI again)."""
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO

# These check the repository's tooling, not the installed package: the wheel builders leave them out.
pytestmark = pytest.mark.tooling


def _load_pycurl_wheels():
    spec = importlib.util.spec_from_file_location("pycurl_wheels", REPO / "scripts" / "pycurl_wheels.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


pw = _load_pycurl_wheels()


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


def test_the_list_covers_every_cpython_pycurl_has_wheels_for():
    cov = pw.coverage(pw.read_record())
    assert {"3.10", "3.15", "3.14t"} <= set(cov)  # the record was read: 3.10-3.15 and free-threaded
    assert pw.differences(cov, pw.wanted()) == []


def test_the_coverage_check_finds_what_the_list_lacks_or_overpromises():
    cov = pw.coverage(pw.read_record())
    lacking = {**pw.wanted(), "pythons": ["3.10", "3.11", "3.12", "3.13", "3.14"]}
    assert pw.differences(cov, lacking) == ["CPython 3.15: pycurl has wheels (linux-aarch64, linux-x86_64, "
                                            "macos-arm64, macos-x86_64, windows-AMD64), the list lacks it"]
    beyond = {**pw.wanted(), "free-threaded": ["3.13", "3.14", "3.15"]}
    assert pw.differences(cov, beyond) == ["CPython 3.13t: listed, but pycurl has no wheel for linux-aarch64, "
                                           "linux-x86_64, macos-arm64, macos-x86_64, windows-AMD64"]
    no_windows = [f for f in pw.read_record() if "cp312-win_amd64" not in f]
    assert pw.differences(pw.coverage(no_windows), pw.wanted()) == [
        "CPython 3.12: listed, but pycurl has no wheel for windows-AMD64"]


def test_wheel_names_map_to_platforms():
    cov = pw.coverage(["x-1-cp314-cp314t-manylinux_2_28_x86_64.whl", "x-1-cp312-cp312-macosx_10_9_universal2.whl",
                       "x-1-cp311-cp311-musllinux_1_2_aarch64.whl", "x-1-cp38-abi3-win_amd64.whl",
                       "x-1-cp313-cp313-manylinux_2_17_aarch64.manylinux2014_aarch64.whl"])
    assert cov == {"3.14t": {"linux-x86_64"}, "3.12": {"macos-x86_64", "macos-arm64"},
                   "3.11": {"musllinux-aarch64"}, "3.13": {"linux-aarch64"}}


def test_classifiers_name_every_python_and_os():
    text = (REPO / "pyproject.toml").read_text()
    for v in pw.wanted()["pythons"]:
        assert f'"Programming Language :: Python :: {v}"' in text
    for os_name in ("POSIX :: Linux", "MacOS", "Microsoft :: Windows"):
        assert f'"Operating System :: {os_name}"' in text


def _matrix():
    wf = yaml.safe_load((REPO / "wheels.yml").read_text())
    return wf["jobs"]["wheels"]["strategy"]["matrix"]["include"]


def test_the_matrix_has_a_runner_for_each_platform_on_three_oses():
    runs = _matrix()
    assert sorted(r["platform"] for r in runs) == sorted(pw.wanted()["platforms"])
    runner_os = {"linux": "ubuntu-", "macos": "macos-", "windows": "windows-"}
    for r in runs:
        system, arch = r["platform"].split("-")
        assert r["os"].startswith(runner_os[system]), r
        # GitHub's runner names say the architecture where it is not the default one
        assert r["os"].endswith("-arm") == (arch == "aarch64"), r
        assert r["os"].endswith("-intel") == (arch == "x86_64" and system == "macos"), r
    assert {r["os"].split("-")[0] for r in runs} == {"ubuntu", "macos", "windows"}


def test_the_action_is_the_cibuildwheel_the_tests_ask():
    """The identifiers below come from the installed cibuildwheel: the workflow must run that one."""
    action = re.search(r"pypa/cibuildwheel@v(\d+\.\d+)\.\d+", (REPO / "wheels.yml").read_text())
    pinned = re.search(r'"cibuildwheel>=(\d+\.\d+)\.\d+,<\d+"', (REPO / "pyproject.toml").read_text())
    assert action and pinned and action.group(1) == pinned.group(1)


@pytest.mark.slow
def test_cibuildwheel_builds_exactly_the_listed_wheels():
    """The [tool.cibuildwheel] settings select one wheel per listed CPython on each listed platform."""
    exe = lint_tool("cibuildwheel")
    want = pw.wanted()
    tags = [f"cp3{v.split('.')[1]}" for v in want["pythons"]] + [f"cp3{v.split('.')[1]}t" for v in want["free-threaded"]]
    suffix = {"linux-x86_64": "manylinux_x86_64", "linux-aarch64": "manylinux_aarch64",
              "macos-x86_64": "macosx_x86_64", "macos-arm64": "macosx_arm64", "windows-AMD64": "win_amd64"}
    for platform in want["platforms"]:
        system, arch = platform.split("-")
        p = subprocess.run([exe, "--print-build-identifiers", "--platform", system, "--archs", arch, str(REPO)],
                           capture_output=True, text=True, timeout=120, cwd=REPO)
        assert p.returncode == 0, p.stderr
        assert sorted(p.stdout.split()) == sorted(f"{t}-{suffix[platform]}" for t in tags), platform


def test_users_ci_example_runs_on_the_three_oses():
    wf = yaml.safe_load((REPO / "docs" / "examples" / "perf-on-pull-request.yml").read_text())
    job = wf["jobs"]["perf"]
    assert job["runs-on"] == "${{ matrix.os }}"
    assert {os_name.split("-")[0] for os_name in job["strategy"]["matrix"]["os"]} == {"ubuntu", "macos", "windows"}
    assert job["defaults"]["run"]["shell"] == "bash"  # one set of steps for Windows too
    text = (REPO / "docs" / "examples" / "perf-on-pull-request.yml").read_text()
    assert "lunge-baseline-${{ runner.os }}-" in text  # a baseline per runner kind
