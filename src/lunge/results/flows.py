"""Per-scenario and per-request results of a flow run (v2 scenario files): what the FlowEngine's
flow_results() hands over (lunge._native.contract, "flows"), kept in mergeable form.

Every engine (worker) gives a tuple of contract.ScenarioResults; ScenarioResult.from_engines()
merges them by scenario name, exactly where the figures allow it:

- counters add; histograms add (exact: counts, min, max, sums);
- checks add by label, the first non-empty first failure kept (in the order of the parts);
- per-second rows add by `sec` (VUs too: each engine's peak in that second; their sum is an
  upper bound), their largest response time is the largest of the parts';
- started_s is the earliest start (a part that never started, -1, is left out), ended_s the
  latest end;
- max_vus is the SUM of the parts' peaks: an upper bound of the whole scenario's peak (the
  engines' peaks need not fall at the same moment).  The per-second `vus` rows are exact.

Derived figures (percentiles, rates) are lunge.analysis's; the JSON form lunge.results.codec's.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from lunge._native.contract import ScenarioSecond
from lunge._native.hist import Histogram

# Keys of ScenarioResult.histograms, as contract.ScenarioResults names them.
SCENARIO_HISTOGRAMS = ("response", "iteration", "lateness", "wake")
# Arrival-rate executors: the only ones that drop iterations and have a lateness.
ARRIVAL_RATE = ("constant-arrival-rate", "ramping-arrival-rate")


@dataclass
class CheckResult:
    """One check (assertion label) of a request name: responses it passed and failed on."""
    label: str
    passed: int = 0
    failed: int = 0
    first_failure: str = ""   # the first failure's message ("" if none failed)


@dataclass
class StepResult:
    """Every request of one name in one scenario (contract.StepResults)."""
    name: str
    requests: int = 0         # completed, aborted ones included
    failures: int = 0         # transport errors, status >= 400, or a failed check
    errors: int = 0           # transport errors
    check_failures: int = 0   # requests with a failed check and no other failure
    bytes: int = 0
    status_codes: dict = field(default_factory=dict)    # {status: count}
    error_classes: dict = field(default_factory=dict)   # {ERROR_CLASSES name: count}
    error_samples: dict = field(default_factory=dict)   # {ERROR_CLASSES name: first message}
    histogram: Histogram = field(default_factory=Histogram)  # response times (ns) of the responses
    checks: list = field(default_factory=list)          # [CheckResult], in file order
    extract_misses: int = 0

    @property
    def http_failures(self) -> int:
        """Transport errors and statuses >= 400: the failures a failed check did not cause
        (http_req_failed and errorRate count those too)."""
        return self.failures - self.check_failures

    @classmethod
    def of(cls, s) -> StepResult:
        """From a contract.StepResults (copied: the result never shares the engine's objects)."""
        return cls(name=s.name, requests=s.requests, failures=s.failures, errors=s.errors,
                   check_failures=s.check_failures, bytes=s.bytes, status_codes=dict(s.status_codes),
                   error_classes=dict(s.error_classes), error_samples=dict(s.error_samples),
                   histogram=s.histogram.copy(),
                   checks=[CheckResult(c.label, c.passed, c.failed, c.first_failure) for c in s.checks],
                   extract_misses=s.extract_misses)

    def add(self, other: StepResult) -> StepResult:
        """Add `other` (the same name, another engine or shard) into this one."""
        for attr in ("requests", "failures", "errors", "check_failures", "bytes", "extract_misses"):
            setattr(self, attr, getattr(self, attr) + getattr(other, attr))
        for attr in ("status_codes", "error_classes"):
            mine = getattr(self, attr)
            for k, v in getattr(other, attr).items():
                mine[k] = mine.get(k, 0) + v
        for k, v in other.error_samples.items():
            self.error_samples.setdefault(k, v)
        self.histogram.add(other.histogram)
        by_label = {c.label: c for c in self.checks}
        for c in other.checks:
            mine_c = by_label.get(c.label)
            if mine_c is None:
                mine_c = by_label[c.label] = CheckResult(c.label)
                self.checks.append(mine_c)
            mine_c.passed += c.passed
            mine_c.failed += c.failed
            if not mine_c.first_failure:
                mine_c.first_failure = c.first_failure
        return self


@dataclass
class ScenarioResult:
    """One scenario of a flow run (contract.ScenarioResults), over every engine that ran it."""
    name: str
    executor: str
    started_s: float = -1.0   # s from the run's start; -1: it never started
    ended_s: float = -1.0     # when its last iteration ended or was interrupted
    iterations: int = 0       # completed
    interrupted: int = 0      # interrupted iterations (gracefulStop, iterationsTimeout, the run's end)
    dropped: int = 0          # arrival rate: due iterations that found no free VU
    max_vus: int = 0          # merged: the sum of the parts' peaks (an upper bound, see the module)
    vus_made: int = 0         # arrival rate: VUs made (pre-allocated + grown)
    requests: int = 0
    failures: int = 0
    errors: int = 0
    histograms: dict = field(default_factory=lambda: {k: Histogram() for k in SCENARIO_HISTOGRAMS})
    steps: list = field(default_factory=list)     # [StepResult], in the file's order of names
    seconds: list = field(default_factory=list)   # [contract.ScenarioSecond], in order of sec

    @property
    def response(self) -> Histogram:
        return self.histograms["response"]

    @property
    def started(self) -> bool:
        return self.started_s >= 0

    @property
    def check_failures(self) -> int:
        return sum(s.check_failures for s in self.steps)

    @property
    def http_failures(self) -> int:
        """Transport errors and statuses >= 400 over its requests (failed checks not counted)."""
        return sum(s.http_failures for s in self.steps)

    @classmethod
    def of(cls, s) -> ScenarioResult:
        """From one engine's contract.ScenarioResults."""
        hists = {k: Histogram() for k in SCENARIO_HISTOGRAMS}
        for k, h in s.histograms.items():
            hists[k] = h.copy()
        return cls(name=s.name, executor=s.executor, started_s=float(s.started_s), ended_s=float(s.ended_s),
                   iterations=s.iterations, interrupted=s.interrupted, dropped=s.dropped, max_vus=s.max_vus,
                   vus_made=s.vus_made, requests=s.requests, failures=s.failures, errors=s.errors,
                   histograms=hists, steps=[StepResult.of(x) for x in s.steps], seconds=list(s.seconds))

    @classmethod
    def from_engines(cls, parts) -> list[ScenarioResult]:
        """The scenarios of a run from each engine's flow_results() (a list of tuples of
        contract.ScenarioResults, one tuple per engine), merged by name in order of appearance."""
        return merge([[cls.of(s) for s in part] for part in parts])

    def add(self, other: ScenarioResult, shift_s: float = 0.0) -> ScenarioResult:
        """Add `other` (the same scenario, another engine or shard) into this one; `shift_s`:
        seconds to add to other's times (a shard that started later: lunge merge); its
        per-second rows move by the nearest whole second, as RunResult.merge's rows do."""
        for attr in ("iterations", "interrupted", "dropped", "max_vus", "vus_made", "requests", "failures",
                     "errors"):
            setattr(self, attr, getattr(self, attr) + getattr(other, attr))
        if other.started:
            start = other.started_s + shift_s
            self.started_s = start if not self.started else min(self.started_s, start)
            self.ended_s = max(self.ended_s, other.ended_s + shift_s)
        for k, h in other.histograms.items():
            if k in self.histograms:
                self.histograms[k].add(h)
            else:
                self.histograms[k] = h.copy()
        by_name = {s.name: s for s in self.steps}
        for st in other.steps:
            if st.name in by_name:
                by_name[st.name].add(st)
            else:
                mine = by_name[st.name] = StepResult(st.name).add(st)
                self.steps.append(mine)
        rows = {r.sec: r for r in self.seconds}
        for r in other.seconds:
            sec = r.sec + int(round(shift_s))
            have = rows.get(sec)
            rows[sec] = r._replace(sec=sec) if have is None else ScenarioSecond(
                sec=sec, requests=have.requests + r.requests, failures=have.failures + r.failures,
                iterations=have.iterations + r.iterations, dropped=have.dropped + r.dropped, vus=have.vus + r.vus,
                sum_ns=have.sum_ns + r.sum_ns, max_ns=max(have.max_ns, r.max_ns))
        self.seconds = [rows[k] for k in sorted(rows)]
        return self


def merge(parts: list, shifts: list | None = None) -> list[ScenarioResult]:
    """Several runs' (engines', shards') lists of ScenarioResult as one, by scenario name in
    order of appearance; `shifts`: seconds to add to each part's times.  The parts are not
    modified."""
    out: dict[str, ScenarioResult] = {}
    for i, scenarios in enumerate(parts):
        shift = shifts[i] if shifts else 0
        for s in scenarios:
            if s.name not in out:
                out[s.name] = ScenarioResult(s.name, s.executor)
            out[s.name].add(s, shift)
    return list(out.values())
