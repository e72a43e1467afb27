"""Live metrics for Prometheus (`lunge perf --metrics-port PORT`): a hook that serves the
latest one-second view at http://127.0.0.1:PORT/metrics with prometheus_client.

The values are the view's (lunge.live.view), so a scrape costs the engine nothing: the HTTP
server runs in its own thread and only reads the last view.
"""
from __future__ import annotations

from lunge.errors import ConfigError


class Exporter:
    def __init__(self, port: int, host: str = "127.0.0.1"):
        from prometheus_client import CollectorRegistry, start_http_server

        self.view: dict | None = None
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)
        try:
            self.server, self._thread = start_http_server(port, addr=host, registry=self.registry)
        except OSError as e:
            raise ConfigError(f"--metrics-port: cannot listen on {host}:{port} ({e.strerror})") from None
        self.port = self.server.server_port
        self.url = f"http://{host}:{self.port}/metrics"

    # ------------------------------------------------------------------ hook methods
    def on_second(self, view: dict) -> None:
        self.view = view

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------------ collector
    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        v = self.view
        if v is None:
            return
        for name, key, doc in (("requests_issued", "issued", "requests sent"),
                               ("requests_completed", "completed", "requests completed (responses and errors)"),
                               ("requests_failed", "failures", "transport errors and statuses >= 400"),
                               ("transport_errors", "errors", "requests that got no response"),
                               ("received_bytes", "bytes", "bytes received, headers and bodies")):
            yield CounterMetricFamily(f"lunge_{name}", doc, value=v[key])
        status = CounterMetricFamily("lunge_responses", "completions by status class", labels=["class"])
        for cls, n in v["statusClasses"].items():
            status.add_metric([cls], n)
        yield status
        versions = CounterMetricFamily("lunge_http_responses", "responses by the HTTP version they came over "
                                       "(docs/http3.md)", labels=["version"])
        for version, n in v.get("httpVersions", {}).items():
            versions.add_metric([version], n)
        yield versions
        gauges = [("elapsed_seconds", v["elapsed"], "seconds since the run started"),
                  ("requests_per_second", v["rps"], "completions in the last second"),
                  ("in_flight_requests", v["inFlight"], "requests in flight"),
                  ("connections", v["connections"], "connections the engine holds")]
        if v["targetRps"] is not None:
            gauges.append(("target_requests_per_second", v["targetRps"], "the open model's scheduled rate"))
        res = v["resources"]
        if res:
            gauges += [("process_cpu_percent", res["cpuPercent"], "lunge's CPU, % of the cores it may use"),
                       ("process_cpu_cores", res["cpuCores"], "lunge's CPU, in cores (CPU seconds per second)"),
                       ("process_resident_memory_bytes", res["rssBytes"], "lunge's resident memory")]
        for name, value, doc in gauges:
            yield GaugeMetricFamily(f"lunge_{name}", doc, value=value)
        lat = GaugeMetricFamily("lunge_latency_seconds", "response time percentiles", labels=["window", "quantile"])
        for window, d in (("last_second", v["lastSecond"]), ("cumulative", v["cumulative"])):
            for p in (50, 95, 99):
                if d and f"p{p}Ms" in d:
                    lat.add_metric([window, f"{p / 100:g}"], d[f"p{p}Ms"] / 1e3)
        yield lat
