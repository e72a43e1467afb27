"""lunge initialises pycurl's libcurl itself, with its own calloc/realloc (csrc/lunge_alloc.h),
and pycurl then shares that one instance.  Each check runs in a fresh process: which of the two
initialises libcurl first decides the allocator."""
import json
import platform
import socket
import subprocess
import sys

import pytest

from lunge import libcurl

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc" or libcurl._wheel_libcurl() is None,
    reason="lunge's allocator is for glibc, with the libcurl of pycurl's Linux wheel")

MAPS = "sorted({l.split()[-1] for l in open('/proc/self/maps') if 'libcurl' in l.split()[-1]})"


def python(code: str) -> dict:
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.splitlines()[-1])


def raw_response_size(url: str, path: str) -> int:
    """Bytes of one whole keep-alive response (status line, headers, body), read off a socket."""
    host, port = url.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        data = b""
        while b"\r\n\r\n" not in data:
            data += s.recv(65536)
        head = data[:data.index(b"\r\n\r\n") + 4]
        length = int(next(l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")))
        while len(data) < len(head) + length:
            data += s.recv(65536)
    return len(head) + length


def test_engine_first_gives_libcurl_lunges_allocator_and_pycurl_shares_the_instance(fresh_target):
    pad = "p" * 1500  # the request buffer grows past lunge_alloc's small-block limit
    out = python(f"""
import json
from lunge import libcurl
info = libcurl.load()
import pycurl
from io import BytesIO
buf = BytesIO()
c = pycurl.Curl()
c.setopt(c.URL, "{fresh_target.url}/echo")
c.setopt(c.HTTPHEADER, ["X-Pad: {pad}"] + ["X-H%d: v%d" % (i, i) for i in range(40)])
c.setopt(c.WRITEDATA, buf)
c.perform()
echo = json.loads(buf.getvalue())
print(json.dumps({{"allocator": info["allocator"], "path": info["path"], "maps": {MAPS},
                  "status": c.getinfo(c.RESPONSE_CODE), "headers": echo["headers"]}}))
""")
    assert out["allocator"] == "lunge"
    assert out["maps"] == [out["path"]]  # one libcurl in the process: pycurl linked the engine's
    assert out["status"] == 200
    assert out["headers"]["X-Pad"] == pad
    assert all(out["headers"][f"X-H{i}"] == f"v{i}" for i in range(40))


def test_pycurl_first_leaves_libcurls_allocator_and_the_engine_still_shares_it():
    out = python(f"""
import json
import pycurl
from lunge import libcurl
info = libcurl.load()
print(json.dumps({{"allocator": info["allocator"], "path": info["path"], "maps": {MAPS}}}))
""")
    assert out["allocator"] == "default"
    assert out["maps"] == [out["path"]]


def test_version_names_the_allocator():
    p = subprocess.run([sys.executable, "-m", "lunge", "--version"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "libcurl allocator: lunge's" in p.stdout


@pytest.mark.parametrize("size", [1000, 1100, 70000])
def test_exact_counts_and_bytes_with_lunges_allocator(fresh_target, size):
    # Responses and request headers on either side of the small-block limit: every byte counted.
    p = subprocess.run([sys.executable, "-m", "lunge", "perf", "--url", f"{fresh_target.url}/bytes/{size}",
                        "-H", "X-Pad: " + "p" * 1500, "--concurrency", "8", "--iterations", "300",
                        "--format", "json"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    m = json.loads(p.stdout)["metrics"]
    assert m["totalRequests"] == 300 and m["statusCodes"] == {"200": 300} and m["errors"] == {}
    assert fresh_target.stats()["requests"] == 300
    assert m["bytesReceived"] == 300 * raw_response_size(fresh_target.url, f"/bytes/{size}")


def test_threads_that_come_and_go_share_libcurl_safely(fresh_target):
    # Each thread gets its own stash of small blocks; blocks freed on another thread than the one
    # that allocated them, and the stash handed back when a thread exits, must not corrupt anything.
    out = python(f"""
import json, threading
from io import BytesIO
from lunge import libcurl
info = libcurl.load()
import pycurl
handles = []
def work(i, results):
    for j in range(20):
        c = pycurl.Curl()
        buf = BytesIO()
        c.setopt(c.URL, "{fresh_target.url}/echo?i=%d&j=%d" % (i, j))
        c.setopt(c.HTTPHEADER, ["X-T: %s" % ("t%d" % i * 50)])
        c.setopt(c.WRITEDATA, buf)
        c.perform()
        results.append(json.loads(buf.getvalue())["headers"]["X-T"] == "t%d" % i * 50)
        if j % 2:
            handles.append(c)  # closed later, on another thread
        else:
            c.close()
results = []
for wave in range(3):
    ts = [threading.Thread(target=work, args=(wave * 10 + k, results)) for k in range(6)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    while handles:
        handles.pop().close()
print(json.dumps({{"allocator": info["allocator"], "ok": sum(results), "all": len(results)}}))
""")
    assert out["allocator"] == "lunge"
    assert out["ok"] == out["all"] == 3 * 6 * 20
    assert fresh_target.stats()["requests"] == 3 * 6 * 20
