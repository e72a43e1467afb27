"""The JSON result: the contract users and later commands rely on (docs/result.schema.json)."""
from __future__ import annotations

import json

from lunge import analysis


def document(result) -> dict:
    raw = result.raw_parts()
    doc = {k: raw[k] for k in ("format", "testName", "startTime", "endTime", "durationMs", "interrupted",
                               "configuration", "lunge")}
    doc["metrics"] = analysis.metrics(result)
    doc["timeSeries"] = analysis.time_series(result)
    for k in ("histogram", "phaseHistograms", "counters", "warnings", "workers", "shards"):
        if k in raw:
            doc[k] = raw[k]
    return doc


def render(result) -> str:
    return json.dumps(document(result), indent=1) + "\n"
