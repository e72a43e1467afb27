"""During the run: the live view (console, progress), the resource monitor, hooks and the
Prometheus exporter, all fed by snapshots a few times a second."""
