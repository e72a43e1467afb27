"""JUnit XML for a suite run, in the shape CI systems read: one <testcase> per test, a
<failure> with a message per failed test, an <error> when the request could not be sent."""
from __future__ import annotations

import xml.etree.ElementTree as ET

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
