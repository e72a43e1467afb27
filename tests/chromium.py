"""Load an HTML file in Debian's headless Chromium and report what rendered.

A copy of the page gets two probes: at the top of <head>, a recorder of errors (script
errors, failed resource loads, console.error calls); at the end of <body>, a measurement
of every <svg class="chart">: its laid-out size and how many marks (lines, bars) have a
non-empty box.  The findings go into an attribute that --dump-dom prints."""
from __future__ import annotations

import html as _html
import json
import re
import shutil
import subprocess
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
         "--hide-scrollbars", "--allow-file-access-from-files"]

_HEAD = """<script>window.__errors=[];
window.addEventListener('error',function(e){window.__errors.push(e.message||('failed to load '+((e.target&&(e.target.src||e.target.href))||'?')));},true);
(function(){var ce=console.error;console.error=function(){window.__errors.push('console.error: '+Array.prototype.join.call(arguments,' '));ce.apply(console,arguments);};})();
</script>"""
_TAIL = """<script>(function(){var charts=[];
document.querySelectorAll('svg.chart').forEach(function(s){var r=s.getBoundingClientRect();var marks=0;
s.querySelectorAll('rect.bar').forEach(function(m){var b=m.getBBox();if(b.width>0&&b.height>0)marks++;});s.querySelectorAll('polyline.series').forEach(function(m){var b=m.getBBox();if(b.width>0||b.height>0)marks++;});
charts.push({name:s.getAttribute('data-chart'),width:r.width,height:r.height,marks:marks,empty:s.classList.contains('empty')});});
var res=performance.getEntriesByType('resource').map(function(e){return e.name;});
var de=document.documentElement;
var found=JSON.stringify({charts:charts,errors:window.__errors,resources:res,
  viewport:window.innerWidth,scrollWidth:Math.max(de.scrollWidth,document.body.scrollWidth)});
de.setAttribute('data-probe',found);if(window.parent!==window)window.parent.postMessage(found,'*');})();</script>"""
# Chromium's window is at least 500 px wide: a narrower (phone) width is an iframe of that width in
# a host page, which receives the framed page's findings.
_HOST = """<!DOCTYPE html><html><body style="margin:0"><div style="height:{height}px;overflow:hidden">
<iframe src="{src}" style="border:0;display:block;width:{width}px;height:{inner}px;margin-top:-{offset}px"></iframe></div>
<script>window.addEventListener('message',function(e){{document.documentElement.setAttribute('data-probe',e.data);}});</script>
</body></html>"""


def host(page: Path, workdir: Path, width: int, height: int = 900, offset: int = 0) -> Path:
    """A page framing `page` at `width` CSS pixels, showing `height` pixels of it from `offset` down."""
    path = workdir / f"host-{width}-{offset}-{page.name}"
    path.write_text(_HOST.format(src=page.as_uri(), width=width, height=height, inner=height + offset, offset=offset),
                    encoding="utf-8")
    return path


def probe(html_path: Path, workdir: Path, width: int | None = None) -> dict:
    """What rendered; `width`: the window's width in CSS pixels (390: a phone), which
    `viewport` reports back beside the page's `scrollWidth` (wider: the page scrolls sideways)."""
    text = html_path.read_text(encoding="utf-8")
    text = re.sub(r"<head>", "<head>" + _HEAD, text, count=1)
    text = text.replace("</body>", _TAIL + "</body>", 1)
    copy = workdir / ("probe-" + html_path.name)
    copy.write_text(text, encoding="utf-8")
    shown, wait = copy, []
    if width is not None and width < 500:
        shown, wait = host(copy, workdir, width), ["--virtual-time-budget=5000"]  # the message arrives after load
    size = [f"--window-size={max(width, 500)},900"] if width else []
    proc = subprocess.run([CHROMIUM, *FLAGS, *size, *wait, f"--user-data-dir={workdir / 'chromium-profile'}",
                           "--dump-dom", shown.as_uri()], capture_output=True, text=True, timeout=120)
    m = re.search(r'data-probe="([^"]*)"', proc.stdout)
    assert m, f"chromium printed no probe (exit {proc.returncode}): {proc.stderr[-2000:]}"
    return json.loads(_html.unescape(m.group(1)))


def screenshot(html_path: Path, png: Path, workdir: Path, width=1100, height=3200, offset=0) -> None:
    """A PNG of `height` pixels of the page from `offset` down, laid out `width` CSS pixels wide
    (under 500, or with an offset: framed by host())."""
    shown = html_path if width >= 500 and not offset else host(html_path, workdir, width, height, offset)
    subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={workdir / 'chromium-profile'}",
                    f"--window-size={width},{height}", f"--screenshot={png}", shown.as_uri()],
                   capture_output=True, timeout=120, check=True)
