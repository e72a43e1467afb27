"""JUnit XML for a suite run, in the shape CI systems read: one <testcase> per test, a
<failure> with a message per failed test, an <error> when the request could not be sent.
`get`/`run --format junit` make a test case of each response (responses_to_junit)."""
from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from lunge.client.assertions import Outcome
from lunge.client.http import Response
from lunge.client.suite import SuiteResult


def to_junit(result: SuiteResult) -> str:
    failures = sum(1 for t in result.tests if not t.passed and not (t.error and t.status is None))
    errors = sum(1 for t in result.tests if t.error and t.status is None)
    seconds = f"{result.duration_ms / 1000:.3f}"
    counts = {"tests": str(len(result.tests)), "failures": str(failures), "errors": str(errors),
              "skipped": "0", "time": seconds}
    root = ET.Element("testsuites", {"name": "lunge", **counts})
    suite = ET.SubElement(root, "testsuite", {"name": result.suite, **counts, "timestamp": result.started})
    if result.environment:
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", {"name": "environment", "value": result.environment})
    for t in result.tests:
        case = ET.SubElement(suite, "testcase", {
            "name": t.name, "classname": f"lunge.{result.suite}",
            "time": f"{(t.elapsed_ms or 0) / 1000:.3f}"})
        if t.passed:
            continue
        lines = t.failures()
        kind = "error" if t.error and t.status is None else "failure"
        el = ET.SubElement(case, kind, {"message": lines[0], "type": "RequestError" if kind == "error" else "AssertionError"})
        el.text = "\n".join(lines)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


@dataclass
class JUnitCase:
    """A response as a test case (`get`/`run --format junit`): an <error> if it was not sent, a
    <failure> if its validate block failed or its status is 400 or more (as Go Lunge marks it)."""
    name: str
    response: Response | None
    errors: list[str] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)

    def failures(self) -> list[str]:
        out = [f"{o.description}: {o.message}" for o in self.outcomes if not o.passed]
        if self.response is not None and self.response.status >= 400:
            out.insert(0, f"HTTP {self.response.status} {self.response.reason}".rstrip())
        return out


def responses_to_junit(suite_name: str, classname: str, cases: list[JUnitCase]) -> str:
    failures = sum(1 for c in cases if c.response is not None and c.failures())
    errors = sum(1 for c in cases if c.response is None)
    total = sum(c.response.timing.total for c in cases if c.response is not None)
    counts = {"tests": str(len(cases)), "failures": str(failures), "errors": str(errors),
              "skipped": "0", "time": f"{total / 1000:.3f}"}
    root = ET.Element("testsuites", {"name": "lunge", **counts})
    suite = ET.SubElement(root, "testsuite", {"name": suite_name, **counts, "timestamp": datetime.datetime.now(
        datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")})
    for c in cases:
        case = ET.SubElement(suite, "testcase", {
            "name": c.name, "classname": classname,
            "time": f"{(c.response.timing.total if c.response is not None else 0) / 1000:.3f}"})
        if c.response is None:
            el = ET.SubElement(case, "error", {"message": c.errors[0] if c.errors else "not sent",
                                               "type": "RequestError"})
            el.text = "\n".join(c.errors)
        elif c.failures():
            lines = c.failures()
            kind = "HttpStatusError" if lines[0].startswith("HTTP ") else "AssertionError"
            el = ET.SubElement(case, "failure", {"message": lines[0], "type": kind})
            el.text = "\n".join(lines)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
