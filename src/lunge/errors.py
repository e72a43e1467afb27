"""The error types of the original design, and the exit status each maps to.

Exit status: 0 done; 1 a threshold failed (`threshold_exceeded`); 2 usage or configuration
error (one line on stderr, no traceback), or a concurrency refused (`concurrency_limit`);
3 stopped early because the target kept failing (`error_rate_abort`, --max-error-rate-abort);
4 stopped early because lunge passed --max-memory (`resource_limit`); 70 a failure inside
lunge (`internal_error`: the engine failed, no usable libcurl); 74 a report that could not be
written after the run (`report_error`); 130 interrupted.
The runs stopped early (3, 4, 130) still write their report, marked `interrupted`.

Bad input is a ConfigError; what fails inside lunge is not bad input (InternalError,
ReportError). lunge.cli.main is the one place that turns any of them into a line and a status.
"""
from __future__ import annotations

CONCURRENCY_LIMIT = "concurrency_limit"
RATE_LIMIT = "rate_limit"
RESOURCE_LIMIT = "resource_limit"
THRESHOLD = "threshold_exceeded"
CONFIGURATION = "configuration_error"
ERROR_RATE_ABORT = "error_rate_abort"
INTERNAL = "internal_error"
REPORT = "report_error"

EXIT_OK = 0
EXIT_THRESHOLD = 1
EXIT_USAGE = 2
EXIT_ERROR_RATE_ABORT = 3
EXIT_RESOURCE_LIMIT = 4
EXIT_INTERNAL = 70     # EX_SOFTWARE
EXIT_REPORT = 74       # EX_IOERR
EXIT_INTERRUPTED = 130
# A run a protection stopped early: its error type -> exit status.
STOP_EXIT = {ERROR_RATE_ABORT: EXIT_ERROR_RATE_ABORT, RESOURCE_LIMIT: EXIT_RESOURCE_LIMIT}


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


class InternalError(LungeError):
    """A failure inside lunge, not the user's input: the engine failed, no usable libcurl."""

    exit_code = EXIT_INTERNAL

    def __init__(self, message: str, cause: BaseException | None = None):
        super().__init__(message, type=INTERNAL, cause=cause)


class ReportError(LungeError):
    """A report that could not be written once the run was done."""

    exit_code = EXIT_REPORT

    def __init__(self, message: str, cause: BaseException | None = None):
        super().__init__(message, type=REPORT, cause=cause)
