"""HTML report templates (issue 18) run in jinja2's sandbox: --template and a config's
reporting.template can read the report's values but reach no Python internals."""
from __future__ import annotations

import json
import os

import pytest

from conftest import assert_one_line_error, run_lunge

EVIL = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.system('touch {marker}') }}",
    "{{ result.__class__.__init__.__globals__ }}",
]


@pytest.mark.parametrize("template", EVIL)
def test_html_template_is_sandboxed(target, tmp_path, template):
    marker = tmp_path / "pwned"
    t = tmp_path / "evil.html"
    t.write_text(template.replace("{marker}", str(marker)))
    proc = run_lunge("perf", "--url", f"{target.url}/", "-n", "2", "--concurrency", "1", "--format", "html",
                     "--output", str(tmp_path / "r.html"), "--template", str(t), cwd=tmp_path)
    assert_one_line_error(proc, "--template", "unsafe", "the result is kept in")
    assert not marker.exists()


def test_config_reporting_template_is_sandboxed(target, tmp_path):
    marker = tmp_path / "pwned"
    (tmp_path / "evil.html").write_text(EVIL[1].replace("{marker}", str(marker)))
    cfg = {"requests": {"r": {"url": f"{target.url}/"}},
           "performance": {"p": {"request": "r", "load": {"iterations": 2, "concurrency": 1},
                                 "reporting": {"formats": ["html"], "output": str(tmp_path / "r.html"),
                                               "template": "evil.html"}}}}
    p = tmp_path / "c.json"
    p.write_text(json.dumps(cfg))
    assert_one_line_error(run_lunge("perf", "-c", str(p), "-p", "p", cwd=tmp_path), "--template", "unsafe")
    assert not marker.exists()


def test_default_and_block_override_templates_still_render(target, tmp_path):
    out = tmp_path / "r.html"
    proc = run_lunge("perf", "--url", f"{target.url}/", "-n", "2", "--concurrency", "1", "--format", "html",
                     "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "<svg" in out.read_text()
    d = tmp_path / "tpl"
    d.mkdir()
    (d / "report.html.j2").write_text('{% extends "base/report.html.j2" %}{% block title %}mine '
                                      '{{ result.name }} {{ m.totalRequests }}{% endblock %}')
    proc = run_lunge("perf", "--url", f"{target.url}/", "-n", "2", "--concurrency", "1", "--format", "html",
                     "--output", str(out), "--template", str(d))
    assert proc.returncode == 0, proc.stderr
    assert os.path.getsize(out) > 1000
