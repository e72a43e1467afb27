"""The JSON result: the contract users and later commands rely on (docs/result.schema.json)."""
from __future__ import annotations

import json

from lunge.analysis import stats as analysis


def document(result, thresholds: dict | None = None, comparison: dict | None = None,
             analysis_block: dict | None = None) -> dict:
    raw = result.raw_parts()
    doc = {k: raw[k] for k in ("format", "testName", "startTime", "endTime", "durationMs", "interrupted",
                               "configuration", "lunge")}
    doc["metrics"] = analysis.metrics(result)
    doc["analysis"] = analysis_block if analysis_block is not None else analysis.analyze(result)
    if thresholds is not None:
        doc["thresholds"] = thresholds
    if comparison is not None:
        doc["comparison"] = comparison
    doc["timeSeries"] = analysis.time_series(result)
    for k in ("histogram", "phaseHistograms", "counters", "warnings", "stopReason", "resources", "workers", "shards"):
        if k in raw:
            doc[k] = raw[k]
    return doc


def render(result, **kw) -> str:
    return json.dumps(document(result, **kw), indent=1) + "\n"
