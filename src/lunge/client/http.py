"""Send one request with pycurl (the same libcurl as the load engine) and capture everything:
status, headers sent and received, body, and libcurl's timing breakdown.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

import pycurl

from lunge import __version__
from lunge.config import ResolvedRequest
from lunge.errors import LungeError


class RequestFailed(LungeError):
    """The request could not complete (refused, timed out, TLS...): exit status 1."""

    exit_code = 1


@dataclass
class Timing:
    """Phases in milliseconds, from libcurl's cumulative *_TIME_T marks."""
    dns: float
    connect: float
    tls: float
    ttfb: float  # connection ready -> first response byte (sending + the server's think time)
    transfer: float
    total: float
    quic: bool = False  # over HTTP/3: "connect" is QUIC's, over UDP

    PHASES = (("dns", "DNS"), ("connect", "TCP connect"), ("tls", "TLS"), ("ttfb", "TTFB"), ("transfer", "transfer"))

    def as_dict(self) -> dict:
        return {"dnsMs": self.dns, "connectMs": self.connect, "tlsMs": self.tls, "ttfbMs": self.ttfb,
                "transferMs": self.transfer, "totalMs": self.total}


@dataclass
class Response:
    status: int
    reason: str
    http_version: str
    headers: list[tuple[str, str]]
    body: bytes
    timing: Timing
    url: str  # effective URL (after redirects)
    request_headers: list[str] = field(default_factory=list)  # as sent, request line first
    previous: list[Response] = field(default_factory=list)  # with -L: the redirects before this one, in order

    def header(self, name: str) -> str | None:
        """The last value of header `name` (case-insensitive), or None."""
        found = None
        for k, v in self.headers:
            if k.lower() == name.lower():
                found = v
        return found

    @property
    def elapsed_ms(self) -> float:
        return self.timing.total

    def json(self):
        """The body parsed as JSON; ValueError if it is not JSON."""
        return json.loads(self.body.decode("utf-8"))


def _timing(c: pycurl.Curl) -> Timing:
    us = {k: c.getinfo(getattr(pycurl, k + "_TIME_T")) for k in
          ("NAMELOOKUP", "CONNECT", "APPCONNECT", "STARTTRANSFER", "TOTAL")}
    # The marks are cumulative from the start; a reused connection leaves the early ones 0.
    dns = us["NAMELOOKUP"]
    connect = max(us["CONNECT"], dns)
    ready = max(us["APPCONNECT"], connect)  # APPCONNECT is 0 without a TLS handshake
    first = max(us["STARTTRANSFER"], ready)
    total = max(us["TOTAL"], first)
    ms = lambda v: v / 1000.0  # noqa: E731
    # TTFB runs from the connection being ready (request sent) to the first response byte,
    # so the phases add up to the total.
    return Timing(dns=ms(dns), connect=ms(connect - dns), tls=ms(ready - connect),
                  ttfb=ms(first - ready), transfer=ms(total - first), total=ms(total),
                  quic=c.getinfo(pycurl.INFO_HTTP_VERSION) == pycurl.CURL_HTTP_VERSION_3)


def send(req: ResolvedRequest, *, timeout: float | None = None, follow: bool | None = None,
         insecure: bool | None = None, location_trusted: bool = False, http3: str | None = None,
         cacert: str | None = None, cert: str | None = None, key: str | None = None) -> Response:
    """Send `req`; keyword arguments override the request's own settings when given.
    Redirects (-L) are followed hop by hop (lunge.client.redirects), so headers with
    credentials go to another origin only with `location_trusted`.  http3: "only" or
    "fallback" (--http3, --http3-fallback), over the request's own `http3`.  cacert, cert,
    key: --cacert, --cert, --key (PEM files), for every hop."""
    import dataclasses
    import functools

    from lunge import wire

    if http3 is not None:
        req = dataclasses.replace(req, http3=http3)
    if req.http3 is not None:
        check_http3_client(req.http3, req.url)
    wire.check_url(req.url, "URL")  # the last check before libcurl, whoever built the request
    for line in req.headers:
        wire.check_header_line(line, "header")
    once = functools.partial(_send_once, tls=(cacert, cert, key)) if cacert or cert or key else _send_once
    if req.follow_redirects if follow is None else follow:
        from lunge.client import redirects

        return redirects.follow(once, req, timeout=timeout, insecure=insecure, trusted=location_trusted)
    return once(req, timeout=timeout, insecure=insecure)


def check_http3_client(mode: str, url: str) -> None:
    """ConfigError unless `url` is https:// and pycurl's libcurl has HTTP/3."""
    from lunge.errors import ConfigError
    from lunge.settings import HTTP3_FLAGS, check_http3

    check_http3(mode, False, url)
    info = pycurl.version_info()
    if not info[4] & pycurl.VERSION_HTTP3:
        raise ConfigError(f"{HTTP3_FLAGS[mode]}: libcurl {info[1]} has no HTTP/3 support")


def _send_once(req: ResolvedRequest, *, timeout: float | None = None, insecure: bool | None = None,
               tls: tuple[str | None, str | None, str | None] = (None, None, None)) -> Response:
    """One request, one response: libcurl follows no redirect.  tls: (cacert, cert, key)."""
    from lunge import secretvalues

    c = pycurl.Curl()
    body = BytesIO()
    state: dict[str, Any] = {"status": 0, "reason": "", "version": "", "headers": [], "sent": []}

    def on_header(line: bytes):
        text = line.decode("iso-8859-1").rstrip("\r\n")
        if text.startswith("HTTP/"):  # a new response (after 1xx or a redirect): start over
            version, _, rest = text.partition(" ")
            code, _, reason = rest.partition(" ")
            state.update(status=int(code) if code.isdigit() else 0, reason=reason, version=version, headers=[])
        elif ":" in text:
            k, _, v = text.partition(":")
            state["headers"].append((k.strip(), v.strip()))

    def on_debug(kind: int, data: bytes):
        if kind == pycurl.INFOTYPE_HEADER_OUT:
            lines = data.decode("iso-8859-1").split("\r\n")
            state["sent"] = [ln for ln in lines if ln]

    try:
        c.setopt(pycurl.URL, req.url)
        c.setopt(pycurl.NOSIGNAL, 1)
        c.setopt(pycurl.USERAGENT, f"lunge/{__version__}")
        c.setopt(pycurl.WRITEDATA, body)
        c.setopt(pycurl.HEADERFUNCTION, on_header)
        c.setopt(pycurl.VERBOSE, 1)
        c.setopt(pycurl.DEBUGFUNCTION, on_debug)
        c.setopt(pycurl.ACCEPT_ENCODING, "")  # offer every encoding libcurl can decode
        # "Expect:" stops libcurl waiting for 100-continue before sending larger bodies.
        c.setopt(pycurl.HTTPHEADER, list(req.headers) + ["Expect:"])
        method = req.method.upper()
        if method == "HEAD":
            c.setopt(pycurl.NOBODY, 1)
        elif method != "GET" or req.body is not None:
            c.setopt(pycurl.CUSTOMREQUEST, method)
        if req.body is not None:
            c.setopt(pycurl.POSTFIELDS, req.body)
            c.setopt(pycurl.POSTFIELDSIZE_LARGE, len(req.body))
        t = req.timeout if timeout is None else timeout
        if t:
            c.setopt(pycurl.TIMEOUT_MS, max(1, int(t * 1000)))
        if req.http3 is not None and req.url[:8].lower() == "https://":  # a redirect to http:// goes over TCP
            c.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_3ONLY if req.http3 == "only"
                     else pycurl.CURL_HTTP_VERSION_3)
        if req.insecure if insecure is None else insecure:
            c.setopt(pycurl.SSL_VERIFYPEER, 0)
            c.setopt(pycurl.SSL_VERIFYHOST, 0)
        for opt, path in zip((pycurl.CAINFO, pycurl.SSLCERT, pycurl.SSLKEY), tls):
            if path:
                c.setopt(opt, path)
        try:
            c.perform()
        except pycurl.error as e:
            code, msg = e.args
            raise RequestFailed(f"{req.method} {secretvalues.url(req.url)}: {msg or 'curl error ' + str(code)}") from None
        return Response(status=c.getinfo(pycurl.RESPONSE_CODE) or state["status"], reason=state["reason"],
                        http_version=state["version"], headers=state["headers"], body=body.getvalue(),
                        timing=_timing(c), url=c.getinfo(pycurl.EFFECTIVE_URL), request_headers=state["sent"])
    finally:
        c.close()
