"""Local stand-ins for the two services Go Lunge's examples talk to, so its example files run
here unchanged but for their baseUrl:

- `Httpbin`: the httpbin.org endpoints the examples (v1 JSON and v2 YAML) use: /get, /post,
  /put, /patch, /delete and /anything[/...] (echo args, headers, form, json; /anything any
  method, with `method`), /status/CODE, /delay/SECONDS, /headers, /json, /uuid, /ip,
  /user-agent, /bytes/N (N random bytes), /drip?numbytes=N (N `*`), each with httpbin's
  response shape. `Httpbin(delay=0.005)` answers every request after that many seconds (the
  real service is far slower than a local one; the v2 runs use it to bound a closed-model
  scenario's rate at VUs / delay, whatever the machine).
- `JsonPlaceholder`: jsonplaceholder.typicode.com's /users, /posts, /comments with the same
  shapes (user 1 is Leanne Graham of Gwenborough, user 1 has posts 1-10, post 1 has comments
  1-5), POST/PUT/PATCH/DELETE answered as it does (nothing is stored), every response after
  15 ms and as `application/json; charset=utf-8`.

Both record every request they parse (method, path, headers, body, client) in `seen`, and count them
(thread-safe) by (method, path) in `counts()` and by wall-clock second in `per_second()`.
They listen on 127.0.0.1 on a free port in a thread of the test process (a thread per
connection, HTTP/1.1 keep-alive, a listen backlog of 1024: a few hundred concurrent
connections are fine), and stop with stop().
"""
from __future__ import annotations

import collections
import json
import os
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Base(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    content_type = "application/json"
    # Headers and body are two writes: without TCP_NODELAY a keep-alive client's delayed ACK
    # would hold the body back 40 ms.
    disable_nagle_algorithm = True

    def log_message(self, *args):  # quiet
        pass

    def reply(self, code: int, doc, content_type: str | None = None):
        body = b"" if doc is None else json.dumps(doc, indent=2).encode()
        self.reply_bytes(code, body, None if doc is None else content_type or self.content_type)

    def reply_bytes(self, code: int, body: bytes, content_type: str | None):
        self.send_response(code)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        url = urllib.parse.urlsplit(self.path)
        self.server.seen.append({"method": self.command, "path": url.path, "query": url.query,
                                 "headers": dict(self.headers.items()), "body": raw,
                                 "client": self.client_address})
        self.server.count(self.command, url.path)
        if self.server.delay:
            time.sleep(self.server.delay)
        try:
            doc = json.loads(raw) if raw else None
        except ValueError:
            doc = None
        self.route(url.path, dict(urllib.parse.parse_qsl(url.query)), raw, doc)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

    def route(self, path: str, query: dict, raw: bytes, doc):
        raise NotImplementedError


def _title(name: str) -> str:
    return "-".join(part.capitalize() for part in name.split("-"))


class _HttpbinHandler(_Base):
    def echo(self, query: dict, raw: bytes, doc, with_body: bool) -> dict:
        host = self.headers.get("Host", "")
        out = {"args": query, "headers": {_title(k): v for k, v in self.headers.items()},
               "origin": self.client_address[0], "url": f"http://{host}{self.path}"}
        if with_body:
            ctype = self.headers.get("Content-Type", "")
            form = dict(urllib.parse.parse_qsl(raw.decode("latin-1"))) if "form-urlencoded" in ctype else {}
            out.update(data=raw.decode("utf-8", "replace"), files={}, form=form, json=doc)
        return out

    def route(self, path, query, raw, doc):
        parts = path.strip("/").split("/")
        method = self.command.lower()
        if parts[0] in ("get", "post", "put", "patch", "delete") and len(parts) == 1:
            if parts[0] != method:
                return self.reply(405, None)
            return self.reply(200, self.echo(query, raw, doc, method != "get"))
        if parts[0] == "anything":
            return self.reply(200, {**self.echo(query, raw, doc, True), "method": self.command})
        if path == "/ip":
            return self.reply(200, {"origin": self.client_address[0]})
        if path == "/user-agent":
            return self.reply(200, {"user-agent": self.headers.get("User-Agent")})
        if parts[0] == "bytes" and len(parts) == 2 and parts[1].isdigit():
            return self.reply_bytes(200, os.urandom(min(int(parts[1]), 100 * 1024)), "application/octet-stream")
        if path == "/drip":
            # numbytes '*' (httpbin spreads them over `duration` after `delay`: both 0 here).
            n = int(query.get("numbytes", "10")) if query.get("numbytes", "10").isdigit() else 10
            return self.reply_bytes(200, b"*" * min(n, 10 * 1024 * 1024), "application/octet-stream")
        if parts[0] == "status" and len(parts) == 2 and parts[1].isdigit():
            return self.reply(int(parts[1]), None)
        if parts[0] == "delay" and len(parts) == 2 and parts[1].isdigit():
            time.sleep(min(int(parts[1]), 10))
            return self.reply(200, self.echo(query, raw, doc, method != "get"))
        if path == "/headers":
            return self.reply(200, {"headers": {_title(k): v for k, v in self.headers.items()}})
        if path == "/uuid":
            return self.reply(200, {"uuid": str(uuid.uuid4())})
        if path == "/json":
            return self.reply(200, {"slideshow": {
                "author": "Yours Truly", "date": "date of publication", "title": "Sample Slide Show",
                "slides": [{"title": "Wake up to WonderWidgets!", "type": "all"},
                           {"items": ["Why <em>WonderWidgets</em> are great", "Who <em>buys</em> WonderWidgets"],
                            "title": "Overview", "type": "all"}]}})
        return self.reply(404, None)


def _users() -> list[dict]:
    first = {"id": 1, "name": "Leanne Graham", "username": "Bret", "email": "Sincere@april.biz",
             "address": {"street": "Kulas Light", "suite": "Apt. 556", "city": "Gwenborough",
                         "zipcode": "92998-3874", "geo": {"lat": "-37.3159", "lng": "81.1496"}},
             "phone": "1-770-736-8031 x56442", "website": "hildegard.org",
             "company": {"name": "Romaguera-Crona", "catchPhrase": "Multi-layered client-server neural-net",
                         "bs": "harness real-time e-markets"}}
    users = [first]
    for i in range(2, 11):
        users.append({"id": i, "name": f"User {i}", "username": f"user{i}", "email": f"user{i}@example.org",
                      "address": {"street": f"Street {i}", "suite": f"Suite {i}", "city": f"City {i}",
                                  "zipcode": f"{10000 + i}-{1000 + i}", "geo": {"lat": f"{i}.5", "lng": f"-{i}.5"}},
                      "phone": f"1-555-0{i:03d}", "website": f"user{i}.example.org",
                      "company": {"name": f"Company {i}", "catchPhrase": "catch phrase", "bs": "bs"}})
    return users


_POSTS = [{"userId": (i - 1) // 10 + 1, "id": i, "title": f"post {i} title", "body": f"post {i} body"}
          for i in range(1, 101)]
_COMMENTS = [{"postId": (i - 1) // 5 + 1, "id": i, "name": f"comment {i}", "email": f"commenter{i}@example.net",
              "body": f"comment {i} body"} for i in range(1, 501)]


class _JsonPlaceholderHandler(_Base):
    content_type = "application/json; charset=utf-8"

    def route(self, path, query, raw, doc):
        time.sleep(0.015)  # as the real service (and Go Lunge's example `responseTime: ">10"`) expects
        tables = {"users": _users(), "posts": _POSTS, "comments": _COMMENTS}
        parts = path.strip("/").split("/")
        table = tables.get(parts[0])
        if table is None:
            return self.reply(404, {})
        method = self.command
        if len(parts) == 1:
            if method == "POST":
                return self.reply(201, {**(doc if isinstance(doc, dict) else {}), "id": len(table) + 1})
            rows = [r for r in table if all(str(r.get(k)) == v for k, v in query.items())]
            return self.reply(200, rows)
        if not parts[1].isdigit():
            return self.reply(404, {})
        row = next((r for r in table if r["id"] == int(parts[1])), None)
        if len(parts) == 3 and parts[0] == "posts" and parts[2] == "comments" and method == "GET":
            return self.reply(200, [c for c in _COMMENTS if c["postId"] == int(parts[1])])
        if len(parts) != 2:
            return self.reply(404, {})
        if method == "DELETE":
            return self.reply(200, {})
        if method == "PUT":
            return self.reply(200, {**(doc if isinstance(doc, dict) else {}), "id": int(parts[1])})
        if row is None:
            return self.reply(404, {})
        if method == "PATCH":
            return self.reply(200, {**row, **(doc if isinstance(doc, dict) else {})})
        return self.reply(200, row)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # the listen backlog (socketserver's default is 5)

    def __init__(self, handler: type[BaseHTTPRequestHandler], delay: float):
        super().__init__(("127.0.0.1", 0), handler)
        self.delay = delay
        self.seen: list[dict] = []
        self.lock = threading.Lock()
        self.by_path: collections.Counter[tuple[str, str]] = collections.Counter()
        self.by_second: collections.Counter[int] = collections.Counter()

    def count(self, method: str, path: str) -> None:
        with self.lock:
            self.by_path[method, path] += 1
            self.by_second[int(time.time())] += 1

    def reset(self) -> None:
        with self.lock:
            self.seen.clear()
            self.by_path.clear()
            self.by_second.clear()


class _Server:
    handler: type[BaseHTTPRequestHandler]

    def __init__(self, delay: float = 0.0):
        self.httpd = _HTTPServer(self.handler, delay)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def seen(self) -> list:
        return self.httpd.seen

    def counts(self) -> dict[tuple[str, str], int]:
        """{(method, path): requests} so far (the query string left out)."""
        with self.httpd.lock:
            return dict(self.httpd.by_path)

    def per_second(self) -> dict[int, int]:
        """{Unix second: requests received in it}."""
        with self.httpd.lock:
            return dict(self.httpd.by_second)

    def total(self) -> int:
        with self.httpd.lock:
            return sum(self.httpd.by_path.values())

    def reset(self):
        self.httpd.reset()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Httpbin(_Server):
    handler = _HttpbinHandler


class JsonPlaceholder(_Server):
    handler = _JsonPlaceholderHandler
