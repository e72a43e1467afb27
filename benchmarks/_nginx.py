"""A throwaway nginx on 127.0.0.1 for the Python benchmarks (Debian's nginx-light): tiny
body, keep-alive, no access log; stopped by its PID when the `with` block ends."""
import shutil
import socket
import subprocess
import sys
import tempfile
import time

CONF = """worker_processes {workers}; daemon off; pid {d}/nginx.pid; error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{ access_log off; keepalive_requests 100000000;
  client_body_temp_path {d}/b; proxy_temp_path {d}/p; fastcgi_temp_path {d}/f; uwsgi_temp_path {d}/u; scgi_temp_path {d}/s;
  server {{ listen 127.0.0.1:{port} backlog=4096; location / {{ return 200 "ok\\n"; }} {locations} }} }}
"""


class Nginx:
    def __init__(self, cpu: str | None = "1", workers: int = 1, locations: str = ""):
        """locations: more nginx `location` blocks for the server (flow_cost.py's /login)."""
        self.dir = tempfile.mkdtemp(prefix="lunge-bench-nginx-")
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.url = f"http://127.0.0.1:{self.port}/"
        with open(f"{self.dir}/nginx.conf", "w") as f:
            f.write(CONF.format(d=self.dir, port=self.port, workers=workers, locations=locations))
        cmd = [shutil.which("nginx") or "/usr/sbin/nginx", "-p", self.dir, "-c", f"{self.dir}/nginx.conf",
               "-e", f"{self.dir}/error.log"]
        self.proc = subprocess.Popen((["taskset", "-c", cpu] if cpu else []) + cmd)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        sys.exit("nginx did not start (apt-get install nginx-light)")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
