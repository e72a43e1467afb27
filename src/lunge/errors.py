"""The error types of perf-design.md, and the exit status each maps to.

Exit status: 0 done; 1 a threshold failed (`threshold_exceeded`); 2 usage or configuration
error (one line on stderr, no traceback); 130 interrupted.
"""
from __future__ import annotations

CONCURRENCY_LIMIT = "concurrency_limit"
RATE_LIMIT = "rate_limit"
RESOURCE_LIMIT = "resource_limit"
THRESHOLD = "threshold_exceeded"
CONFIGURATION = "configuration_error"

EXIT_OK = 0
EXIT_THRESHOLD = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


_LINE_BREAKS = "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"  # what str.splitlines() splits on


class LungeError(Exception):
    """A failure the user can act on: printed as one line, never as a traceback."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, type: str = CONFIGURATION, cause: BaseException | None = None):
        # One line whatever the message quotes (a config key or value with a line break).
        for ch in _LINE_BREAKS:
            message = message.replace(ch, repr(ch)[1:-1])
        super().__init__(message)
        self.type = type
        self.message = message
        self.cause = cause


class ConfigError(LungeError):
    """Bad flags, config values or URLs: names the field or value."""
