#!/usr/bin/env python3
"""Take the screenshots in docs/: the live view as a terminal shows it, and the HTML report,
as a user sees them.  Runs lunge against its embedded target (127.0.0.1 only, a few seconds
each) and renders with headless Chromium.

    .venv/bin/python scripts/screenshots.py            # needs the test extras (pexpect) and chromium

Writes docs/live-view.png (the --real-time panel of a URL run, mid-run), docs/live-view-flows.png
(a flow run's panel with its scenario lines), docs/report-screenshot.png and
docs/report-flows.png (the HTML reports of those runs, desktop width).
"""
from __future__ import annotations

import html
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pexpect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from screen import Screen  # noqa: E402  (the tests' terminal emulator: what stays on the screen)

from lunge import target as target_mod  # noqa: E402

COLUMNS, ROWS = 100, 34
FLOW = """name: shop
settings: {baseUrl: "${BASE_URL}"}
scenarios:
  shoppers:
    executor: ramping-vus
    stages: [{duration: 3s, target: 30, name: ramp-up}, {duration: 4s, target: 30, name: steady},
             {duration: 2s, target: 0, name: ramp-down}]
    requests:
      - {name: login, method: POST, url: "{{baseUrl}}/login", extract: [{name: token, source: body, path: "$.token"}],
         assertions: [{type: status, condition: eq, value: 200}]}
      - {name: add item, method: POST, url: "{{baseUrl}}/items", body: {name: basket},
         headers: {Authorization: "Bearer {{token}}"}, extract: [{name: item, source: header, path: Location}],
         thinkTime: 50ms}
      - {name: item, url: "{{baseUrl}}{{item}}", assertions: [{type: status, condition: eq, value: 200}],
         thinkTime: 100ms}
  checkout:
    executor: constant-arrival-rate
    rate: 40
    duration: 8s
    preAllocatedVUs: 5
    maxVUs: 20
    requests:
      - {name: checkout login, method: POST, url: "{{baseUrl}}/login",
         extract: [{name: token, source: body, path: "$.token"}]}
      - {name: order, method: POST, url: "{{baseUrl}}/orders", headers: {Authorization: "Bearer {{token}}"},
         assertions: [{type: status, condition: eq, value: 201}]}
thresholds:
  http_req_duration: ["p95 < 300ms"]
  custom:
    checkout_failed: ["rate < 0.01"]
"""


def live(args: list[str], at: float, env: dict) -> list[str]:
    """lunge perf ARGS --real-time in a COLUMNS x ROWS pseudo-terminal, report to /dev/null:
    the screen `at` seconds in."""
    cmd = " ".join([sys.executable, "-m", "lunge", "perf", *args, "--real-time"]) + " > /dev/null"
    child = pexpect.spawn("/bin/sh", ["-c", cmd], env=env, encoding="utf-8", timeout=60, dimensions=(ROWS, COLUMNS))
    screen, start, snap = Screen(COLUMNS), time.monotonic(), None
    while True:
        try:
            screen.feed(child.read_nonblocking(65536, timeout=0.2).replace("\r\n", "\n"))
        except pexpect.TIMEOUT:
            pass
        except pexpect.EOF:
            break
        if snap is None and time.monotonic() - start >= at:
            snap = [ln for ln in screen.lines()]
    child.close()
    return snap or screen.lines()


def shoot(page: Path, png: Path, width: int, height: int) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("needs chromium (apt-get install chromium)")
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--window-size={width},{height}", f"--screenshot={png}", page.as_uri()],
                   check=True, capture_output=True, timeout=120)
    print(f"wrote {png.relative_to(ROOT)}")


def terminal_page(lines: list[str], title: str, out: Path) -> tuple[Path, int]:
    body = html.escape("\n".join(lines).rstrip("\n"))
    out.write_text(f"""<!doctype html><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{margin:0;background:#1e1e2e}} pre{{margin:0;padding:14px 16px;color:#e6e6e6;
font:14px/1.35 "DejaVu Sans Mono",monospace;white-space:pre}}</style><pre>{body}</pre>""")
    return out, int(28 + 19 * max(len(lines), 1))


def main() -> None:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy") and k not in ("COLUMNS", "LINES")}
    docs = ROOT / "docs"
    server = target_mod.Spawned()
    try:
        work = Path(tempfile.mkdtemp(prefix="lunge-shots-"))
        env["BASE_URL"] = server.url
        flow = work / "shop.yaml"
        flow.write_text(FLOW)
        url_run = [f"{server.url}/mix/200:18,503:1,404:1", "--concurrency", "20", "--duration", "8s"]
        shots = [("live-view.png", url_run, "lunge perf --real-time"),
                 ("live-view-flows.png", ["-c", str(flow)], "lunge perf -c shop.yaml --real-time")]
        for name, args, title in shots:
            lines = live(args, at=5.0, env=env)
            page, height = terminal_page(lines, title, work / f"{name}.html")
            shoot(page, docs / name, COLUMNS * 9 + 40, height)
        for name, args in (("report-screenshot.png", url_run), ("report-flows.png", ["-c", str(flow)])):
            report = work / f"{name}.html"
            subprocess.run([sys.executable, "-m", "lunge", "perf", *args, "-q", "--format", "html", "-o", str(report)],
                           env=env, capture_output=True, timeout=120)
            shoot(report, docs / name, 1280, 2400)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
