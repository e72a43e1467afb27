"""The checkout's own text files: no merge-conflict markers left behind (one reached CHANGELOG.md)."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
MARKER = re.compile(rb"^(<{7} |>{7} |={7}$)", re.M)


def tracked() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [REPO / p for p in out.decode().split("\0") if p]


def test_no_merge_conflict_markers():
    text = (".py", ".pyx", ".pxd", ".pyi", ".h", ".md", ".yaml", ".yml", ".json", ".j2", ".toml", ".sh", ".cfg")
    bad = [str(p.relative_to(REPO)) for p in tracked() if p.suffix in text and p.is_file()
           and MARKER.search(p.read_bytes())]
    assert bad == []
