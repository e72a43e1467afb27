"""Analysis: everything computed from a RunResult after the run — statistics, anomalies,
insights, thresholds and comparisons with a baseline."""
