"""Insights and recommendations: each rule reads measured facts and, when they trigger it,
says what they suggest, with the numbers that triggered it (in `facts`).

An insight is {kind, severity (info | warning | critical), message, facts}.  Rules are
plain functions over the RunResult and its analysis, so each can be tested on its own.
"""
from __future__ import annotations

from lunge.errors import RATE_LIMIT

GENERATOR_CPU = 90.0      # resources' cpuPercent (of the usable cores): above it the generator bounds the results
TAIL_RATIO = 3.0          # p99 / p90 above it: a tail worth a look
ERROR_SHARE = 0.5         # one error class above this share of transport errors explains them
SERVER_ERROR_RATE = 0.01  # 5xx above 1% of responses
CONNECT_SHARE = 0.2       # connect+tls above 20% of the response time: connections are not reused
DRIFT_RATIO = 1.5         # last third's median p50 / first third's


def _insight(kind, severity, message, **facts) -> dict:
    return {"kind": kind, "severity": severity, "message": message, "facts": facts}


def errors_mostly(r, a, _res):
    transport = a["errors"]["transport"]
    total = sum(transport.values())
    if not total:
        return None
    cls, n = max(transport.items(), key=lambda kv: kv[1])
    share = n / total
    if share < ERROR_SHARE:
        return None
    advice = {
        "connection_refused": "the target refused connections: its accept queue (listen backlog) or "
                              "connection limit is full, or it is not listening",
        "timeout": "requests timed out: the target is saturated or the timeout is too short for it",
        "connection_reset": "the target reset connections: look at its connection limits and keep-alive settings",
        "connection_closed": "the target closed connections without answering requests it had read: look at its "
                             "keep-alive limits (requests per connection, idle timeout) and for crashing workers",
        "quic_connect": "no QUIC connection could be made: the target does not answer HTTP/3 on that UDP port, "
                        "or UDP is blocked on the way (--http3-fallback goes over TCP then)",
        "dns": "the host name did not resolve",
        "tls": "TLS handshakes failed: certificates, protocols or the target's TLS capacity",
        "aborted": "requests were still in flight when the grace period ended: raise --grace or expect a slow drain",
    }.get(cls, "look at the error samples")
    return _insight("errors", "critical" if a["errors"]["rate"] > 0.05 else "warning",
                    f"{share * 100:.0f}% of transport errors are {cls} ({n} of {total}): {advice}",
                    errorClass=cls, count=n, transportErrors=total, share=share)


def server_errors(r, a, _res):
    responses = sum(r.status_codes.values())
    n5 = sum(v for k, v in r.status_codes.items() if 500 <= k <= 599)
    if not responses or n5 / responses <= SERVER_ERROR_RATE:
        return None
    return _insight("server_errors", "critical" if n5 / responses > 0.05 else "warning",
                    f"{n5 / responses * 100:.1f}% of responses were 5xx ({n5} of {responses}): "
                    f"the target failed under this load; read its logs for the seconds listed in the anomalies",
                    count=n5, responses=responses, rate=n5 / responses)


def generator_cpu(r, a, resources):
    if not resources:
        return None
    cpus = [row.get("cpuPercent", row.get("cpu")) for row in resources]
    cpus = [c for c in cpus if isinstance(c, (int, float))]
    if not cpus:
        return None
    peak = max(cpus)
    busy = sum(1 for c in cpus if c > GENERATOR_CPU)
    if busy == 0:
        return None
    return _insight("generator_bound", "warning",
                    f"the generator's CPU was above {GENERATOR_CPU:.0f}% of its usable cores for {busy} of {len(cpus)} seconds "
                    f"(peak {peak:.0f}%): results are bounded by the generator; add workers or machines",
                    peakCpuPercent=peak, secondsAbove=busy, seconds=len(cpus))


def rate_not_sustained(r, a, _res):
    w = next((w for w in r.warnings if w.startswith(RATE_LIMIT)), None)
    if w is None:
        return None
    lag = r.histograms["sendLag"].percentile(99) / 1e6 if "sendLag" in r.histograms else 0.0
    return _insight(RATE_LIMIT, "warning",
                    f"the target rate was not sustained (send lag p99 {lag:.1f} ms, {r.late_sends} late sends): "
                    f"add connections (--concurrency) or lower the rate",
                    sendLagP99Ms=lag, lateSends=r.late_sends, scheduled=r.scheduled)


def tail_latency(r, a, _res):
    rt = a["responseTime"]
    if rt["count"] < 100 or not rt["p90Ms"] or rt["p99Ms"] / rt["p90Ms"] < TAIL_RATIO:
        return None
    spikes = [x for x in a["anomalies"] if x["kind"] == "latency_spike"]
    where = ("; look at the latency spikes at " + ", ".join(f"t={x['fromS']}s" for x in spikes[:5])) if spikes else \
        "; no single second stands out, so the slow requests are spread over the run (GC, locks, queueing)"
    return _insight("tail_latency", "warning",
                    f"p99 ({rt['p99Ms']:.1f} ms) is {rt['p99Ms'] / rt['p90Ms']:.1f}x p90 ({rt['p90Ms']:.1f} ms): "
                    f"a long tail{where}",
                    p90Ms=rt["p90Ms"], p99Ms=rt["p99Ms"], ratio=rt["p99Ms"] / rt["p90Ms"],
                    spikesAtS=[x["fromS"] for x in spikes])


def connection_churn(r, a, _res):
    ph = a["phases"]
    total = a["responseTime"]["meanMs"]
    if not total or "connect" not in ph:
        return None
    setup = ph["connect"]["meanMs"] + ph.get("tls", {}).get("meanMs", 0.0)
    responses = a["responseTime"]["count"]
    if setup / total < CONNECT_SHARE or r.connections < max(2 * r.configuration.get("concurrency", 1), responses / 10):
        return None
    return _insight("connection_churn", "warning",
                    f"{r.connections} connections for {responses} responses; connection set-up is "
                    f"{setup / total * 100:.0f}% of the mean response time ({setup:.2f} of {total:.2f} ms): "
                    f"the target closes connections; enable keep-alive",
                    connections=r.connections, responses=responses, setupMs=setup, meanMs=total)


def latency_drift(r, a, _res):
    rows = [s for s in r.series if s.hist is not None and s.hist.total >= 5]
    if len(rows) < 9:
        return None
    third = len(rows) // 3
    from lunge.analysis.anomalies import median

    first = median([s.hist.percentiles([50])[0] for s in rows[:third]]) / 1e6
    last = median([s.hist.percentiles([50])[0] for s in rows[-third:]]) / 1e6
    if not first or last / first < DRIFT_RATIO:
        return None
    return _insight("latency_drift", "warning",
                    f"the median latency grew from {first:.1f} ms in the first third of the run to {last:.1f} ms "
                    f"in the last (x{last / first:.1f}): the target degrades under sustained load "
                    f"(queues filling, a leak, or a cache/pool exhausted)",
                    firstThirdP50Ms=first, lastThirdP50Ms=last, ratio=last / first)


def anomalies_found(r, a, _res):
    an = a["anomalies"]
    if not an:
        return None
    kinds: dict[str, int] = {}
    for x in an:
        kinds[x["kind"]] = kinds.get(x["kind"], 0) + 1
    listed = "; ".join(x["message"] for x in an[:3]) + (f"; and {len(an) - 3} more" if len(an) > 3 else "")
    return _insight("anomalies", "info", f"{len(an)} anomalies in the time series: {listed}", counts=kinds)


def steady(r, a, _res):
    """The one good-news insight, so an empty list never reads as 'not analysed'."""
    rt = a["responseTime"]
    if a["errors"]["rate"] or a["anomalies"] or not rt["count"]:
        return None
    cv = rt["stdDevMs"] / rt["meanMs"] if rt["meanMs"] else 0.0
    return _insight("steady", "info",
                    f"no errors and no anomalies: {a['throughput']['rps']:.0f} req/s, p50 {rt['p50Ms']:.1f} ms, "
                    f"p99 {rt['p99Ms']:.1f} ms, coefficient of variation {cv:.2f}",
                    rps=a["throughput"]["rps"], p50Ms=rt["p50Ms"], p99Ms=rt["p99Ms"], cv=cv)


RULES = (errors_mostly, server_errors, generator_cpu, rate_not_sustained, tail_latency, connection_churn,
         latency_drift, anomalies_found, steady)
_ORDER = {"critical": 0, "warning": 1, "info": 2}


def derive(r, analysis: dict, resources: list | None = None) -> list:
    out = [x for rule in RULES if (x := rule(r, analysis, resources)) is not None]
    out.sort(key=lambda x: _ORDER[x["severity"]])
    return out
