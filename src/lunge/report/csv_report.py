"""CSV: the per-second series (one row per second, header row) and, in a second file, the
percentile distribution of the response time (HdrHistogram's percentile table); for a flow run
(a v2 scenario file), a third file with one row per scenario and request name."""
from __future__ import annotations

import csv
import io
import os

from lunge.analysis import Analysis
from lunge.results import STATUS_CLASSES

SERIES_COLUMNS = ("t", "span", "coveredMs", "requests", "failures", "errors", "rps", "bytes", "p50Ms", "p90Ms",
                  "p99Ms", "meanMs", "maxMs") + tuple(f"status{c}" for c in STATUS_CLASSES)
PERCENTILE_COLUMNS = ("percentile", "valueMs", "totalCount", "oneOverOneMinusPercentile")
REQUEST_COLUMNS = ("scenario", "request", "requests", "failures", "errors", "checkFailures", "failedRequests",
                   "errorRate", "rps", "p50Ms", "p90Ms", "p95Ms", "p99Ms", "meanMs", "maxMs", "checksPassed",
                   "checksTotal", "extractMisses")


def series(an: Analysis) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(SERIES_COLUMNS)
    for row, s in zip(an.series, an.result.series):
        w.writerow([row["t"], row["span"], f"{row['covered'] * 1000:.3f}", row["requests"], row["failures"],
                    row["errors"], f"{row['rps']:.3f}", row["bytes"], *(f"{row[k]:.3f}" for k in SERIES_COLUMNS[8:13]),
                    *s.status])
    return buf.getvalue()


def percentiles(an: Analysis) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(PERCENTILE_COLUMNS)
    for q, v, n in an.percentile_curve:
        inv = "" if q >= 100.0 else f"{1.0 / (1.0 - q / 100.0):.2f}"
        w.writerow([f"{q:.6f}", f"{v:.3f}", n, inv])
    return buf.getvalue()


def percentiles_path(path: str) -> str:
    """Where the percentile table goes beside the series file: run.csv -> run.percentiles.csv."""
    stem, ext = os.path.splitext(path)
    return f"{stem}.percentiles{ext or '.csv'}"


def requests(an: Analysis) -> str:
    """One row per request name of each scenario (failedRequests: transport errors and statuses
    >= 400; errorRate: their share; failed checks counted apart)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(REQUEST_COLUMNS)
    for s, m in zip(an.result.scenarios, an.scenarios):
        for st in s.steps:
            q = m["requests"][st.name]
            rt = q["responseTimes"]
            w.writerow([s.name, st.name, st.requests, st.failures, st.errors, st.check_failures, q["failedRequests"],
                        f"{q['errorRate']:.6f}", f"{q['rps']:.3f}",
                        *(f"{rt[k]:.3f}" for k in ("p50Ms", "p90Ms", "p95Ms", "p99Ms", "meanMs", "maxMs")),
                        q["checksPassed"], q["checksTotal"], st.extract_misses])
    return buf.getvalue()


def requests_path(path: str) -> str:
    """Where the per-request table of a flow run goes: run.csv -> run.requests.csv."""
    stem, ext = os.path.splitext(path)
    return f"{stem}.requests{ext or '.csv'}"
