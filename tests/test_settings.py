"""Settings: flags over config over defaults, and every default of a load test in one place
(lunge/settings.py): change one there and every path that runs a load test sees it."""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import lunge
from lunge.settings import DEFAULTS, Settings


def test_flags_over_config_over_defaults():
    s = Settings.layered({"concurrency": 3, "timeout": None}, {"concurrency": 8, "timeout": 2.0, "grace": 1.0})
    assert (s.concurrency, s.timeout, s.grace) == (3, 2.0, 1.0)
    assert s.iterations is None and s.max_redirects == DEFAULTS.max_redirects


def test_a_flag_rate_replaces_the_config_rate_and_pattern():
    s = Settings.layered({"rps": 50.0}, {"rps": 10.0, "pattern": "a pattern", "pattern_field": "performance.t"})
    assert (s.rps, s.pattern, s.pattern_field) == (50.0, None, "--pattern")
    s = Settings.layered({}, {"rps": 10.0, "pattern": "a pattern", "pattern_field": "performance.t"})
    assert (s.rps, s.pattern, s.pattern_field) == (10.0, "a pattern", "performance.t")


def test_output_flag_replaces_the_config_formats_and_paths():
    config = {"formats": ("json", "html"), "output": {"json": "r.json"}}
    s = Settings.layered({"output": {"*": "x.txt"}}, config)
    assert (s.formats, dict(s.output)) == (("text",), {"*": "x.txt"})
    s = Settings.layered({}, config)
    assert (s.formats, dict(s.output)) == (("json", "html"), {"json": "r.json"})


def test_unknown_setting_is_a_programming_error():
    with pytest.raises(TypeError, match="not settings: concurency"):
        Settings.layered({"concurency": 3})


@pytest.fixture
def patched_lunge(tmp_path):
    """A copy of the installed lunge whose settings.py sets other defaults."""
    pkg = Path(lunge.__file__).resolve().parent
    copy = tmp_path / "site" / "lunge"
    shutil.copytree(pkg, copy, ignore=shutil.ignore_patterns("__pycache__", "*.c", "*.pyx"))
    src = (copy / "settings.py").read_text()
    for old, new in (("concurrency: int = 10 ", "concurrency: int = 7 "), ("timeout: float | None = 30.0 ", "timeout: float | None = 12.0 "),
                     ("grace: float = 5.0 ", "grace: float = 2.5 "), ("max_redirects: int = 10\n", "max_redirects: int = 4\n"),
                     ("progress_interval: float = 5.0 ", "progress_interval: float = 9.0 "),
                     ("low_speed_time: float = 30.0 ", "low_speed_time: float = 11.0 ")):
        assert old in src, old
        src = src.replace(old, new)
    (copy / "settings.py").write_text(src)
    env = {**os.environ, "PYTHONPATH": str(copy.parent)}
    return env


def _lunge(env, *args, cwd=None):
    return subprocess.run([sys.executable, "-m", "lunge", *map(str, args)], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_one_default_changed_is_seen_everywhere(patched_lunge, fresh_target, tmp_path):
    env = patched_lunge
    # the copy is the lunge that runs
    probe = subprocess.run([sys.executable, "-c", "import lunge; print(lunge.__file__)"], env=env,
                           capture_output=True, text=True, check=True)
    assert str(tmp_path) in probe.stdout
    # --url runs
    r = _lunge(env, "perf", "--url", f"{fresh_target.url}/", "-n", 14, "--format", "json", "-o", tmp_path / "u.json")
    assert r.returncode == 0, r.stderr
    cfg = json.loads((tmp_path / "u.json").read_text())["configuration"]
    assert (cfg["concurrency"], cfg["timeoutMs"], cfg["graceMs"]) == (7, 12000, 2500)
    # a config's performance test that sets none of them
    doc = {"environments": {"local": {"baseUrl": fresh_target.url}}, "requests": {"r": {"url": "/"}},
           "performance": {"t": {"request": "r", "load": {"iterations": 14}}}}
    (tmp_path / "c.json").write_text(json.dumps(doc))
    r = _lunge(env, "perf", "-c", tmp_path / "c.json", "-p", "t", "--format", "json", "-o", tmp_path / "c-out.json")
    assert r.returncode == 0, r.stderr
    cfg = json.loads((tmp_path / "c-out.json").read_text())["configuration"]
    assert (cfg["concurrency"], cfg["timeoutMs"], cfg["graceMs"]) == (7, 12000, 2500)
    # the help says so
    r = _lunge(env, "perf", "--help")
    help_text = re.sub(r"\s+", " ", r.stdout)
    assert "requests in flight. [default: 7]" in help_text
    assert "[default: 12s]" in help_text and "[default: 2.5s]" in help_text and "[default: 9s]" in help_text
    assert "[default: 4]" in help_text  # --max-redirects
    assert "speed-limit. [default: 11s]" in help_text
    # the plan's and the live view's own defaults
    code = ("from lunge.plan import Load, Transport; from lunge.live.view import Options; "
            "print(Load().concurrency, Load().grace, Transport().timeout, Transport().max_redirects, Options().interval, "
            "Transport().low_speed_time)")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["7", "2.5", "12.0", "4", "9.0", "11.0"]
    assert fresh_target.stats()["requests"] == 28
