"""Analysis on synthetic RunResults with known answers: statistics, anomalies, insights,
and the statistics behind comparisons."""
import math
import warnings

import numpy as np
import pytest

from lunge._native.hist import Histogram
from lunge.analysis import analyze, anomalies, compare
from lunge.analysis import stats as analysis
from synth import make_result


def test_full_stats_of_a_known_sample():
    h = Histogram()
    h.record_array(np.arange(1, 1001) * 1_000_000)  # 1..1000 ms, one each
    s = analysis.full_stats(h, buckets=10)
    assert s["count"] == 1000 and s["minMs"] == 1.0 and s["maxMs"] == 1000.0
    assert s["meanMs"] == pytest.approx(500.5)
    assert s["stdDevMs"] == pytest.approx(np.std(np.arange(1, 1001)), rel=1e-6)
    for key, want in (("p50Ms", 500), ("p90Ms", 900), ("p95Ms", 950), ("p99Ms", 990), ("p999Ms", 999)):
        assert s[key] == pytest.approx(want, rel=2e-3), key
    assert s["medianMs"] == s["p50Ms"]
    dist = s["distribution"]
    assert len(dist) == 10 and sum(d["count"] for d in dist) == 1000
    assert dist[0]["lowMs"] == pytest.approx(1.0) and dist[-1]["highMs"] == pytest.approx(1000.0, rel=1e-5)
    # log-spaced: the first bucket (1..2 ms) holds 1 ms only, the last (501..1000) half the values
    assert dist[0]["count"] == 1 and dist[-1]["count"] == pytest.approx(500, abs=2)


def test_analysis_covers_response_service_and_every_phase():
    r = make_result([10.0] * 20)
    a = analysis.analyze(r)
    assert a["responseTime"]["p50Ms"] == pytest.approx(10.0, rel=0.01)
    assert set(a["phases"]) >= {"dns", "connect", "tls", "ttfb", "transfer", "curlTotal", "error"}
    assert a["phases"]["ttfb"]["p50Ms"] == pytest.approx(9.0, rel=0.01)  # synth: ttfb = 0.9 x response
    assert a["phases"]["tls"]["count"] == 0 and a["phases"]["tls"]["distribution"] == []
    assert a["serviceTime"] == a["responseTime"]  # closed model: no separate service time
    assert a["throughput"]["perSecondMean"] == 200 and a["summary"]["requests"] == 4000


def test_percentile_curve_is_monotonic_and_ends_at_the_max():
    r = make_result([10.0] * 10, noise=0.5)
    curve = analysis.percentile_curve(r.response)
    ps = [p for p, _, _ in curve]
    vals = [v for _, v, _ in curve]
    assert ps[0] == 0 and ps[-1] == 100 and ps == sorted(ps)
    assert vals == sorted(vals) and vals[-1] == r.response.max_ns / 1e6
    assert curve[-1][2] == r.response.total
    # ticks go down to the last single request: 1 / (1 - p) reaches the count
    assert 1 / (1 - ps[-2] / 100) >= r.response.total / 2


# ---------------------------------------------------------------- anomalies
def rows(r):
    return analysis.time_series_light(r)


def test_rolling_median_equals_numpys_nanmedian_over_the_same_windows():
    # the sorted-window median must agree exactly with np.nanmedian, NaN gaps and edges included
    rng = np.random.default_rng(7)
    for _ in range(300):
        n = int(rng.integers(1, 50))
        x = rng.normal(10, 3, n)
        x[rng.random(n) < rng.random()] = np.nan
        for window in (anomalies.WINDOW, 4, 1):
            half = window // 2
            padded = np.concatenate([np.full(half, np.nan), x, np.full(half, np.nan)])
            windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows: NaN, with a warning
                want = np.nanmedian(windows, axis=1)
            assert np.array_equal(anomalies.rolling_median(x, window), want, equal_nan=True), (x, window)


def test_median_equals_numpys():
    rng = np.random.default_rng(3)
    for n in list(range(1, 12)) + [99, 100]:
        x = rng.lognormal(2, 1, n)
        assert anomalies.median(x) == np.median(x)
        assert anomalies.median(list(x)) == np.median(x)


def test_planted_latency_spike_is_found_at_its_second():
    lat = [10.0] * 60
    lat[37] = 60.0
    found = anomalies.detect(rows(make_result(lat)))
    assert len(found) == 1, found
    a = found[0]
    assert a["kind"] == "latency_spike" and a["fromS"] == 37 and a["toS"] == 38 and a["peakAtS"] == 37
    assert a["peak"] == pytest.approx(60 * 1.12, rel=0.1)  # p99 of lognormal(0.05) ~ 1.12 x median
    assert a["baseline"] == pytest.approx(11.2, rel=0.05)
    assert "t=37s" in a["message"]


@pytest.mark.parametrize("seed", range(5))
def test_clean_series_has_no_anomaly(seed):
    assert anomalies.detect(rows(make_result([10.0] * 120, seed=seed))) == []


def test_ramping_load_is_not_a_throughput_drop():
    # a linear ramp 50 -> 600 req/s: every second differs from the global median, none from its neighbours
    r = make_result([10.0] * 60, requests_per_second=np.linspace(50, 600, 60).astype(int))
    assert anomalies.detect(rows(r)) == []


def test_planted_throughput_drop_and_error_burst():
    reqs = [300] * 40
    reqs[20:23] = [40, 30, 35]
    fails = [0] * 40
    fails[30:32] = [90, 120]
    found = anomalies.detect(rows(make_result([10.0] * 40, requests_per_second=reqs, failures_per_second=fails)))
    kinds = {(a["kind"], a["fromS"], a["toS"]) for a in found}
    assert kinds == {("throughput_drop", 20, 23), ("error_burst", 30, 32)}, found
    drop = next(a for a in found if a["kind"] == "throughput_drop")
    assert drop["peak"] == 30 and drop["baseline"] == 300 and drop["durationS"] == 3


def test_first_and_last_partial_seconds_are_not_drops():
    reqs = [300] * 30
    reqs[0], reqs[-1] = 20, 10  # start-up and drain
    assert anomalies.detect(rows(make_result([10.0] * 30, requests_per_second=reqs))) == []


def test_too_short_a_series_has_no_yardstick():
    assert anomalies.detect(rows(make_result([10.0, 10.0, 90.0]))) == []


# ---------------------------------------------------------------- insights
def kinds(r, resources=None):
    return {i["kind"]: i for i in analysis.analyze(r, resources)["insights"]}


def test_connection_refused_majority_points_at_the_accept_queue():
    r = make_result([10.0] * 10, failures_per_second=0)
    r.error_classes = {"connection_refused": 90, "timeout": 10}
    r.failures, r.completed = 100, r.completed + 100
    ins = kinds(r)["errors"]
    assert ins["facts"]["errorClass"] == "connection_refused" and ins["facts"]["share"] == 0.9
    assert "accept queue" in ins["message"] and "90%" in ins["message"]


def test_busy_generator_cpu_means_generator_bound():
    r = make_result([10.0] * 10)
    res = [{"t": t, "cpuPercent": 95.0 if t >= 6 else 40.0} for t in range(10)]
    ins = kinds(r, res)["generator_bound"]
    assert ins["facts"] == {"peakCpuPercent": 95.0, "secondsAbove": 4, "seconds": 10}
    assert "add workers" in ins["message"]
    assert "generator_bound" not in kinds(r, [{"t": 0, "cpuPercent": 50.0}])


def test_tail_latency_names_the_spike_seconds():
    lat = [10.0] * 60
    lat[12] = lat[13] = 100.0
    ins = kinds(make_result(lat))["tail_latency"]
    assert ins["facts"]["spikesAtS"] == [12] and "t=12s" in ins["message"]
    assert ins["facts"]["ratio"] > 3


def test_a_clean_run_says_so_with_its_numbers():
    got = kinds(make_result([10.0] * 30))
    assert set(got) == {"steady"}
    assert got["steady"]["facts"]["rps"] == 200 and "200 req/s" in got["steady"]["message"]


def test_latency_drift_over_the_run():
    got = kinds(make_result(list(np.linspace(10, 30, 30))))
    assert got["latency_drift"]["facts"]["ratio"] > 2


# ---------------------------------------------------------------- comparison statistics
def test_average_ranks_with_ties():
    assert compare.average_ranks(np.array([10, 20, 20, 5])).tolist() == [2.0, 3.5, 3.5, 1.0]


def test_mann_whitney_normal_approximation():
    # U = 0 for complete separation of 3 vs 3: z = (4.5 - 0.5) / sqrt(9 * 7 / 12)
    want = math.erfc(4 / math.sqrt(9 * 7 / 12) / math.sqrt(2))
    assert compare.mann_whitney_p([1, 2, 3], [4, 5, 6]) == pytest.approx(want)
    assert compare.mann_whitney_p([1, 2, 3, 4], [1, 2, 3, 4]) == 1.0
    rng = np.random.default_rng(0)
    assert compare.mann_whitney_p(rng.normal(0, 1, 50), rng.normal(1, 1, 50)) < 1e-4


def test_two_proportion_test():
    assert compare.two_proportion_p(10, 1000, 10, 1000) == 1.0
    assert compare.two_proportion_p(0, 1000, 50, 1000) < 1e-6


def test_compare_synthetic_runs():
    base = make_result([10.0] * 30, seed=1)
    assert compare.compare(analyze(base), analyze(make_result([10.0] * 30, seed=2)))["verdict"] == "unchanged"
    slower = compare.compare(analyze(base), analyze(make_result([13.0] * 30, seed=3)))
    assert slower["verdict"] == "regressed"
    p50 = next(m for m in slower["metrics"] if m["metric"] == "p50Ms")
    assert p50["deltaPct"] == pytest.approx(30, abs=2) and p50["significant"]
    assert compare.compare(analyze(base), analyze(make_result([7.0] * 30, seed=4)))["verdict"] == "improved"
    # 5% slower is real (significant) but inside the 10% tolerance
    small = compare.compare(analyze(base), analyze(make_result([10.5] * 30, seed=5)))
    assert small["verdict"] == "unchanged"
    assert compare.compare(analyze(base), analyze(make_result([10.5] * 30, seed=5)), tolerance=0.02)["verdict"] == "regressed"


def test_compare_short_runs_falls_back_to_histogram_intervals():
    base = make_result([10.0] * 2, requests_per_second=2000, seed=1)
    c = compare.compare(analyze(base), analyze(make_result([13.0] * 2, requests_per_second=2000, seed=2)))
    p50 = next(m for m in c["metrics"] if m["metric"] == "p50Ms")
    assert "intervals" in p50["method"] and c["verdict"] == "regressed"
    same = compare.compare(analyze(base), analyze(make_result([10.0] * 2, requests_per_second=2000, seed=3)))
    assert same["verdict"] == "unchanged"

