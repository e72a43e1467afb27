"""RunResult: what a run measured, in mergeable form, and its exact save/load.

Histograms travel as HdrHistogram V2 text with the exact count, min, max and sums beside
them, so a result reloaded from JSON (for `lunge compare`, `lunge merge`) is the same
result, to the nanosecond.  Derived figures (percentiles, rates) are analysis.py's job.
"""
from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, field

import numpy as np

from lunge import __version__
from lunge._native.hist import BUCKET_MID, Histogram, HistogramFormatError
from lunge.errors import RATE_LIMIT, ConfigError

FORMAT = "lunge-result/1"
ENCODING = "HdrHistogram-V2-deflate-base64"
STATUS_CLASSES = ("error", "1xx", "2xx", "3xx", "4xx", "5xx")
# An open-model run is rate-limited by the generator if scheduled requests went unsent or
# sends lagged their schedule by more than this at p99.
RATE_LIMIT_LAG_NS = 10_000_000


@dataclass
class SparseHist:
    """A histogram kept as its non-empty counters: how per-second data is held in memory."""
    idx: np.ndarray
    counts: np.ndarray
    total: int = 0
    min_ns: int = 0
    max_ns: int = 0
    sum_ns: int = 0
    sum_sq: float = 0.0

    @classmethod
    def of(cls, h: Histogram) -> "SparseHist":
        idx, cnt = h.nonzero()
        return cls(idx, cnt, h.total, h.min_ns, h.max_ns, h.sum_ns, h.sum_sq)

    def histogram(self) -> Histogram:
        h = Histogram()
        h.set_state(self.counts, self.total, 0, self.min_ns, self.max_ns, self.sum_ns, self.sum_sq, indices=self.idx)
        return h

    @classmethod
    def merge(cls, parts: list) -> "SparseHist | None":
        parts = [p for p in parts if p is not None and p.total]
        if not parts:
            return None
        idx, inv = np.unique(np.concatenate([p.idx for p in parts]), return_inverse=True)
        counts = np.zeros(len(idx), dtype=np.uint64)
        np.add.at(counts, inv, np.concatenate([p.counts for p in parts]).astype(np.uint64))
        return cls(idx.astype(np.int32), counts, sum(p.total for p in parts), min(p.min_ns for p in parts),
                   max(p.max_ns for p in parts), sum(p.sum_ns for p in parts), sum(p.sum_sq for p in parts))

    def percentiles(self, ps) -> np.ndarray:
        ps = np.asarray(ps, dtype=np.float64)
        if not self.total:
            return np.zeros(len(ps))
        cum = np.cumsum(self.counts)
        ranks = np.clip(np.ceil(ps / 100.0 * self.total), 1, self.total)
        vals = BUCKET_MID[self.idx[np.searchsorted(cum, ranks, side="left")]]
        return np.clip(vals, self.min_ns, self.max_ns)


@dataclass
class Second:
    """One second of the run (t = seconds since the start), by completion time."""
    t: int
    requests: int = 0
    failures: int = 0
    errors: int = 0
    bytes: int = 0
    status: list = field(default_factory=lambda: [0] * 6)
    hist: SparseHist | None = None
    span: int = 1  # > 1 only if the engine had to fold seconds together (Python fell behind)


@dataclass
class RunResult:
    name: str
    configuration: dict
    start_wall_ns: int
    elapsed_ns: int
    first_send_ns: int
    issue_end_ns: int
    completed_at_issue_end: int
    issued: int
    completed: int
    failures: int
    errors: int
    bytes: int
    connections: int
    status_codes: dict
    error_classes: dict
    error_samples: dict
    curl_codes: dict
    histograms: dict          # name -> Histogram: "response" plus libcurl's phases and "error"
    series: list              # [Second]
    versions: dict
    interrupted: bool = False
    warnings: list = field(default_factory=list)
    open_model: bool = False
    scheduled: int = 0        # open model: measured requests due before issuing ended
    late_sends: int = 0       # open model: sent more than 1 ms after their due time
    max_lag_ns: int = 0
    warmup_issued: int = 0
    warmup_completed: int = 0
    warmup_failures: int = 0
    parts: dict = field(default_factory=dict)  # {"workers": [...]} or {"shards": [...]}, when merged
    resources: list = field(default_factory=list)  # one dict per second from lunge.monitor
    stop_reason: str | None = None  # error type of a protection that stopped the run early

    # ------------------------------------------------------------------ building
    @classmethod
    def from_engine(cls, plan, raw: dict, harvested: list, curl: dict, interrupted=False) -> "RunResult":
        from lunge._native import engine

        series = [Second(t=s["sec"], requests=s["requests"], failures=s["failures"], errors=s["errors"],
                         bytes=s["bytes"], status=list(s["status"]), span=s["lastSec"] - s["sec"] + 1,
                         hist=SparseHist(*s["hist"]))
                  for s in harvested]
        warnings = []
        scheduled = 0
        if raw["openModel"]:
            ts, cum = plan.load.schedule()
            due = int(np.ceil(np.interp(raw["issueEndNs"] / 1e9, ts, cum) - 1e-9))
            scheduled = max(0, due - raw["warmupIssued"])
            if plan.load.iterations:
                scheduled = min(scheduled, plan.load.iterations)
            sent = raw["issued"] - raw["warmupIssued"]
            lag_p99 = raw["histograms"]["sendLag"].percentile(99)
            if scheduled > sent or lag_p99 > RATE_LIMIT_LAG_NS:
                warnings.append(
                    f"{RATE_LIMIT}: the target rate was not sustained: {max(0, scheduled - sent)} scheduled requests "
                    f"were never sent, sends lagged {lag_p99 / 1e6:.1f} ms at p99 (max {raw['maxLagNs'] / 1e6:.1f} ms, "
                    f"{raw['lateSends']} of {sent} more than 1 ms late); add connections (--concurrency) or "
                    f"workers, or lower the rate")
        if raw["seriesOverruns"]:
            warnings.append(f"the time series folded {raw['seriesOverruns']} seconds together "
                            f"(the process was too busy to collect them)")
        return cls(
            name=plan.name, configuration=plan.configuration(),
            start_wall_ns=raw["wallStartNs"], elapsed_ns=raw["elapsedNs"], first_send_ns=raw["firstSendNs"],
            issue_end_ns=raw["issueEndNs"], completed_at_issue_end=raw["completedAtIssueEnd"],
            issued=raw["issued"], completed=raw["completed"], failures=raw["failures"], errors=raw["errors"],
            bytes=raw["bytes"], connections=raw["connections"],
            status_codes=dict(raw["statusCodes"]), error_classes=dict(raw["errorClasses"]),
            error_samples=dict(raw["errorSamples"]), curl_codes=dict(raw["curlCodes"]),
            histograms=dict(raw["histograms"]), series=_trim_tail(_fill_gaps(series), raw["issueEndNs"]),
            versions={"lunge": __version__, "engine": engine.ENGINE_VERSION, "build": engine.BUILD,
                      "libcurl": curl["version"], "libcurlFile": curl["path"], "libcurlOrigin": curl["origin"]},
            interrupted=interrupted, warnings=warnings, open_model=raw["openModel"], scheduled=scheduled,
            late_sends=raw["lateSends"], max_lag_ns=raw["maxLagNs"], warmup_issued=raw["warmupIssued"],
            warmup_completed=raw["warmupCompleted"], warmup_failures=raw["warmupFailures"],
        )

    @classmethod
    def merge(cls, results: list, kind: str = "worker") -> "RunResult":
        """One result from several (engine threads, processes or machines): histograms and
        counters add exactly; per-second series align on wall-clock seconds."""
        if not results:
            raise ConfigError("nothing to merge")
        if len(results) == 1:
            return results[0]
        from lunge.resultcheck import fill_gaps  # sparse across long gaps: memory follows the data

        first = results[0]
        start = min(r.start_wall_ns for r in results)
        rel = [r.start_wall_ns - start for r in results]
        hists = {}
        for r in results:
            for name, h in r.histograms.items():
                hists[name] = h.copy() if name not in hists else hists[name].add(h)
        seconds: dict[int, list] = {}
        for r, off in zip(results, rel):
            shift = int(round(off / 1e9))
            for sec in r.series:
                seconds.setdefault(sec.t + shift, []).append(sec)
        series = [Second(t=t, requests=sum(x.requests for x in secs), failures=sum(x.failures for x in secs),
                         errors=sum(x.errors for x in secs), bytes=sum(x.bytes for x in secs),
                         status=[sum(x.status[k] for x in secs) for k in range(6)],
                         hist=SparseHist.merge([x.hist for x in secs]), span=max(x.span for x in secs))
                  for t, secs in sorted(seconds.items())]

        def total(attr):
            return sum(getattr(r, attr) for r in results)

        def add_maps(attr):
            out: dict = {}
            for r in results:
                for k, v in getattr(r, attr).items():
                    out[k] = out.get(k, 0) + v
            return out

        samples: dict = {}
        for r in results:
            for k, v in r.error_samples.items():
                samples.setdefault(k, v)
        config = dict(first.configuration)
        for key in ("concurrency", "iterations", "warmupIterations"):
            values = [r.configuration.get(key) for r in results]
            if all(isinstance(v, int) for v in values):
                config[key] = sum(values)
        config[f"{kind}s"] = len(results)
        parts = []
        for i, r in enumerate(results):
            parts.append({"index": i, "startOffsetMs": rel[i] / 1e6, "requests": r.completed,
                          "failures": r.failures, "errors": dict(r.error_classes),
                          "rps": r.completed_at_issue_end / max(r.issue_end_ns - r.first_send_ns, 1) * 1e9,
                          "p50Ms": r.response.percentile(50) / 1e6, "p99Ms": r.response.percentile(99) / 1e6,
                          **({"share": r.configuration["share"]} if "share" in r.configuration else {})})
        warnings = list(dict.fromkeys(w for r in results for w in r.warnings))
        return cls(
            name=first.name, configuration=config, start_wall_ns=start,
            elapsed_ns=max(o + r.elapsed_ns for r, o in zip(results, rel)),
            first_send_ns=min(o + r.first_send_ns for r, o in zip(results, rel)),
            issue_end_ns=max(o + r.issue_end_ns for r, o in zip(results, rel)),
            completed_at_issue_end=total("completed_at_issue_end"), issued=total("issued"),
            completed=total("completed"), failures=total("failures"), errors=total("errors"), bytes=total("bytes"),
            connections=total("connections"), status_codes=add_maps("status_codes"),
            error_classes=add_maps("error_classes"), error_samples=samples, curl_codes=add_maps("curl_codes"),
            histograms=hists, series=fill_gaps(series), versions=first.versions,
            interrupted=any(r.interrupted for r in results), warnings=warnings,
            open_model=any(r.open_model for r in results), scheduled=total("scheduled"),
            late_sends=total("late_sends"), max_lag_ns=max(r.max_lag_ns for r in results),
            warmup_issued=total("warmup_issued"), warmup_completed=total("warmup_completed"),
            warmup_failures=total("warmup_failures"), parts={f"{kind}s": parts},
            stop_reason=next((r.stop_reason for r in results if r.stop_reason), None))

    @property
    def response(self) -> Histogram:
        return self.histograms["response"]

    def start_time(self) -> _dt.datetime:
        return _dt.datetime.fromtimestamp(self.start_wall_ns / 1e9, tz=_dt.timezone.utc)

    def end_time(self) -> _dt.datetime:
        return _dt.datetime.fromtimestamp((self.start_wall_ns + self.elapsed_ns) / 1e9, tz=_dt.timezone.utc)

    # ------------------------------------------------------------------ raw (de)serialisation
    def raw_parts(self) -> dict:
        """The parts of the JSON document that load() reads back (analysis adds the rest)."""
        return {
            "format": FORMAT,
            "testName": self.name,
            "startTime": iso(self.start_time()),
            "endTime": iso(self.end_time()),
            "durationMs": self.elapsed_ns / 1e6,
            "interrupted": self.interrupted,
            "configuration": self.configuration,
            "lunge": self.versions,
            "counters": {
                "issued": self.issued, "completed": self.completed, "failures": self.failures,
                "transportErrors": self.errors, "bytes": self.bytes, "connectionsOpened": self.connections,
                "firstSendMs": self.first_send_ns / 1e6, "issueEndMs": self.issue_end_ns / 1e6,
                "completedAtIssueEnd": self.completed_at_issue_end,
                "statusCodes": {str(k): v for k, v in sorted(self.status_codes.items())},
                "errors": dict(self.error_classes), "errorSamples": dict(self.error_samples),
                "curlCodes": {str(k): v for k, v in sorted(self.curl_codes.items())},
                "openModel": self.open_model, "scheduled": self.scheduled, "lateSends": self.late_sends,
                "maxLagNs": self.max_lag_ns, "warmupIssued": self.warmup_issued,
                "warmupCompleted": self.warmup_completed, "warmupFailures": self.warmup_failures,
            },
            "histogram": encode_hist(self.response),
            "phaseHistograms": {k: encode_hist(h) for k, h in self.histograms.items() if k != "response"},
            "warnings": list(self.warnings),
            **self.parts,
            "stopReason": self.stop_reason,
            "resources": list(self.resources),
        }

    @classmethod
    def from_document(cls, doc: dict, source: str = "result") -> "RunResult":
        try:
            if doc.get("format") != FORMAT:
                raise ConfigError(f"{source}: not a lunge result (format {doc.get('format')!r}, expected {FORMAT!r})")
            c = doc["counters"]
            config = doc["configuration"]
            for key, types in _CONFIG_TYPES.items():  # what the reports read
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
            result = cls(
                name=str(doc["testName"]), configuration=config,
                start_wall_ns=int(start.timestamp() * 1e9), elapsed_ns=int(doc["durationMs"] * 1e6),
                first_send_ns=int(c["firstSendMs"] * 1e6), issue_end_ns=int(c["issueEndMs"] * 1e6),
                completed_at_issue_end=_count(c["completedAtIssueEnd"]), issued=_count(c["issued"]),
                completed=_count(c["completed"]), failures=_count(c["failures"]), errors=_count(c["transportErrors"]),
                bytes=_count(c["bytes"]), connections=_count(c["connectionsOpened"]),
                status_codes={int(k): _count(v) for k, v in c["statusCodes"].items()},
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
                resources=list(doc.get("resources", [])), stop_reason=doc.get("stopReason"))
            from lunge.resultcheck import check_counts

            check_counts(result, source)  # counters, histograms and series must agree
            return result
        except ConfigError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError, HistogramFormatError) as e:
            raise ConfigError(f"{source}: malformed lunge result ({type(e).__name__}: {e})") from None


_CONFIG_TYPES = {"url": (str,), "method": (str,), "concurrency": (int,), "model": (str,),
                 "iterations": (int, type(None)), "durationMs": (int, float, type(None))}


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
    return RunResult.from_document(doc, source=path)


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


def _trim_tail(series: list, issue_end_ns: int) -> list:
    """Drop a last second that began after issuing ended and saw nothing complete."""
    if len(series) > 1 and series[-1].requests == 0 and series[-1].t * 1e9 >= issue_end_ns:
        return series[:-1]
    return series


def _fill_gaps(series: list) -> list:
    """One entry per second from 0 to the last: seconds with no completion are real zeros."""
    by_t = {s.t: s for s in series}
    out: list[Second] = []
    t, last = 0, max(by_t, default=-1)
    while t <= last:
        s = by_t.get(t) or Second(t=t)
        out.append(s)
        t += s.span
    return out
