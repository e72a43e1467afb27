import pytest

from lunge.errors import ConfigError
from lunge.units import parse_duration, parse_size


@pytest.mark.parametrize("text,seconds", [("250ms", 0.25), ("30s", 30), ("5m", 300), ("1h", 3600),
                                          ("1m30s", 90), ("2", 2), ("1.5s", 1.5), ("500us", 0.0005)])
def test_durations(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["5x", "", "s", "-1s", "1s2", "ms5", "10 s"])
def test_bad_durations(text):
    with pytest.raises(ConfigError):
        parse_duration(text)


HUGE = 10 ** 400  # a JSON integer beyond a float's range: float() raises OverflowError


@pytest.mark.parametrize("value", [HUGE, -HUGE, "9" * 400, "9" * 400 + "h", float("inf"), float("nan")])
def test_out_of_range_durations_name_the_field(value):
    with pytest.raises(ConfigError, match=r"^\$\.requests\.r\.timeout: .* out of range"):
        parse_duration(value, "$.requests.r.timeout")


@pytest.mark.parametrize("value", [HUGE, "9" * 400, "9" * 400 + "TiB", 2 ** 63, float("inf")])
def test_out_of_range_sizes_name_the_field(value):
    with pytest.raises(ConfigError, match=r"^limits\.maxRss: .* out of range"):
        parse_size(value, "limits.maxRss")
    assert parse_size(2 ** 62, "limits.maxRss") == 2 ** 62
