"""A small HTTP server for the injection and redaction tests: it records every request it
parses (method, path, headers), so a test can see what reached the wire.

    /redirect?to=URL[&code=302]   a redirect to URL
    /inject                       JSON whose "v" holds a CR/LF header injection
    /secret                       JSON {"token": "srv-t0k3n-from-response"}
    anything else                 200 "ok"

Listens on 127.0.0.1 on a free port, in a thread of the test process; stop() shuts it down.
"""
from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

INJECTION = "abc\r\nInjected: yes"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def _reply(self, code: int, body: bytes, headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.seen.append({"method": self.command, "path": self.path, "headers": dict(self.headers.items()),
                                 "raw_headers": [f"{k}: {v}" for k, v in self.headers.items()], "body": body})
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        if url.path == "/redirect":
            self._reply(int(query.get("code", 302)), b"", [("Location", query["to"])])
        elif url.path == "/inject":
            self._reply(200, json.dumps({"v": INJECTION}).encode(), [("Content-Type", "application/json")])
        elif url.path == "/secret":
            self._reply(200, json.dumps({"token": "srv-t0k3n-from-response"}).encode(),
                        [("Content-Type", "application/json")])
        else:
            self._reply(200, b"ok")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle


class RecordingServer:
    def __init__(self):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.seen = []
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def seen(self) -> list:
        return self.httpd.seen

    def reset(self):
        self.httpd.seen.clear()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
