"""Resource monitor: the generator's own CPU, memory, descriptors and the host's network,
sampled with psutil once a second during a run (the original design's Resource Monitor).

It only reads /proc-style counters; it never touches the engine or the requests.  Its
series goes into the result (`resources`), its warnings into the result and the console.
"""
from __future__ import annotations

import os
import socket
import struct
import time

import psutil

try:
    import resource
except ImportError:  # Windows: no descriptor limit (sockets are handles), so no warning near one
    resource = None  # type: ignore[assignment]

CPU_BOUND_PERCENT = 90.0   # of the usable cores (Locust's watchdog threshold): the generator bounds the results
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


def usable_cores(proc: psutil.Process) -> int:
    """The cores `proc` may run on (its CPU affinity: a container's or taskset's share), else the host's."""
    try:
        return len(proc.cpu_affinity()) or 1
    except (AttributeError, psutil.Error, OSError):  # macOS: no affinity
        return psutil.cpu_count() or 1


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


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    fd_dir = f"/proc/{pid}/fd"
    for fd in os.listdir(fd_dir):
        try:
            link = os.readlink(f"{fd_dir}/{fd}")
        except OSError:  # closed meanwhile
            continue
        if link.startswith("socket:["):
            inodes.add(int(link[8:-1]))
    return inodes


def established_linux(pid: int) -> int:
    """ESTABLISHED TCP sockets of process `pid`: the kernel lists its established sockets over
    netlink (sock_diag, filtered by state in the kernel), matched by inode with the process's
    socket descriptors.  /proc/net/tcp (psutil's way) makes the kernel print every socket of
    the host, TIME_WAIT included: about 10 ms of CPU per thousand."""
    mine = _socket_inodes(pid)
    n = 0
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 4) as s:  # NETLINK_SOCK_DIAG
        for seq, family in enumerate((socket.AF_INET, socket.AF_INET6), 1):
            # inet_diag_req_v2: family, protocol, ext, pad, states bitmask (1 << TCP_ESTABLISHED), 48-byte id
            req = struct.pack("=BBBxI", family, socket.IPPROTO_TCP, 0, 1 << 1) + bytes(48)
            s.send(struct.pack("=IHHII", 16 + len(req), 20, 0x301, seq, 0) + req)  # SOCK_DIAG_BY_FAMILY, REQUEST|DUMP
            done = False
            while not done:
                buf = s.recv(65536)
                off = 0
                while off + 16 <= len(buf):
                    length, kind = struct.unpack_from("=IH", buf, off)
                    if kind == 3 or length < 16:  # NLMSG_DONE (or a malformed message: stop)
                        done = True
                        break
                    if kind == 2:  # NLMSG_ERROR
                        raise OSError("sock_diag refused the request")
                    # inet_diag_msg: 4 bytes, 48-byte id, expires, rqueue, wqueue, uid, then the inode
                    if struct.unpack_from("=I", buf, off + 16 + 68)[0] in mine:
                        n += 1
                    off += (length + 3) & ~3
    return n


class ResourceMonitor:
    """Call `sample(t)` about once a second; `series` holds one dict per call."""

    def __init__(self, pid: int | None = None):
        self.proc = psutil.Process(pid or os.getpid())
        self.cores = usable_cores(self.proc)
        self.fd_limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0] if resource is not None else None
        self.ports = ephemeral_ports()
        self.series: list[dict] = []
        self.warnings: list[str] = []  # in the order they were raised, each once
        self._hot = 0                  # consecutive seconds above CPU_BOUND_PERCENT
        # Reference points for the first sample (the first psutil.cpu_percent() call only sets one).
        self._cpu = self._cpu_seconds()
        psutil.cpu_percent(None, percpu=True)
        self._net = psutil.net_io_counters()
        self._t = time.monotonic()
        self._conns_next = 0.0         # when the connection table may be read again
        self._established(0.0)         # the first read pays for psutil's set-up: not a fair cost
        self._conns_next = 0.0

    def _cpu_seconds(self) -> float:
        t = self.proc.cpu_times()
        return t.user + t.system

    def _established(self, now: float) -> int | None:
        """lunge's ESTABLISHED connections.  psutil reads the host's whole TCP table for it,
        which at tens of thousands of sockets costs tens of ms of CPU: then read it less often, so
        that it stays under ~1% of a core (null in the seconds in between)."""
        if now < self._conns_next:
            return None
        t0 = time.thread_time()  # CPU time, so a busy host's preemptions do not count as cost
        try:
            n = established_linux(self.proc.pid)
        except (OSError, AttributeError, struct.error):  # not Linux (no AF_NETLINK), or no /proc
            try:
                n = sum(1 for c in self.proc.net_connections("tcp") if c.status == psutil.CONN_ESTABLISHED)
            except (psutil.Error, OSError):
                n = None
        cost = time.thread_time() - t0
        self._conns_next = now + (cost * 100 if cost > 0.01 else 0.0)
        return n

    def sample(self, t: float) -> dict:
        now = time.monotonic()
        dt = max(now - self._t, 1e-3)
        net = psutil.net_io_counters()
        with self.proc.oneshot():
            cpu = self._cpu_seconds()
            rss = self.proc.memory_info().rss
            fds = self.proc.num_fds() if hasattr(self.proc, "num_fds") else None
            established = self._established(now)
        # The process cannot use more than its cores' worth: more is the counters' rounding
        # (clock ticks) over a short interval, such as the last one of a run.
        cores = min(max(cpu - self._cpu, 0.0) / dt, self.cores)
        row = {
            "t": round(t, 3),
            "cpuPercent": round(100 * cores / self.cores, 1),  # of the usable cores: 100 = all busy
            "cpuCores": round(cores, 2),
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
        self._net, self._t, self._cpu = net, now, cpu
        self.series.append(row)
        self._check(row)
        return row

    def _warn(self, key: str, text: str) -> None:
        if not any(w.startswith(key) for w in self.warnings):
            self.warnings.append(text)

    def _check(self, row: dict) -> None:
        self._hot = self._hot + 1 if row["cpuPercent"] > CPU_BOUND_PERCENT else 0
        if self._hot >= CPU_BOUND_SECONDS:
            cores = f"{self.cores} core" + ("s" if self.cores != 1 else "")
            self._warn("generator_cpu", f"generator_cpu: lunge used more than {CPU_BOUND_PERCENT:g}% of the CPU of "
                                        f"its {cores} for {self._hot}s from t={row['t'] - self._hot + 1:.0f}s: "
                                        f"results are bounded by the generator, not the target (fewer connections, "
                                        f"or more generators)")
        fds = row["openFds"]
        if fds is not None and self.fd_limit is not None and self.fd_limit != resource.RLIM_INFINITY \
                and fds > FD_NEAR_LIMIT * self.fd_limit:
            self._warn("file_descriptors", f"file_descriptors: {fds} open of a limit of {self.fd_limit} at "
                                           f"t={row['t']:.0f}s; raise it (ulimit -n) or lower --concurrency")
        tw = row["tcpTimeWait"]
        if tw is not None and tw > TIME_WAIT_SHARE * self.ports:
            self._warn("ephemeral_ports", f"ephemeral_ports: {tw} sockets in TIME_WAIT of {self.ports} local ports "
                                          f"at t={row['t']:.0f}s: new connections may fail; keep connections "
                                          f"alive (is the server closing them?) or widen net.ipv4.ip_local_port_range")
