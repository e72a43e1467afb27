"""Which CPythons and platforms pycurl publishes wheels for, against where lunge builds its own.

lunge's wheel needs pycurl's (libcurl comes with it), so lunge ships a wheel wherever pycurl
does, on the platforms lunge supports: pyproject.toml's [tool.lunge.wheels] is that list, and
tests/data/pycurl-wheels.txt the record of pycurl's wheels it was made from (the tests read the
record, never the network).

    python scripts/pycurl_wheels.py            # read PyPI, compare with the list: exit 1 on a difference
    python scripts/pycurl_wheels.py --record   # and rewrite tests/data/pycurl-wheels.txt
"""
from __future__ import annotations

import argparse
import datetime
import json
import re
import sys
import urllib.request
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

REPO = Path(__file__).resolve().parent.parent
RECORD = REPO / "tests" / "data" / "pycurl-wheels.txt"

# pycurl's platform tags in cibuildwheel's platform-arch names (as in [tool.lunge.wheels]).
_PLATFORMS = [
    (re.compile(r"^manylinux.*_x86_64$"), ["linux-x86_64"]),
    (re.compile(r"^manylinux.*_aarch64$"), ["linux-aarch64"]),
    (re.compile(r"^musllinux.*_(\w+)$"), None),  # named from the match: musllinux-ARCH
    (re.compile(r"^macosx_.*_x86_64$"), ["macos-x86_64"]),
    (re.compile(r"^macosx_.*_arm64$"), ["macos-arm64"]),
    (re.compile(r"^macosx_.*_universal2$"), ["macos-x86_64", "macos-arm64"]),
    (re.compile(r"^win_amd64$"), ["windows-AMD64"]),
    (re.compile(r"^win_arm64$"), ["windows-ARM64"]),
    (re.compile(r"^win32$"), ["windows-x86"]),
]


def platforms_of(tag: str) -> list[str]:
    for pattern, names in _PLATFORMS:
        m = pattern.match(tag)
        if m:
            return names if names is not None else [f"musllinux-{m.group(1)}"]
    return [f"other-{tag}"]


def coverage(filenames: list[str]) -> dict[str, set[str]]:
    """{python ("3.14", or "3.14t" for a free-threaded build): platforms} of CPython wheels."""
    out: dict[str, set[str]] = {}
    for name in filenames:
        if not name.endswith(".whl"):
            continue
        # name-version-pythontag-abitag-platformtag.whl (compressed tags are dot-separated)
        _, _, py_tags, abi_tags, plat_tags = name[:-4].rsplit("-", 4)
        for abi in abi_tags.split("."):
            m = re.fullmatch(r"cp3(\d+)(t?)", abi)
            if not m or not any(t.startswith("cp3") for t in py_tags.split(".")):
                continue  # abi3 or pure wheels say nothing about one CPython
            python = f"3.{m.group(1)}{m.group(2)}"
            for tag in plat_tags.split("."):
                out.setdefault(python, set()).update(platforms_of(tag))
    return out


def wanted() -> dict:
    """pyproject.toml's [tool.lunge.wheels]."""
    with open(REPO / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["tool"]["lunge"]["wheels"]


def differences(pycurl: dict[str, set[str]], lunge: dict) -> list[str]:
    """What the list misses or promises beyond pycurl, on lunge's platforms."""
    ours = set(lunge["platforms"])
    listed = set(lunge["pythons"]) | {f"{v}t" for v in lunge["free-threaded"]}
    problems = []
    for python in sorted(set(pycurl) | listed, key=lambda v: (int(v.split(".")[1].rstrip("t")), v)):
        have = pycurl.get(python, set()) & ours
        if python in listed and have != ours:
            problems.append(f"CPython {python}: listed, but pycurl has no wheel for {', '.join(sorted(ours - have))}")
        if python not in listed and have:
            problems.append(f"CPython {python}: pycurl has wheels ({', '.join(sorted(have))}), the list lacks it")
    return problems


def read_record(path: Path = RECORD) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--record", action="store_true", help=f"rewrite {RECORD.relative_to(REPO)}")
    args = ap.parse_args(argv)
    with urllib.request.urlopen("https://pypi.org/pypi/pycurl/json", timeout=30) as r:
        data = json.load(r)
    version = data["info"]["version"]
    files = sorted(f["filename"] for f in data["urls"] if f["filename"].endswith(".whl"))
    cov = coverage(files)
    print(f"pycurl {version}: {len(files)} wheels")
    for python in sorted(cov, key=lambda v: (int(v.split(".")[1].rstrip("t")), v)):
        print(f"  CPython {python:6} {' '.join(sorted(cov[python]))}")
    if args.record:
        RECORD.write_text(f"# pycurl {version} wheels on PyPI, read {datetime.date.today()} "
                          f"(python scripts/pycurl_wheels.py --record)\n" + "\n".join(files) + "\n")
        print(f"recorded in {RECORD.relative_to(REPO)}")
    problems = differences(cov, wanted())
    for p in problems:
        print(p, file=sys.stderr)
    if not problems:
        print("pyproject.toml's [tool.lunge.wheels] matches pycurl's wheels")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
