"""The result document (docs/result.schema.json): every byte of it written and read here.

encode() lays out a result with its analysis (and thresholds, comparison) as the JSON users
and later commands rely on; decode() and load() read one back into a RunResult, exactly:
histograms travel as HdrHistogram V2 text with the exact count, min, max and sums beside
them, so a reloaded result (for `lunge compare`, `lunge merge`) is the same result, to the
nanosecond.
"""
from __future__ import annotations

import datetime as _dt
import json
from typing import TYPE_CHECKING

from lunge._native.contract import HTTP_VERSIONS
from lunge._native.hist import Histogram, HistogramFormatError
from lunge.errors import ConfigError
from lunge.results.model import STATUS_CLASSES, RunResult, Second, SparseHist

if TYPE_CHECKING:
    from lunge.analysis import Analysis

FORMAT = "lunge-result/1"
ENCODING = "HdrHistogram-V2-deflate-base64"
# Per-second rows: the figures of analysis.time_series_light, in this order (coveredMs: the
# row's `covered`, the time its rps is over).
SERIES_FIELDS = ("t", "span", "coveredMs", "requests", "failures", "errors", "rps", "bytes", "p50Ms", "p90Ms",
                 "p99Ms", "meanMs", "maxMs")


def encode(a: Analysis, thresholds: dict | None = None, comparison: dict | None = None) -> dict:
    """The result document of an analysed run."""
    r = a.result
    raw = _counted(r)
    doc = {k: raw[k] for k in ("format", "testName", "startTime", "endTime", "durationMs", "interrupted",
                               "configuration", "lunge")}
    doc["metrics"] = a.metrics
    doc["analysis"] = a.block
    if thresholds is not None:
        doc["thresholds"] = thresholds
    if comparison is not None:
        doc["comparison"] = comparison
    doc["timeSeries"] = time_series(a)
    if r.scenarios:  # flow runs only: a single-URL run's document is unchanged
        doc["scenarios"] = scenarios(a)
    for k in ("histogram", "phaseHistograms", "counters", "warnings", "stopReason", "resources", "workers", "shards"):
        if k in raw:
            doc[k] = raw[k]
    return doc


def dumps(doc: dict) -> str:
    return json.dumps(doc, indent=1) + "\n"


def time_series(a: Analysis) -> list:
    """One row per second: counts, rate and latency percentiles of the responses in it, and
    its histogram (what `lunge merge` adds up)."""
    rows = []
    for light, s in zip(a.series, a.result.series):
        row = {k: light["covered"] * 1000 if k == "coveredMs" else light[k] for k in SERIES_FIELDS}
        row["statusClasses"] = {k: v for k, v in zip(STATUS_CLASSES, s.status) if v}
        row["histogram"] = encode_hist(s.hist.histogram()) if s.hist is not None and s.hist.total else None
        rows.append(row)
    return rows


# A scenario's per-second rows: contract.ScenarioSecond's fields, exact (sumNs and maxNs give the
# second's mean and max response time).
SCENARIO_SERIES_FIELDS = (("t", "sec"), ("requests", "requests"), ("failures", "failures"),
                          ("iterations", "iterations"), ("dropped", "dropped"), ("vus", "vus"),
                          ("sumNs", "sum_ns"), ("maxNs", "max_ns"))


def scenarios(a: Analysis) -> dict:
    """{scenario name: its counters (exact, read back by decode), its analysis figures, its
    histograms and per-second rows, and `requests`: {request name: the same per request}}."""
    out = {}
    for s, m in zip(a.result.scenarios, a.scenarios):
        out[s.name] = {
            "executor": s.executor, "startedS": s.started_s, "endedS": s.ended_s, "durationS": m["durationS"],
            "iterations": s.iterations, "interrupted": s.interrupted, "dropped": s.dropped, "maxVUs": s.max_vus,
            "vusMade": s.vus_made, "totalRequests": s.requests, "failures": s.failures, "errors": s.errors,
            "failedRequests": m["failedRequests"], "checkFailures": m["checkFailures"], "errorRate": m["errorRate"],
            "rps": m["rps"], "iterationsPerSec": m["iterationsPerSec"],
            "responseTimes": m["responseTimes"], "iterationDurations": m["iterationDurations"],
            "lateness": m["lateness"], "wakeLateness": m["wakeLateness"],
            "histograms": {k: encode_hist(h) for k, h in s.histograms.items()},
            "timeSeries": [{k: getattr(row, attr) for k, attr in SCENARIO_SERIES_FIELDS} for row in s.seconds],
            "requests": {st.name: _step(st, m["requests"][st.name]) for st in s.steps},
        }
    return out


def _step(st, m: dict) -> dict:
    return {
        "totalRequests": st.requests, "failures": st.failures, "errors": st.errors,
        "checkFailures": st.check_failures, "failedRequests": m["failedRequests"], "errorRate": m["errorRate"],
        "rps": m["rps"], "bytes": st.bytes,
        "statusCodes": {str(k): v for k, v in sorted(st.status_codes.items())},
        "errorClasses": dict(st.error_classes), "errorSamples": dict(st.error_samples),
        "extractMisses": st.extract_misses,
        "responseTimes": m["responseTimes"],
        "histogram": encode_hist(st.histogram),
        "checks": [{"label": c.label, "passed": c.passed, "failed": c.failed, "firstFailure": c.first_failure}
                   for c in st.checks],
    }


def decode_scenarios(doc: dict) -> list:
    """The ScenarioResults of a result document's `scenarios` (none if it has none)."""
    from lunge._native.contract import ScenarioSecond
    from lunge.results.flows import SCENARIO_HISTOGRAMS, CheckResult, ScenarioResult, StepResult

    out = []
    for name, sc in doc.get("scenarios", {}).items():
        steps = []
        for sname, st in sc["requests"].items():
            steps.append(StepResult(
                name=str(sname), requests=_count(st["totalRequests"]), failures=_count(st["failures"]),
                errors=_count(st["errors"]), check_failures=_count(st["checkFailures"]), bytes=_count(st["bytes"]),
                status_codes={int(k): _count(v) for k, v in st["statusCodes"].items()},
                error_classes={str(k): _count(v) for k, v in st["errorClasses"].items()},
                error_samples={str(k): str(v) for k, v in st["errorSamples"].items()},
                histogram=decode_hist(st["histogram"]),
                checks=[CheckResult(str(c["label"]), _count(c["passed"]), _count(c["failed"]), str(c["firstFailure"]))
                        for c in st["checks"]],
                extract_misses=_count(st["extractMisses"])))
        out.append(ScenarioResult(
            name=str(name), executor=str(sc["executor"]), started_s=float(sc["startedS"]),
            ended_s=float(sc["endedS"]), iterations=_count(sc["iterations"]), interrupted=_count(sc["interrupted"]),
            dropped=_count(sc["dropped"]), max_vus=_count(sc["maxVUs"]), vus_made=_count(sc["vusMade"]),
            requests=_count(sc["totalRequests"]), failures=_count(sc["failures"]), errors=_count(sc["errors"]),
            histograms={**{k: Histogram() for k in SCENARIO_HISTOGRAMS},
                        **{str(k): decode_hist(v) for k, v in sc["histograms"].items()}}, steps=steps,
            seconds=[ScenarioSecond(**{attr: _count(row[k]) if attr != "sec" else int(row[k])
                                       for k, attr in SCENARIO_SERIES_FIELDS}) for row in sc["timeSeries"]]))
    return out


def _counted(r: RunResult) -> dict:
    """The parts of the document that decode() reads back, in the document's key order."""
    return {
        "format": FORMAT,
        "testName": r.name,
        "startTime": iso(r.start_time()),
        "endTime": iso(r.end_time()),
        "durationMs": r.elapsed_ns / 1e6,
        "interrupted": r.interrupted,
        "configuration": r.configuration,
        "lunge": r.versions,
        "counters": {
            "issued": r.issued, "completed": r.completed, "failures": r.failures,
            "transportErrors": r.errors, "bytes": r.bytes, "connectionsOpened": r.connections,
            "firstSendMs": r.first_send_ns / 1e6, "issueEndMs": r.issue_end_ns / 1e6,
            "completedAtIssueEnd": r.completed_at_issue_end,
            "statusCodes": {str(k): v for k, v in sorted(r.status_codes.items())},
            "httpVersions": http_versions(r),
            "errors": dict(r.error_classes), "errorSamples": dict(r.error_samples),
            "curlCodes": {str(k): v for k, v in sorted(r.curl_codes.items())},
            "openModel": r.open_model, "scheduled": r.scheduled, "lateSends": r.late_sends,
            "maxLagNs": r.max_lag_ns, "warmupIssued": r.warmup_issued,
            "warmupCompleted": r.warmup_completed, "warmupFailures": r.warmup_failures,
        },
        "histogram": encode_hist(r.response),
        "phaseHistograms": {k: encode_hist(h) for k, h in r.histograms.items() if k != "response"},
        "warnings": list(r.warnings),
        **r.parts,
        "stopReason": r.stop_reason,
        "resources": list(r.resources),
    }


def http_versions(r: RunResult) -> dict:
    """Responses by HTTP version, in HTTP_VERSIONS order ({} when the result does not know)."""
    return {k: r.http_versions[k] for k in HTTP_VERSIONS if r.http_versions.get(k)}


def decode(doc: dict, source: str = "result") -> RunResult:
    """A RunResult from a result document; ConfigError naming `source` if it is not one."""
    try:
        if doc.get("format") != FORMAT:
            raise ConfigError(f"{source}: not a lunge result (format {doc.get('format')!r}, expected {FORMAT!r})")
        c = doc["counters"]
        config = doc["configuration"]
        wanted = _FLOW_CONFIG_TYPES if config.get("model") == "flows" else _CONFIG_TYPES
        for key, types in wanted.items():  # what the reports read
            if key not in config and type(None) not in types:
                raise KeyError(f"configuration.{key}")
            if not isinstance(config.get(key), types):
                raise TypeError(f"configuration.{key} is {type(config[key]).__name__}")
        start = _dt.datetime.fromisoformat(doc["startTime"].replace("Z", "+00:00"))
        hists = {"response": decode_hist(doc["histogram"])}
        hists.update({k: decode_hist(v) for k, v in doc.get("phaseHistograms", {}).items()})
        series = []
        for row in doc.get("timeSeries", []):
            hist = decode_hist(row["histogram"]) if row.get("histogram") else Histogram()
            series.append(Second(
                t=int(row["t"]), requests=_count(row["requests"]), failures=_count(row["failures"]),
                errors=_count(row["errors"]), bytes=_count(row["bytes"]),
                status=[_count(row["statusClasses"].get(k, 0)) for k in STATUS_CLASSES],
                hist=SparseHist.of(hist), span=int(row.get("span", 1))))
        result = RunResult(
            name=str(doc["testName"]), configuration=config,
            start_wall_ns=int(start.timestamp() * 1e9), elapsed_ns=int(doc["durationMs"] * 1e6),
            first_send_ns=int(c["firstSendMs"] * 1e6), issue_end_ns=int(c["issueEndMs"] * 1e6),
            completed_at_issue_end=_count(c["completedAtIssueEnd"]), issued=_count(c["issued"]),
            completed=_count(c["completed"]), failures=_count(c["failures"]), errors=_count(c["transportErrors"]),
            bytes=_count(c["bytes"]), connections=_count(c["connectionsOpened"]),
            status_codes={int(k): _count(v) for k, v in c["statusCodes"].items()},
            http_versions={str(k): _count(v) for k, v in c.get("httpVersions", {}).items()},
            error_classes={str(k): _count(v) for k, v in c["errors"].items()},
            error_samples={str(k): str(v) for k, v in c.get("errorSamples", {}).items()},
            curl_codes={int(k): _count(v) for k, v in c.get("curlCodes", {}).items()},
            histograms=hists, series=series, versions=doc.get("lunge", {}),
            interrupted=bool(doc.get("interrupted")), warnings=[str(w) for w in doc.get("warnings", [])],
            open_model=bool(c.get("openModel", False)), scheduled=_count(c.get("scheduled", 0)),
            late_sends=_count(c.get("lateSends", 0)), max_lag_ns=_count(c.get("maxLagNs", 0)),
            warmup_issued=_count(c.get("warmupIssued", 0)), warmup_completed=_count(c.get("warmupCompleted", 0)),
            warmup_failures=_count(c.get("warmupFailures", 0)),
            parts={k: list(doc[k]) for k in ("workers", "shards") if k in doc},
            resources=list(doc.get("resources", [])), stop_reason=doc.get("stopReason"),
            scenarios=decode_scenarios(doc))
        from lunge.results.check import check_counts

        check_counts(result, source)  # counters, histograms and series must agree
        return result
    except ConfigError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError, HistogramFormatError) as e:
        raise ConfigError(f"{source}: malformed lunge result ({type(e).__name__}: {e})") from None


# What the reports read of `configuration`: a single-URL run's, a flow run's (a v2 file).
_CONFIG_TYPES = {"url": (str,), "method": (str,), "concurrency": (int,), "model": (str,),
                 "iterations": (int, type(None)), "durationMs": (int, float, type(None))}
# A v2 file's run (flowplan.FlowPlan.configuration()): its file and scenarios, no single URL.
_FLOW_CONFIG_TYPES = {"model": (str,), "file": (str, type(None)), "scenarios": (list,),
                      "durationMs": (int, float, type(None))}


def _count(value) -> int:
    """A counter read back from a result: the engine's are unsigned 64-bit."""
    n = int(value)
    if not 0 <= n < 1 << 64:
        raise ValueError(f"counter {n} is out of range")
    return n


def load(path: str) -> RunResult:
    from lunge import safeload  # size, encoding and depth bounded: the file may be hostile

    try:
        doc = safeload.json_loads(safeload.decode_utf8(safeload.read_bytes(path, safeload.MAX_RESULT_BYTES, path),
                                                       path), path)
    except OSError as e:
        raise ConfigError(f"{path}: cannot read ({e.strerror})") from None
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path}:{e.lineno}:{e.colno}: not JSON ({e.msg})") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: not a lunge result (top level is not an object)")
    return decode(doc, source=path)


def encode_hist(h: Histogram) -> dict:
    return {"encoding": ENCODING, "unit": "ns", "data": h.encode(), "totalCount": h.total,
            "minNs": h.min_ns, "maxNs": h.max_ns, "sumNs": h.sum_ns, "sumSquaresNs2": h.sum_sq,
            "overflow": h.overflow}


def decode_hist(d: dict) -> Histogram:
    if d.get("encoding") != ENCODING or d.get("unit") != "ns":
        raise HistogramFormatError(f"unsupported histogram encoding {d.get('encoding')!r}")
    h = Histogram.decode(d["data"])
    if h.total != int(d["totalCount"]):
        raise HistogramFormatError("histogram counts do not add up to totalCount")
    h.set_state(h.counts(), h.total, int(d.get("overflow", 0)), int(d["minNs"]), int(d["maxNs"]),
                int(d["sumNs"]), float(d["sumSquaresNs2"]))
    return h


def iso(t: _dt.datetime) -> str:
    return t.astimezone(_dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


