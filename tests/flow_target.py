"""A small threaded HTTP/1.1 target for the flow engine's tests, on 127.0.0.1 and an ephemeral
port.  It records what it saw, so tests can compare it with the engine's counts:

- POST /login: 200 {"token": "<unique>"} (and the same token in an X-Token header);
- GET /me: 200 when `Authorization: Bearer <token>` names an issued token, else 403;
- GET /item/<anything>: 200 "item <anything>" (text/plain);
- GET /slow?ms=N: 200 after N ms;
- POST /echo: 200 with the request body.
"""
import json
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms delayed-ACK stall
    server: "_Server"

    def log_message(self, *args):  # quiet
        pass

    def _send(self, code, body, ctype="text/plain", extra=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _record(self, path):
        t = self.server.target
        with t.lock:
            t.paths[path] += 1
            t.header_names.update(k.lower() for k in self.headers.keys())
            t.log.append((time.monotonic(), self.command, self.path, self.headers.get("Authorization")))

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        path = urlsplit(self.path).path
        self._record(path)
        t = self.server.target
        if path == "/login":
            token = uuid.uuid4().hex
            with t.lock:
                t.issued[token] = body
            self._send(200, json.dumps({"token": token}).encode(), "application/json", [("X-Token", token)])
        elif path == "/echo":
            with t.lock:
                t.bodies.append(body)
            self._send(200, body, "application/json")
        else:
            self._send(404, b"no")

    def do_GET(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:  # a GET with a body: read, so the connection's next request starts where it should
            self.rfile.read(n)
        u = urlsplit(self.path)
        self._record(u.path if not u.path.startswith("/item/") else "/item")
        t = self.server.target
        if u.path == "/me":
            auth = self.headers.get("Authorization") or ""
            token = auth[len("Bearer "):] if auth.startswith("Bearer ") else None
            with t.lock:
                t.bearers[token] += 1
                ok = token in t.issued
            self._send(200 if ok else 403, b"me" if ok else b"forbidden")
        elif u.path.startswith("/item/"):
            name = u.path[len("/item/"):]
            with t.lock:
                t.items[name] += 1
            self._send(200, f"item {name}".encode())
        elif u.path == "/slow":
            time.sleep(int(parse_qs(u.query).get("ms", ["100"])[0]) / 1000)
            self._send(200, b"slow")
        else:
            self._send(404, b"no")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 256
    target: "FlowTarget"


class FlowTarget:
    def __init__(self):
        self.lock = threading.Lock()
        self.paths: Counter = Counter()
        self.items: Counter = Counter()
        self.bearers: Counter = Counter()
        self.header_names: Counter = Counter()   # every request's header names, lower case
        self.issued: dict = {}
        self.bodies: list = []
        self.log: list = []
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.target = self
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
