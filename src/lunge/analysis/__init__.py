"""Analysis: everything computed from a RunResult after the run, once. Reporters (text, JSON,
HTML, CSV), thresholds and compare all read the same `Analysis`.

stats: percentiles, throughput, errors, the per-second rows; anomalies and insights from
those; thresholds and compare (with baselines) judge a run on them.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

from lunge.results import RunResult


@dataclass
class Analysis:
    result: RunResult
    metrics: dict                      # the document's "metrics": counts, latency, throughput, pacing
    block: dict                        # the document's "analysis": statistics, errors, anomalies, insights
    series: list = field(default_factory=list)  # per-second rows (stats.time_series_light)
    scenarios: list = field(default_factory=list)  # flow runs: one dict per scenario (flows.scenario_metrics)

    @functools.cached_property
    def percentile_curve(self) -> list:
        """HdrHistogram's percentile table of the response time: [(percentile, ms, count)]."""
        from lunge.analysis import stats

        return stats.percentile_curve(self.result.response)

    def response_ms(self, percentile: float) -> float:
        """The response time at any percentile (ms), from the histogram."""
        return self.result.response.percentile(percentile) / 1e6

    def scenario(self, name: str):
        """(ScenarioResult, its figures) of a scenario of the run, or None if it has none of that name."""
        for s, m in zip(self.result.scenarios, self.scenarios):
            if s.name == name:
                return s, m
        return None


def analyze(result: RunResult) -> Analysis:
    from lunge.analysis import flows, stats

    rows = stats.time_series_light(result)
    return Analysis(result=result, metrics=stats.metrics(result),
                    block=stats.analyze(result, getattr(result, "resources", None), rows), series=rows,
                    scenarios=flows.analyze(result))
