"""Resource monitor: the generator's own CPU, memory, descriptors and the host's network,
sampled with psutil once a second during a run (perf-design.md's Resource Monitor).

It only reads /proc-style counters; it never touches the engine or the requests.  Its
series goes into the result (`resources`), its warnings into the result and the console.
"""
from __future__ import annotations

import os
import resource
import time

import psutil

CPU_BOUND_PERCENT = 90.0   # Locust's watchdog threshold: above it the generator bounds the results
CPU_BOUND_SECONDS = 3      # ... for this many seconds in a row
FD_NEAR_LIMIT = 0.8        # warn when open descriptors pass this share of the soft limit
TIME_WAIT_SHARE = 0.5      # warn when TIME_WAIT sockets pass this share of the ephemeral port range


def ephemeral_ports() -> int:
    """Size of the local port range new outgoing connections draw from (Linux; else IANA's)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = map(int, f.read().split())
        return hi - lo + 1
    except (OSError, ValueError):
        return 65535 - 49152 + 1


def time_wait_sockets() -> int | None:
    """TIME_WAIT sockets on the host.  Linux: one line of /proc/net/sockstat (cheap at any
    connection count); elsewhere psutil's connection table, which may need privileges."""
    try:
        with open("/proc/net/sockstat") as f:
            for line in f:
                if line.startswith("TCP:"):
                    fields = line.split()
                    return int(fields[fields.index("tw") + 1])
    except (OSError, ValueError, IndexError):
        pass
    try:
        return sum(1 for c in psutil.net_connections("tcp") if c.status == psutil.CONN_TIME_WAIT)
    except (psutil.Error, OSError):
        return None


class ResourceMonitor:
    """Call `sample(t)` about once a second; `series` holds one dict per call."""

    def __init__(self, pid: int | None = None):
        self.proc = psutil.Process(pid or os.getpid())
        self.fd_limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        self.ports = ephemeral_ports()
        self.series: list[dict] = []
        self.warnings: list[str] = []  # in the order they were raised, each once
        self._hot = 0                  # consecutive seconds above CPU_BOUND_PERCENT
        # The first cpu_percent() calls only set the reference point for the next ones.
        self.proc.cpu_percent(None)
        psutil.cpu_percent(None, percpu=True)
        self._net = psutil.net_io_counters()
        self._t = time.monotonic()
        self._conns_next = 0.0         # when the connection table may be read again

    def _established(self, now: float) -> int | None:
        """lunge's ESTABLISHED connections.  psutil reads the host's whole TCP table for it,
        which at tens of thousands of sockets takes tens of ms: then read it less often, so
        that it stays under ~1% of a core (null in the seconds in between)."""
        if now < self._conns_next:
            return None
        t0 = time.perf_counter()
        try:
            n = sum(1 for c in self.proc.net_connections("tcp") if c.status == psutil.CONN_ESTABLISHED)
        except (psutil.Error, OSError):
            n = None
        cost = time.perf_counter() - t0
        self._conns_next = now + (cost * 100 if cost > 0.005 else 0.0)
        return n

    def sample(self, t: float) -> dict:
        now = time.monotonic()
        dt = max(now - self._t, 1e-3)
        net = psutil.net_io_counters()
        with self.proc.oneshot():
            cpu = self.proc.cpu_percent(None)
            rss = self.proc.memory_info().rss
            fds = self.proc.num_fds() if hasattr(self.proc, "num_fds") else None
            established = self._established(now)
        row = {
            "t": round(t, 3),
            "cpuPercent": round(cpu, 1),
            "rssBytes": rss,
            "systemCpuPercent": [round(c, 1) for c in psutil.cpu_percent(None, percpu=True)],
            "netBytesSentPerSec": round((net.bytes_sent - self._net.bytes_sent) / dt, 1),
            "netBytesRecvPerSec": round((net.bytes_recv - self._net.bytes_recv) / dt, 1),
            "netPacketsSentPerSec": round((net.packets_sent - self._net.packets_sent) / dt, 1),
            "netPacketsRecvPerSec": round((net.packets_recv - self._net.packets_recv) / dt, 1),
            "openFds": fds,
            "tcpEstablished": established,
            "tcpTimeWait": time_wait_sockets(),
        }
        self._net, self._t = net, now
        self.series.append(row)
        self._check(row)
        return row

    def _warn(self, key: str, text: str) -> None:
        if not any(w.startswith(key) for w in self.warnings):
            self.warnings.append(text)

    def _check(self, row: dict) -> None:
        self._hot = self._hot + 1 if row["cpuPercent"] > CPU_BOUND_PERCENT else 0
        if self._hot >= CPU_BOUND_SECONDS:
            self._warn("generator_cpu", f"generator_cpu: lunge used more than {CPU_BOUND_PERCENT:g}% CPU for "
                                        f"{self._hot}s from t={row['t'] - self._hot + 1:.0f}s: results are bounded "
                                        f"by the generator, not the target (fewer connections, or more generators)")
        fds = row["openFds"]
        if fds is not None and self.fd_limit != resource.RLIM_INFINITY and fds > FD_NEAR_LIMIT * self.fd_limit:
            self._warn("file_descriptors", f"file_descriptors: {fds} open of a limit of {self.fd_limit} at "
                                           f"t={row['t']:.0f}s; raise it (ulimit -n) or lower --concurrency")
        tw = row["tcpTimeWait"]
        if tw is not None and tw > TIME_WAIT_SHARE * self.ports:
            self._warn("ephemeral_ports", f"ephemeral_ports: {tw} sockets in TIME_WAIT of {self.ports} local ports "
                                          f"at t={row['t']:.0f}s: new connections may fail; keep connections "
                                          f"alive (is the server closing them?) or widen net.ipv4.ip_local_port_range")
