"""lunge: an HTTP API tool for the terminal with a native load tester (`lunge perf`)."""

__version__ = "0.1.0"
