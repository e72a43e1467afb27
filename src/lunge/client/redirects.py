"""-L for the single-request client, followed here rather than by libcurl, so credentials stay
with the host they were meant for.

libcurl drops only Authorization (and, in recent versions, Cookie) when a redirect leaves the
original host; an `X-Api-Key` or a secret variable in any header would travel on to wherever
the Location points. Here every hop to an origin (scheme, host, port) other than the original
request's is sent without the headers that carry credentials: those redact.py calls secret
(Authorization, Cookie, *token*, *key*, *secret*, *password*), names containing auth,
credential or session, and any header holding a secret variable's value
(lunge.secretvalues), as curl does for Authorization without --location-trusted
(CURLOPT_UNRESTRICTED_AUTH). `--location-trusted` sends them everywhere.

Methods follow the browsers and curl's defaults: 303 becomes GET (HEAD stays HEAD), 301 and
302 turn a POST into a GET, and the body goes with them; 307 and 308 keep both.
"""
from __future__ import annotations

import dataclasses
import time
import urllib.parse

from lunge import secretvalues

MAX_REDIRECTS = 20


def origin(url: str) -> tuple[str, str, int]:
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or (443 if scheme == "https" else 80)


def next_hop(req, status: int, location: str, base_url: str) -> tuple[str, str, bytes | None]:
    """(method, url, body) of the next hop (`req` is the request that got the redirect)."""
    from lunge.client.http import RequestFailed
    from lunge.errors import ConfigError
    from lunge.urls import check_url

    url = urllib.parse.urljoin(base_url, location)
    try:
        check_url(url, "redirect Location")
    except ConfigError:  # what the server sent, not the user's input: a failed request (exit 1)
        scheme = urllib.parse.urlsplit(url).scheme.lower() if url.isprintable() else ""
        why = "not a valid URL" if scheme in ("http", "https") else "not an http(s) URL"
        raise RequestFailed(f"{req.method} {secretvalues.url(req.url)}: redirect to {secretvalues.url(url)!r}: "
                            f"{why}") from None
    method, body = req.method, req.body
    if (status == 303 and method.upper() != "HEAD") or (status in (301, 302) and method.upper() == "POST"):
        method, body = "GET", None
    return method, url, body


def follow(send_once, req, *, timeout, insecure, trusted: bool):
    """Send `req`, following redirects hop by hop with `send_once(req, timeout=, insecure=)`;
    returns the last response, its timing the sum of the hops'."""
    from lunge.client.http import RequestFailed, Timing

    first = origin(req.url)
    all_headers = list(req.headers)
    budget = req.timeout if timeout is None else timeout
    started = time.monotonic()
    current, total, hops = req, None, 0
    chain: list = []  # the redirect responses, for -v
    while True:
        left = None
        if budget:
            left = budget - (time.monotonic() - started)
            if left <= 0:
                raise RequestFailed(f"{req.method} {secretvalues.url(current.url)}: timed out after "
                                    f"{hops} redirects ({budget:g} s)")
        resp = send_once(current, timeout=left if budget else 0, insecure=insecure)
        t = resp.timing
        total = t if total is None else Timing(*(getattr(total, f.name) + getattr(t, f.name)
                                                 for f in dataclasses.fields(Timing)))
        location = resp.header("Location")
        if not (300 <= resp.status < 400 and location):
            resp.timing = total
            resp.previous = chain
            return resp
        chain.append(resp)
        hops += 1
        if hops > MAX_REDIRECTS:
            raise RequestFailed(f"{req.method} {secretvalues.url(req.url)}: more than {MAX_REDIRECTS} redirects")
        method, url, body = next_hop(current, resp.status, location, resp.url)
        same = origin(url) == first
        headers = [h for h in all_headers if trusted or same or not secretvalues.carries_credentials(h)]
        current = dataclasses.replace(current, method=method, url=url, body=body, headers=headers)
