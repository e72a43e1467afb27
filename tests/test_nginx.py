"""Against Debian's nginx (installed by .ci/run): a 5 s, 50-connection run writes a result that
matches the schema, with counts equal to the requests nginx logged."""
import json
import os
import shutil
import socket
import subprocess
import time

import jsonschema
import pytest

from conftest import free_port, lunge

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
pytestmark = pytest.mark.nginx

CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    log_format count '$status';
    access_log {dir}/access.log count;
    keepalive_requests 1000000;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{ return 200 "ok\\n"; }}
        location /missing {{ return 404; }}
    }}
    server {{
        listen 127.0.0.1:{h2port} http2;
        location / {{ return 200 "ok\\n"; }}
    }}
}}
"""


@pytest.fixture
def nginx(tmp_path):
    if NGINX is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is not installed: .ci/run should have installed nginx-light")
        pytest.skip("nginx not installed (apt-get install nginx-light)")
    port, h2port = free_port(), free_port()
    conf = tmp_path / "nginx.conf"
    conf.write_text(CONF.format(dir=tmp_path, port=port, h2port=h2port))
    proc = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(conf), "-e", str(tmp_path / "error.log")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"nginx exited: {proc.stderr.read().decode()}")
            time.sleep(0.05)

    class Nginx:
        url = f"http://127.0.0.1:{port}"
        h2c_url = f"http://127.0.0.1:{h2port}"

        @staticmethod
        def logged():
            """Stop nginx (QUIT: finish and flush), then count the requests it logged."""
            proc.send_signal(3)
            proc.wait(10)
            lines = (tmp_path / "access.log").read_text().splitlines()
            return len(lines), {code: lines.count(code) for code in set(lines)}

    yield Nginx
    if proc.poll() is None:
        proc.kill()
        proc.wait()


@pytest.mark.slow
def test_five_second_run_matches_nginx_log(nginx, tmp_path, result_schema):
    out = tmp_path / "r.json"
    r = lunge("perf", "--url", f"{nginx.url}/", "--concurrency", 50, "--duration", "5s",
              "--format", "json", "--output", out)
    assert r.code == 0, r.err
    doc = json.loads(out.read_text())
    jsonschema.validate(doc, result_schema, format_checker=jsonschema.FormatChecker())
    count, by_status = nginx.logged()
    m = doc["metrics"]
    assert m["totalRequests"] == count == doc["counters"]["issued"]
    assert m["statusCodes"] == {"200": count} and by_status == {"200": count}
    assert m["failedRequests"] == 0
    assert m["connectionsOpened"] == 50  # keep-alive: one connection per slot, reused
    assert count > 5000  # even a slow CI machine does thousands per second here
    assert 5 <= len(doc["timeSeries"]) <= 6


@pytest.mark.slow
def test_iterations_against_nginx_exact(nginx):
    r = lunge("perf", "--url", f"{nginx.url}/missing", "--concurrency", 8, "-n", 2500, "--format", "json")
    assert r.code == 0, r.err
    count, by_status = nginx.logged()
    assert count == 2500 and by_status == {"404": 2500}
    assert r.json()["metrics"]["statusCodes"] == {"404": 2500}


def test_http2_multiplexes_streams_on_one_connection(nginx):
    r = lunge("perf", "--url", f"{nginx.h2c_url}/", "--http2", "--workers", 1, "--concurrency", 20, "-n", 2000,
              "--format", "json")
    assert r.code == 0, r.err
    m = r.json()["metrics"]
    count, by_status = nginx.logged()
    assert m["totalRequests"] == count == 2000 and m["statusCodes"] == {"200": 2000}
    assert m["connectionsOpened"] == 1  # 20 streams share one h2c connection
