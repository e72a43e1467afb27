"""The native HDR histogram: accuracy against numpy, exact merging, HdrHistogram interop."""
import numpy as np
import pytest

from lunge._native.hist import COUNTS_LEN, HIGHEST, Histogram, HistogramFormatError
from lunge.results import decode_hist, encode_hist

N = 1_000_000
PS = [1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99]


def samples(kind, rng):
    if kind == "lognormal":      # a typical latency shape: median 1 ms, long tail
        return rng.lognormal(np.log(1e6), 0.8, N)
    if kind == "exponential":
        return rng.exponential(5e6, N) + 50e3
    if kind == "uniform":
        return rng.uniform(10e3, 2e9, N)
    if kind == "bimodal":        # cache hits and misses (40/60, so no percentile falls in the gap)
        hits = int(N * 0.4)
        return np.concatenate([rng.normal(300e3, 30e3, hits), rng.normal(40e6, 4e6, N - hits)])
    raise ValueError(kind)


@pytest.mark.parametrize("kind", ["lognormal", "exponential", "uniform", "bimodal"])
def test_percentiles_within_0_1_percent_of_numpy(kind):
    rng = np.random.default_rng(42)
    values = np.maximum(samples(kind, rng), 1).astype(np.int64)
    h = Histogram()
    h.record_array(values)
    assert h.total == N
    got = h.percentiles(PS)
    exact = np.percentile(values, PS)
    rel = np.abs(got - exact) / exact
    assert rel.max() < 1e-3, dict(zip(PS, rel))
    assert h.min_ns == values.min() and h.max_ns == values.max()
    assert h.mean_ns() == pytest.approx(values.mean(), rel=1e-12)
    assert h.stddev_ns() == pytest.approx(values.std(), rel=1e-6)


def test_merge_equals_histogram_of_both_sample_sets():
    rng = np.random.default_rng(7)
    a = rng.lognormal(np.log(2e6), 1.0, 300_000).astype(np.int64)
    b = rng.exponential(1e5, 200_000).astype(np.int64) + 1
    ha, hb, both = Histogram(), Histogram(), Histogram()
    ha.record_array(a)
    hb.record_array(b)
    both.record_array(np.concatenate([a, b]))
    merged = ha.copy().add(hb)
    assert merged == both
    assert merged.total == 500_000
    assert np.array_equal(merged.percentiles(PS), both.percentiles(PS))
    assert ha.total == 300_000  # copy() left the original alone


def test_values_above_one_hour_are_counted_not_dropped():
    h = Histogram()
    h.record(5)
    h.record(HIGHEST * 3)
    assert h.total == 2 and h.overflow == 1
    assert h.max_ns == HIGHEST * 3
    assert h.counts().sum() == 2


def test_encode_decode_roundtrip_is_exact():
    rng = np.random.default_rng(1)
    h = Histogram()
    h.record_array(rng.lognormal(np.log(1e6), 2.0, 100_000).astype(np.int64) + 1)
    text = h.encode()
    assert text.startswith("HISTF")
    back = decode_hist(encode_hist(h))
    assert back == h
    assert np.array_equal(Histogram.decode(text).counts(), h.counts())


def test_empty_histogram_roundtrip():
    h = Histogram()
    assert decode_hist(encode_hist(h)) == h
    assert list(h.percentiles([50, 99])) == [0, 0]


def test_readable_by_hdrhistogram_library():
    """Our encoding is HdrHistogram's V2: the reference Python port decodes it."""
    hdrh = pytest.importorskip("hdrh.histogram")
    rng = np.random.default_rng(3)
    values = rng.lognormal(np.log(5e6), 0.5, 50_000).astype(np.int64)
    h = Histogram()
    h.record_array(values)
    theirs = hdrh.HdrHistogram.decode(h.encode())
    assert theirs.get_total_count() == h.total
    for p in (50, 90, 99):
        assert theirs.get_value_at_percentile(p) == pytest.approx(h.percentile(p), rel=1e-3)


def test_garbage_is_refused_with_a_format_error():
    with pytest.raises(HistogramFormatError):
        Histogram.decode("not base64 at all!")
    with pytest.raises(HistogramFormatError):
        Histogram.decode("SElTVEZBQUFB")


def test_layout():
    assert COUNTS_LEN == 33 * 1024
