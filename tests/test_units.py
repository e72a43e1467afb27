import pytest

from lunge.errors import ConfigError
from lunge.units import parse_duration


@pytest.mark.parametrize("text,seconds", [("250ms", 0.25), ("30s", 30), ("5m", 300), ("1h", 3600),
                                          ("1m30s", 90), ("2", 2), ("1.5s", 1.5), ("500us", 0.0005)])
def test_durations(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["5x", "", "s", "-1s", "1s2", "ms5", "10 s"])
def test_bad_durations(text):
    with pytest.raises(ConfigError):
        parse_duration(text)
