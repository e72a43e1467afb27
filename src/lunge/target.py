"""The embedded target: a small HTTP/1.1 server that lunge ships for demos and tests.

Run it with `lunge serve [--port N]`. Behaviour is chosen by the path, so one server
covers every scenario:

  /                       200 "ok\\n"
  /delay/MS               answers after MS milliseconds
  /status/CODE            answers with that status
  /mix/200:7,404:2,503:1  cycles through the statuses in that exact proportion
                          (per mix string: 10 requests give exactly 7, 2 and 1)
  /bytes/N                a body of N bytes
  /hang                   reads the request and never answers
  /echo                   answers with the request's method, headers and body as JSON
  /items, /items/ID       a tiny JSON store (POST creates, GET/PUT/PATCH/DELETE by id)
  /login                  POST: 200 {"token": "..."}, a new bearer token each time (flows log in)
  /orders                 POST with `Authorization: Bearer TOKEN` (one /login issued): 201 and
                          Location /orders/N; without a token this server issued: 401
  /__lunge/stats          JSON: requests served, by path and method (not counted itself)
  /__lunge/reset          zeroes the counters (not counted)
  /__lunge/pause/MS       holds every response (pending or new) for MS milliseconds from now:
                          a stalled server, for coordinated-omission checks (not counted)

Every request except /__lunge/* is counted the moment its head is parsed, so a test can
compare lunge's count with the server's.  Loopback only by default.
"""
from __future__ import annotations

import asyncio
import collections
import hashlib
import hmac
import itertools
import json
import os
import signal
import socket
import sys

_REASONS = {200: "OK", 201: "Created", 204: "No Content", 301: "Moved Permanently",
            302: "Found", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
            500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


class Stats:
    def __init__(self):
        self.reset()

    def reset(self):
        self.requests = 0
        self.by_path: collections.Counter[str] = collections.Counter()
        self.by_method: collections.Counter[str] = collections.Counter()
        self.connections = 0

    def as_dict(self):
        return {"requests": self.requests, "byPath": dict(self.by_path),
                "byMethod": dict(self.by_method), "connections": self.connections}


class Target:
    def __init__(self):
        self.stats = Stats()
        self.mixes: dict[str, itertools.cycle] = {}
        self.items: dict[str, dict] = {}
        self.next_id = 1
        # Tokens are signed, not stored: a long flow run issues millions without growing memory.
        self.key = os.urandom(16)
        self.tokens = itertools.count(1)
        self.next_order = 1
        self.paused_until = 0.0  # loop time before which no response is written

    # -- routing: returns (status, headers, body) or None to never answer
    def route(self, method: str, path: str, headers: dict, body: bytes):
        path, _, _query = path.partition("?")
        if path.startswith("/__lunge/"):
            if path == "/__lunge/reset":
                self.stats.reset()
                self.mixes.clear()
                self.paused_until = 0.0
            if path.startswith("/__lunge/pause/"):
                ms = float(path.rsplit("/", 1)[1] or 0)
                self.paused_until = asyncio.get_running_loop().time() + ms / 1000.0
                return 200, {"Content-Type": "application/json"}, b'{"paused": true}'

            return 200, {"Content-Type": "application/json"}, json.dumps(self.stats.as_dict()).encode()
        self.stats.requests += 1
        self.stats.by_path[path] += 1
        self.stats.by_method[method] += 1
        parts = [p for p in path.split("/") if p]
        head = parts[0] if parts else ""
        if head == "status" and len(parts) == 2 and parts[1].isdigit():
            return int(parts[1]), {}, b"status\n"
        if head == "mix" and len(parts) == 2:
            cyc = self.mixes.get(parts[1])
            if cyc is None:
                cyc = self.mixes[parts[1]] = itertools.cycle(_parse_mix(parts[1]))
            return next(cyc), {}, b"mix\n"
        if head == "bytes" and len(parts) == 2 and parts[1].isdigit():
            return 200, {"Content-Type": "application/octet-stream"}, b"x" * min(int(parts[1]), 1 << 28)
        if head == "hang":
            return None
        if head == "echo":
            doc = {"method": method, "path": path, "query": _query, "headers": headers,
                   "body": body.decode("utf-8", "replace")}
            return 200, {"Content-Type": "application/json"}, json.dumps(doc).encode()
        if head == "items":
            return self.items_route(method, parts[1:], headers, body)
        js = {"Content-Type": "application/json"}
        if head == "login" and len(parts) == 1:
            if method != "POST":
                return 405, js, b'{"error": "method not allowed"}'
            n = next(self.tokens)
            return 200, js, json.dumps({"token": f"t{n}.{self._sign(n)}"}).encode()
        if head == "orders" and len(parts) == 1:
            if not self._authorized(headers):
                return 401, js, b'{"error": "missing or unknown bearer token"}'
            if method != "POST":
                return 405, js, b'{"error": "method not allowed"}'
            oid, self.next_order = self.next_order, self.next_order + 1
            return 201, {**js, "Location": f"/orders/{oid}"}, json.dumps({"id": oid}).encode()
        return 200, {"Content-Type": "text/plain"}, b"ok\n"

    def _sign(self, n: int) -> str:
        return hmac.new(self.key, str(n).encode(), hashlib.sha256).hexdigest()[:16]

    def _authorized(self, headers: dict) -> bool:
        auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        scheme, _, token = auth.partition(" ")
        n, _, sig = token.strip().partition(".")
        return scheme.lower() == "bearer" and n[:1] == "t" and n[1:].isdigit() \
            and hmac.compare_digest(sig, self._sign(int(n[1:])))

    def items_route(self, method, rest, headers, body):
        js = {"Content-Type": "application/json"}
        if not rest:
            if method == "POST":
                try:
                    doc = json.loads(body or b"{}")
                except ValueError:
                    return 400, js, b'{"error": "body is not JSON"}'
                if not isinstance(doc, dict):
                    return 400, js, b'{"error": "body must be a JSON object"}'
                doc = {**doc, "id": str(self.next_id)}
                self.items[doc["id"]] = doc
                self.next_id += 1
                return 201, {**js, "Location": f"/items/{doc['id']}"}, json.dumps(doc).encode()
            if method == "GET":
                return 200, js, json.dumps(list(self.items.values())).encode()
            return 405, js, b'{"error": "method not allowed"}'
        item = self.items.get(rest[0])
        if item is None:
            return 404, js, b'{"error": "no such item"}'
        if method == "GET":
            return 200, js, json.dumps(item).encode()
        if method in ("PUT", "PATCH"):
            try:
                doc = json.loads(body or b"{}")
            except ValueError:
                return 400, js, b'{"error": "body is not JSON"}'
            item = ({} if method == "PUT" else item) | doc | {"id": rest[0]}
            self.items[rest[0]] = item
            return 200, js, json.dumps(item).encode()
        if method == "DELETE":
            del self.items[rest[0]]
            return 204, {}, b""
        return 405, js, b'{"error": "method not allowed"}'


def _parse_mix(spec: str) -> list[int]:
    seq: list[int] = []
    for part in spec.split(","):
        code, _, weight = part.partition(":")
        seq += [int(code)] * int(weight or 1)
    if not seq:
        raise ValueError(f"empty mix {spec!r}")
    return seq


def _delay_of(path: str) -> float:
    parts = [p for p in path.partition("?")[0].split("/") if p]
    if len(parts) == 2 and parts[0] == "delay":
        try:
            return max(0.0, float(parts[1])) / 1000.0
        except ValueError:
            return 0.0
    return 0.0


class _Conn(asyncio.Protocol):
    def __init__(self, target: Target):
        self.t = target
        self.buf = bytearray()
        self.busy = False  # a delayed or hung response holds the connection (no pipelining)
        self.transport: asyncio.Transport = None  # type: ignore[assignment]  # from connection_made(), called first

    def connection_made(self, transport):
        self.transport = transport
        self.t.stats.connections += 1
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data):
        self.buf += data
        if not self.busy:
            self.process()

    def process(self):
        while not self.busy:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > 65536:
                    self.transport.close()
                return
            head = bytes(self.buf[:end]).decode("latin-1")
            lines = head.split("\r\n")
            try:
                method, path, version = lines[0].split(" ", 2)
            except ValueError:
                self.transport.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                self.transport.close()
                return
            headers = {}
            for line in lines[1:]:
                k, _, v = line.partition(":")
                headers[k.strip()] = v.strip()
            lower = {k.lower(): v for k, v in headers.items()}
            if lower.get("transfer-encoding", "").lower() == "chunked":
                body, consumed = _dechunk(self.buf, end + 4)
                if body is None:
                    return  # wait for the rest
            else:
                n = int(lower.get("content-length", "0") or 0)
                if len(self.buf) < end + 4 + n:
                    return
                body, consumed = bytes(self.buf[end + 4:end + 4 + n]), end + 4 + n
            del self.buf[:consumed]
            close = lower.get("connection", "").lower() == "close" or version == "HTTP/1.0"
            answer = self.t.route(method, path, headers, body)
            if answer is None:  # /hang
                self.busy = True
                return
            admin = path.startswith("/__lunge/")
            delay = _delay_of(path)
            if not admin:
                delay = max(delay, self.t.paused_until - asyncio.get_running_loop().time())
            if delay > 0:
                self.busy = True
                asyncio.get_running_loop().call_later(delay, self.respond, answer, method, close, True)
                return
            self.respond(answer, method, close, False, admin)

    def respond(self, answer, method, close, resume, admin=False):
        if self.transport.is_closing():
            return
        hold = self.t.paused_until - asyncio.get_running_loop().time()
        if hold > 0 and not admin:  # a pause began while this response waited
            asyncio.get_running_loop().call_later(hold, self.respond, answer, method, close, resume)
            return
        status, headers, body = answer
        out = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
        for k, v in headers.items():
            out.append(f"{k}: {v}")
        out.append(f"Content-Length: {len(body)}")
        if close:
            out.append("Connection: close")
        head = ("\r\n".join(out) + "\r\n\r\n").encode("latin-1")
        self.transport.write(head if method == "HEAD" else head + body)
        if close:
            self.transport.close()
            return
        if resume:
            self.busy = False
            self.process()


def _dechunk(buf: bytearray, pos: int):
    body = bytearray()
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return None, 0
        size = int(bytes(buf[pos:eol]).split(b";")[0] or b"0", 16)
        pos = eol + 2
        if size == 0:
            end = buf.find(b"\r\n", pos)
            return (bytes(body), end + 2) if end >= 0 else (None, 0)
        if len(buf) < pos + size + 2:
            return None, 0
        body += buf[pos:pos + size]
        pos += size + 2


async def serve(host: str = "127.0.0.1", port: int = 0, ready=None) -> None:
    """Serve until cancelled or signalled. `ready(port)` is called once listening."""
    target = Target()
    loop = asyncio.get_running_loop()
    # reuse_address: asyncio's default, on POSIX only (on Windows SO_REUSEADDR lets another socket take the port)
    server = await loop.create_server(lambda: _Conn(target), host, port, backlog=4096, reuse_address=None)
    bound = server.sockets[0].getsockname()[1]
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    if ready:
        ready(bound)
    async with server:
        await stop.wait()


def main(host: str = "127.0.0.1", port: int = 0) -> None:
    def ready(bound):
        # The first line on stdout is the port: scripts and tests read it.
        print(bound, flush=True)
        print(f"lunge target listening on http://{host}:{bound}/ (pid {os.getpid()})", file=sys.stderr, flush=True)

    asyncio.run(serve(host, port, ready))


if __name__ == "__main__":
    main(port=int(sys.argv[1]) if len(sys.argv) > 1 else 0)


def first_line(stream, timeout: float) -> str:
    """The stream's next line, or "" if none came within timeout seconds.  Windows' select takes
    sockets only: there a thread reads it (and ends when the stream closes)."""
    if os.name == "posix":
        import select

        ready, _, _ = select.select([stream], [], [], timeout)
        return stream.readline() if ready else ""
    import threading

    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return got[0] if got else ""


class Spawned:
    """A target in a child process (so it never competes with the engine for the GIL)."""

    def __init__(self, host: str = "127.0.0.1"):
        import subprocess

        self.host = host
        self.proc = subprocess.Popen([sys.executable, "-m", "lunge.target", "0"], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        assert self.proc.stdout is not None  # stdout=PIPE
        line = first_line(self.proc.stdout, 30)  # bounded: never hang
        if not line.strip().isdigit():
            self.stop()
            raise RuntimeError("the embedded target did not start")
        self.port = int(line)
        self.url = f"http://{host}:{self.port}"

    def stats(self) -> dict:
        import urllib.request

        with urllib.request.urlopen(f"{self.url}/__lunge/stats", timeout=5) as r:
            return json.load(r)

    def reset(self) -> None:
        import urllib.request

        urllib.request.urlopen(f"{self.url}/__lunge/reset", timeout=5).read()

    def pause(self, ms: float) -> None:
        """Hold every response for `ms` milliseconds from now (a stalled server)."""
        import urllib.request

        urllib.request.urlopen(f"{self.url}/__lunge/pause/{ms:g}", timeout=5).read()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except Exception:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
