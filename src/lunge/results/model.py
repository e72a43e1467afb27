"""RunResult: what a run measured, in mergeable form: histograms, per-second series, counters.

Its JSON form is lunge.results.codec's; derived figures (percentiles, rates) are
lunge.analysis's.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

import numpy as np

from lunge import __version__
from lunge._native.contract import STATUS_CLASSES, EngineResults, HarvestedSecond, SparseCounts
from lunge._native.hist import Histogram, percentiles_of
from lunge.errors import ConfigError


class SparseHist(SparseCounts):
    """A histogram kept as its non-empty counters: how per-second data is held in memory.
    The engine's SparseCounts (same fields) with the reading and merging."""
    __slots__ = ()

    @classmethod
    def empty(cls) -> SparseHist:
        return cls(np.zeros(0, np.int32), np.zeros(0, np.uint64))

    @classmethod
    def of(cls, h: Histogram) -> SparseHist:
        idx, cnt = h.nonzero()
        return cls(idx, cnt, h.total, h.min_ns, h.max_ns, h.sum_ns, h.sum_sq)

    def histogram(self) -> Histogram:
        h = Histogram()
        h.set_state(self.counts, self.total, 0, self.min_ns, self.max_ns, self.sum_ns, self.sum_sq, indices=self.idx)
        return h

    @classmethod
    def merge(cls, parts: list) -> SparseHist | None:
        parts = [p for p in parts if p is not None and p.total]
        if not parts:
            return None
        idx, inv = np.unique(np.concatenate([p.idx for p in parts]), return_inverse=True)
        counts = np.zeros(len(idx), dtype=np.uint64)
        np.add.at(counts, inv, np.concatenate([p.counts for p in parts]).astype(np.uint64))
        return cls(idx.astype(np.int32), counts, sum(p.total for p in parts), min(p.min_ns for p in parts),
                   max(p.max_ns for p in parts), sum(p.sum_ns for p in parts), sum(p.sum_sq for p in parts))

    def percentiles(self, ps) -> np.ndarray:
        return percentiles_of(self.idx, self.counts, self.total, self.min_ns, self.max_ns, ps)


@dataclass
class Second:
    """One second of the run (t = seconds since the start), by completion time."""
    t: int
    requests: int = 0
    failures: int = 0
    errors: int = 0
    bytes: int = 0
    status: list = field(default_factory=lambda: [0] * len(STATUS_CLASSES))  # per STATUS_CLASSES slot
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
    resources: list = field(default_factory=list)  # one dict per second from lunge.live.monitor
    stop_reason: str | None = None  # error type of a protection that stopped the run early
    # flow runs (v2 scenario files): [results.flows.ScenarioResult]; empty for single-URL runs
    scenarios: list = field(default_factory=list)
    # responses by HTTP version ({"1.1": n, "2": n, "3": n}); empty in results written before it existed
    http_versions: dict = field(default_factory=dict)

    # ------------------------------------------------------------------ building
    @classmethod
    def from_engine(cls, plan, raw: EngineResults, harvested: list[HarvestedSecond], curl: dict,
                    interrupted=False) -> RunResult:
        from lunge._native import engine

        series = [Second(t=s.sec, requests=s.requests, failures=s.failures, errors=s.errors,
                         bytes=s.bytes, status=list(s.status_classes), span=s.last_sec - s.sec + 1,
                         hist=SparseHist._make(s.hist))
                  for s in harvested]
        scheduled = 0
        if raw.open_model:
            ts, cum = plan.load.schedule()
            due = int(np.ceil(np.interp(raw.issue_end_ns / 1e9, ts, cum) - 1e-9))
            scheduled = max(0, due - raw.warmup_issued)
            if plan.load.iterations:
                scheduled = min(scheduled, plan.load.iterations)
        return cls(
            name=plan.name, configuration=plan.configuration(),
            start_wall_ns=raw.wall_start_ns, elapsed_ns=raw.elapsed_ns, first_send_ns=raw.first_send_ns,
            issue_end_ns=raw.issue_end_ns, completed_at_issue_end=raw.completed_at_issue_end,
            issued=raw.issued, completed=raw.completed, failures=raw.failures, errors=raw.errors,
            bytes=raw.bytes, connections=raw.connections,
            status_codes=dict(raw.status_codes), error_classes=dict(raw.error_classes),
            error_samples=dict(raw.error_samples), curl_codes=dict(raw.curl_codes),
            histograms=dict(raw.histograms),
            series=_trim_tail(fill_gaps(_after_warmup(series, raw.first_send_ns)), raw.issue_end_ns),
            versions={"lunge": __version__, "engine": engine.ENGINE_VERSION, "build": engine.BUILD,
                      "libcurl": curl["version"], "libcurlFile": curl["path"], "libcurlOrigin": curl["origin"]},
            interrupted=interrupted, open_model=raw.open_model, scheduled=scheduled,
            late_sends=raw.late_sends, max_lag_ns=raw.max_lag_ns, warmup_issued=raw.warmup_issued,
            warmup_completed=raw.warmup_completed, warmup_failures=raw.warmup_failures,
            http_versions=dict(raw.http_versions),
        )

    @classmethod
    def merge(cls, results: list, kind: str = "worker") -> RunResult:
        """One result from several (engine threads, processes or machines): histograms and
        counters add exactly; per-second series align on wall-clock seconds."""
        if not results:
            raise ConfigError("nothing to merge")
        if len(results) == 1:
            return results[0]
        from lunge.analysis.stats import throughput  # each part's rate as its own report gives it

        first = results[0]
        start = min(r.start_wall_ns for r in results)
        rel = [r.start_wall_ns - start for r in results]
        hists: dict[str, Histogram] = {}
        for r in results:
            for name, h in r.histograms.items():
                hists[name] = h.copy() if name not in hists else hists[name].add(h)
        seconds: dict[int, list] = {}
        for r, off in zip(results, rel):
            shift = int(round(off / 1e9))
            for sec in r.series:
                seconds.setdefault(sec.t + shift, []).append(sec)
        # A row inside an earlier row's span (one part folded seconds the other did not) is
        # folded into it: rows that overlap are refused when the result is loaded again.
        groups: list[tuple[int, int, list]] = []  # (t, span, seconds)
        for t, secs in sorted(seconds.items()):
            span = max(x.span for x in secs)
            if groups and t < groups[-1][0] + groups[-1][1]:
                t0, span0, folded = groups[-1]
                groups[-1] = (t0, max(span0, t + span - t0), folded + secs)
            else:
                groups.append((t, span, list(secs)))
        series = [Second(t=t, requests=sum(x.requests for x in secs), failures=sum(x.failures for x in secs),
                         errors=sum(x.errors for x in secs), bytes=sum(x.bytes for x in secs),
                         status=[sum(x.status[k] for x in secs) for k in range(len(STATUS_CLASSES))],
                         hist=SparseHist.merge([x.hist for x in secs]), span=span)
                  for t, span, secs in groups]

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
                          "rps": throughput(r)["rps"],
                          "p50Ms": r.response.percentile(50) / 1e6, "p99Ms": r.response.percentile(99) / 1e6,
                          **({"share": r.configuration["share"]} if "share" in r.configuration else {})})
        warnings = list(dict.fromkeys(w for r in results for w in r.warnings))
        from lunge.results import flows

        scenarios = flows.merge([r.scenarios for r in results], [o / 1e9 for o in rel]) \
            if any(r.scenarios for r in results) else []
        return cls(
            name=first.name, configuration=config, start_wall_ns=start,
            elapsed_ns=max(o + r.elapsed_ns for r, o in zip(results, rel)),
            first_send_ns=min(o + r.first_send_ns for r, o in zip(results, rel)),
            issue_end_ns=max(o + r.issue_end_ns for r, o in zip(results, rel)),
            completed_at_issue_end=total("completed_at_issue_end"), issued=total("issued"),
            completed=total("completed"), failures=total("failures"), errors=total("errors"), bytes=total("bytes"),
            connections=total("connections"), status_codes=add_maps("status_codes"),
            error_classes=add_maps("error_classes"), error_samples=samples, curl_codes=add_maps("curl_codes"),
            histograms=hists, series=fill_gaps(series, MERGE_FILL_LIMIT_S), versions=first.versions,
            interrupted=any(r.interrupted for r in results), warnings=warnings,
            open_model=any(r.open_model for r in results), scheduled=total("scheduled"),
            late_sends=total("late_sends"), max_lag_ns=max(r.max_lag_ns for r in results),
            warmup_issued=total("warmup_issued"), warmup_completed=total("warmup_completed"),
            warmup_failures=total("warmup_failures"), parts={f"{kind}s": parts},
            stop_reason=next((r.stop_reason for r in results if r.stop_reason), None), scenarios=scenarios,
            # all or nothing: a part written before versions were counted leaves the sum unknown
            http_versions=add_maps("http_versions")
            if all(r.http_versions or r.completed == r.errors for r in results) else {})

    @property
    def response(self) -> Histogram:
        return self.histograms["response"]

    def start_time(self) -> _dt.datetime:
        return _dt.datetime.fromtimestamp(self.start_wall_ns / 1e9, tz=_dt.timezone.utc)

    def end_time(self) -> _dt.datetime:
        return _dt.datetime.fromtimestamp((self.start_wall_ns + self.elapsed_ns) / 1e9, tz=_dt.timezone.utc)


def _trim_tail(series: list, issue_end_ns: int) -> list:
    """Drop a last second that began after issuing ended and saw nothing complete."""
    if len(series) > 1 and series[-1].requests == 0 and series[-1].t * 1e9 >= issue_end_ns:
        return series[:-1]
    return series


def _after_warmup(series: list, first_send_ns: int) -> list:
    """The seconds from the one the first measured request was sent in: the warmup's seconds
    before it hold no measured request, and kept as 0-request seconds they read as a
    throughput drop."""
    return [s for s in series if (s.t + s.span) * 1_000_000_000 > first_send_ns or s.requests]


# lunge merge: gaps between runs up to this many seconds become zero rows; longer ones one row.
MERGE_FILL_LIMIT_S = 300


def fill_gaps(series: list, limit: int | None = None) -> list:
    """`series` (sorted by t) with the seconds from the first to the last filled in: seconds
    with no completion are real zeros. A gap longer than `limit` (lunge merge: runs far apart)
    becomes ONE empty row whose span covers it, so memory follows the data, not the gap. From
    the first row, not from 0: the seconds before it are a warmup's, kept out of the series."""
    out: list[Second] = []
    t = series[0].t if series else 0
    for s in series:
        gap = s.t - t
        if gap > 0 and (limit is None or gap <= limit):
            out.extend(Second(t=k) for k in range(t, s.t))
        elif gap > 0:
            out.append(Second(t=t, span=gap))
        out.append(s)
        t = max(t, s.t + s.span)
    return out
