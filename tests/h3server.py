"""A local HTTP/3 server for the tests and benchmarks: Hypercorn (ASGI) over QUIC with aioquic,
plus HTTP/2 and HTTP/1.1 over TLS on the same port number (TCP), with a self-signed CA made here.

    with H3Server(tmp_path) as srv:          # quic=False: TCP (h2, http/1.1) only
        srv.url, srv.cacert, srv.count()     # the server's own request count

The ASGI app counts every request it answers (by HTTP version) in a file next to the cert,
rewritten at once: the count is the server's, not lunge's.  Paths: `/status/NNN` answers NNN,
`/mix/N` answers 503 to every N-th request (by the server's count), anything else 200 "ok".
Everything listens on 127.0.0.1; the server is stopped by PID."""
from __future__ import annotations

import datetime
import ipaddress
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

APP = r'''
import json, os
COUNT_FILE = os.environ["H3_COUNT_FILE"]
counts = {}
total = 0

async def app(scope, receive, send):
    global total
    if scope["type"] == "lifespan":
        while True:
            m = await receive()
            if m["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif m["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    while True:  # read the whole body
        m = await receive()
        if not m.get("more_body"):
            break
    total += 1
    v = scope.get("http_version", "?")
    counts[v] = counts.get(v, 0) + 1
    tmp = COUNT_FILE + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"total": total, "versions": counts}, f)
    os.replace(tmp, COUNT_FILE)
    path = scope["path"]
    status = 200
    if path.startswith("/status/"):
        status = int(path.rsplit("/", 1)[1])
    elif path.startswith("/mix/"):
        status = 503 if total % int(path.rsplit("/", 1)[1]) == 0 else 200
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})
'''


def make_ca(directory: Path) -> tuple[Path, Path, Path]:
    """A self-signed CA and a server certificate for 127.0.0.1 (IP SAN) signed by it:
    (ca.pem, cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lunge test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


def free_udp_tcp_port() -> int:
    """A port number free on 127.0.0.1 for both TCP and UDP (bound, then released)."""
    for _ in range(50):
        t = socket.socket()
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            u.close()
            t.close()
        return port
    raise RuntimeError("no port free for both TCP and UDP")


class H3Server:
    def __init__(self, directory: Path, *, quic: bool = True, workers: int = 1, cpu: int | None = None):
        self.dir = Path(directory)
        self.quic = quic
        self.workers = workers
        self.cpu = cpu  # pin the server to this CPU (benchmarks)
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.count_file = self.dir / "h3-count.json"

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/"

    def start(self) -> H3Server:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.cacert, cert, key = make_ca(self.dir)
        (self.dir / "h3app.py").write_text(APP)
        # Hypercorn closes a connection after 1000 requests by default (keep_alive_max_requests):
        # HTTP/2 streams in flight then fail.  Not what these runs measure.
        (self.dir / "hypercorn.toml").write_text("keep_alive_max_requests = 1000000000\n")
        self.port = free_udp_tcp_port()
        self.count_file.unlink(missing_ok=True)  # a previous server's
        cmd = [sys.executable, "-m", "hypercorn", "--config", str(self.dir / "hypercorn.toml"), "--certfile", str(cert), "--keyfile", str(key),
               "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers), "--log-level", "warning"]
        if self.quic:
            cmd += ["--quic-bind", f"127.0.0.1:{self.port}"]
        cmd.append("h3app:app")
        if self.cpu is not None:
            cmd = ["taskset", "-c", str(self.cpu), *cmd]
        self.log = open(self.dir / "hypercorn.log", "wb")
        self.proc = subprocess.Popen(cmd, cwd=self.dir, stdout=self.log, stderr=subprocess.STDOUT,
                                     env={**os.environ, "H3_COUNT_FILE": str(self.count_file)},
                                     start_new_session=True)
        deadline = time.monotonic() + 30
        while True:  # TCP accepts once Hypercorn has bound both sockets (it binds QUIC first)
            if self.proc.poll() is not None:
                raise RuntimeError(f"hypercorn exited: {(self.dir / 'hypercorn.log').read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("hypercorn did not start in 30 s") from None
                time.sleep(0.05)
        return self

    def counts(self) -> dict:
        """{"total": n, "versions": {"1.1": n, "2": n, "3": n}}: what the server answered."""
        try:
            return json.loads(self.count_file.read_text())
        except FileNotFoundError:
            return {"total": 0, "versions": {}}

    def count(self) -> int:
        return self.counts()["total"]

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # its own session: Hypercorn and its worker(s)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.proc = None

    def __enter__(self) -> H3Server:
        return self.start()

    def __exit__(self, *exc):
        self.stop()
