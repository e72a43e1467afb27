"""A deliberately misbehaving HTTP/1.1 server for the fault matrix (tests/test_faults.py).

It runs in the test process (a listening socket and one thread per connection), on
127.0.0.1 only, and counts every request whose head it parsed, so a test can compare the
server's count with lunge's.  The path picks the fault:

  /ok                  200 "ok\\n", keep-alive
  /reset               headers (Content-Length 1000) and 100 bytes, then a TCP RST
  /close-after-headers headers (Content-Length 1000), then a clean close (FIN)
  /never               reads the request and never answers (until the client goes)
  /trickle             headers (Content-Length 100), then one byte every 100 ms
  /malformed           a status line that is not HTTP ("HTTP/1.1 2x0 Nope")
  /bad-length          two Content-Length headers that disagree
  /chunked             a chunked body of 5 chunks, keep-alive
  /chunked-bad         a chunked body whose chunk size is not hexadecimal, then close
  /gzip                a gzip-compressed body with Content-Encoding: gzip
  /loop                302 to /loop, forever
  /hops/N              302 to /hops/N-1 ... /hops/0 answers 200
  /big/N               a body of N bytes, streamed from one small buffer
  /drop/N              200 "ok\\n", keep-alive; but every Nth /drop request (by the server's
                       count) is read in full and then the connection is closed (FIN) without
                       an answer: on a kept-alive connection, what makes libcurl resend
  /to-drop/N           302 to /drop/N
  /headers/N           200 with N bytes of response headers (one X-Pad header per 8 KiB)

`h2only=True` makes it a server that speaks only HTTP/2 (prior knowledge): anything that
does not start with the HTTP/2 preface gets a GOAWAY(PROTOCOL_ERROR) frame and a close,
as h2c-only servers do.  `tls=ssl.SSLContext` serves HTTPS; failed handshakes are counted
in `handshake_failures`, never as requests.

`pause()` closes the listening socket and every open connection (the target dies);
`resume()` listens again on the same port (it comes back).
"""
from __future__ import annotations

import collections
import gzip
import socket
import ssl
import struct
import threading
import time

GZIP_PLAIN = b"lunge gzip body\n" * 64
GZIP_BODY = gzip.compress(GZIP_PLAIN)
CHUNKS = [b"alpha\n", b"beta\n", b"gamma\n", b"delta\n", b"epsilon\n"]
H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
_BLOCK = b"x" * (1 << 20)


class FaultServer:
    def __init__(self, tls: ssl.SSLContext | None = None, h2only: bool = False):
        self.tls, self.h2only = tls, h2only
        self.lock = threading.Lock()
        self.requests = 0
        self.by_path: collections.Counter[str] = collections.Counter()
        self.handshake_failures = 0
        self.dropped = 0      # /drop requests read and never answered
        self.drop_seen = 0    # /drop requests read
        self.accepted = 0     # connections accepted
        self.conns: set[socket.socket] = set()
        self.stopping = threading.Event()
        self.port = 0
        self._listen()
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"

    # -- lifecycle
    def _listen(self):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(512)
        s.settimeout(0.2)  # so the accept loop notices stop()
        self.port = s.getsockname()[1]
        self.sock = s
        self.accepting = threading.Event()
        self.accepting.set()
        self.thread = threading.Thread(target=self._accept_loop, args=(s, self.accepting), daemon=True)
        self.thread.start()

    def pause(self):
        """The target dies: stop listening (connects are refused) and drop every connection."""
        self.accepting.clear()
        self.thread.join(5)
        self.sock.close()
        with self.lock:
            conns, self.conns = list(self.conns), set()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def resume(self):
        self._listen()

    def stop(self):
        self.stopping.set()
        self.pause()

    def reset(self):
        with self.lock:
            self.requests = 0
            self.by_path.clear()
            self.handshake_failures = 0
            self.dropped = self.drop_seen = 0
            self.accepted = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # -- serving
    def _accept_loop(self, s, accepting):
        while accepting.is_set():
            try:
                conn, _ = s.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            with self.lock:
                self.accepted += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _count(self, path):
        with self.lock:
            self.requests += 1
            self.by_path[path] += 1

    def _serve(self, conn):
        if self.tls:
            try:
                conn.settimeout(10)
                conn = self.tls.wrap_socket(conn, server_side=True)
                conn.settimeout(None)
            except (ssl.SSLError, OSError):
                with self.lock:
                    self.handshake_failures += 1
                conn.close()
                return
        with self.lock:
            self.conns.add(conn)
        try:
            self._requests(conn)
        except (OSError, ssl.SSLError):
            pass
        finally:
            with self.lock:
                self.conns.discard(conn)
            try:
                conn.close()
            except OSError:
                pass

    def _requests(self, conn):
        buf = b""
        while not self.stopping.is_set():
            if self.h2only and len(buf) < len(H2_PREFACE):
                data = conn.recv(65536)
                if not data:
                    return
                buf += data
                if H2_PREFACE.startswith(buf[:len(H2_PREFACE)]) and len(buf) < len(H2_PREFACE):
                    continue
                if not buf.startswith(H2_PREFACE):
                    self._count("(not HTTP/2)")
                    # GOAWAY: last stream 0, error PROTOCOL_ERROR (1)
                    conn.sendall(struct.pack(">I", 8)[1:] + b"\x07\x00" + struct.pack(">II", 0, 1))
                    self._linger(conn)
                    return
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                data = conn.recv(65536)
                if not data:
                    return
                buf += data
                continue
            head, buf = buf[:end].decode("latin-1"), buf[end + 4:]
            line = head.split("\r\n", 1)[0]
            parts = line.split(" ")
            path = parts[1] if len(parts) == 3 else line
            length = 0
            for h in head.split("\r\n")[1:]:
                k, _, v = h.partition(":")
                if k.strip().lower() == "content-length":
                    length = int(v)
            while len(buf) < length:
                data = conn.recv(65536)
                if not data:
                    return
                buf += data
            buf = buf[length:]
            self._count(path)
            if not self._answer(conn, path, parts[0] if parts else ""):
                return

    @staticmethod
    def _linger(conn):
        """Close as nginx does (lingering close): closing with the client's unread frames in
        the buffer would send an RST that can overtake the response."""
        conn.shutdown(socket.SHUT_WR)
        conn.settimeout(1.0)
        try:
            while conn.recv(65536):
                pass
        except OSError:
            pass

    def _answer(self, conn, path, method) -> bool:
        """Write the response for `path`; False when the connection is over."""
        def head(status, length=None, extra=()):
            lines = [f"HTTP/1.1 {status}", *extra]
            if length is not None:
                lines.append(f"Content-Length: {length}")
            return ("\r\n".join(lines) + "\r\n\r\n").encode()

        segs = [p for p in path.split("/") if p]
        name = segs[0] if segs else ""
        if path.startswith("PRI ") or method == "PRI":  # HTTP/2 preface to an HTTP/1.1-only server
            conn.sendall(head("400 Bad Request", 0, ["Connection: close"]))
            self._linger(conn)
            return False
        if name == "ok":
            conn.sendall(head("200 OK", 3) + b"ok\n")
            return True
        if name == "reset":
            conn.sendall(head("200 OK", 1000) + b"r" * 100)
            time.sleep(0.05)  # let the client read the partial body before the RST
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False
        if name == "close-after-headers":
            conn.sendall(head("200 OK", 1000))
            conn.shutdown(socket.SHUT_WR)
            return False
        if name == "drop" and len(segs) == 2 and segs[1].isdigit():
            with self.lock:  # its own count: by_path may already hold another thread's next one
                self.drop_seen += 1
                drop = self.drop_seen % int(segs[1]) == 0
                self.dropped += drop
            if drop:  # read in full, never answered: close cleanly (FIN)
                conn.shutdown(socket.SHUT_WR)
                return False
            conn.sendall(head("200 OK", 3) + b"ok\n")
            return True
        if name == "to-drop" and len(segs) == 2:
            conn.sendall(head("302 Found", 0, [f"Location: /drop/{segs[1]}"]))
            return True
        if name == "headers" and len(segs) == 2 and segs[1].isdigit():
            n, pad = int(segs[1]), []
            while n > 0:
                k = min(n, 8192)
                pad.append("X-Pad: " + "p" * max(0, k - 9))
                n -= k
            conn.sendall(head("200 OK", 3, pad) + b"ok\n")
            return True
        if name == "never":
            while not self.stopping.is_set() and conn.recv(65536):
                pass
            return False
        if name == "trickle":
            conn.sendall(head("200 OK", 100))
            for _ in range(100):
                if self.stopping.is_set():
                    return False
                time.sleep(0.1)
                conn.sendall(b"t")
            return True
        if name == "malformed":
            conn.sendall(b"HTTP/1.1 2x0 Nope\r\nContent-Length: 0\r\n\r\n")
            return False
        if name == "bad-length":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nok\n")
            return False
        if name == "chunked":
            out = head("200 OK", None, ["Transfer-Encoding: chunked"])
            for c in CHUNKS:
                out += f"{len(c):x}\r\n".encode() + c + b"\r\n"
            conn.sendall(out + b"0\r\n\r\n")
            return True
        if name == "chunked-bad":
            conn.sendall(head("200 OK", None, ["Transfer-Encoding: chunked"]) + b"zz\r\nbroken\r\n0\r\n\r\n")
            return False
        if name == "gzip":
            conn.sendall(head("200 OK", len(GZIP_BODY), ["Content-Encoding: gzip"]) + GZIP_BODY)
            return True
        if name == "loop":
            conn.sendall(head("302 Found", 0, ["Location: /loop"]))
            return True
        if name == "hops" and len(segs) == 2 and segs[1].isdigit():
            n = int(segs[1])
            if n == 0:
                conn.sendall(head("200 OK", 3) + b"ok\n")
            else:
                conn.sendall(head("302 Found", 0, [f"Location: /hops/{n - 1}"]))
            return True
        if name == "big" and len(segs) == 2 and segs[1].isdigit():
            n = int(segs[1])
            conn.sendall(head("200 OK", n))
            view = memoryview(_BLOCK)
            while n > 0:
                k = min(n, len(_BLOCK))
                conn.sendall(view[:k])
                n -= k
            return True
        conn.sendall(head("404 Not Found", 0))
        return True
