"""Secrets never reach a report, a log or the console unless --show-secrets says so.

Redacted: the values of Authorization, Proxy-Authorization, Cookie and Set-Cookie headers
and of any header whose name contains token, key, secret or password; the password in a
URL; and query parameters with such names."""
from __future__ import annotations

import re
import urllib.parse

MASK = "[redacted]"
_HEADERS = {"authorization", "proxy-authorization", "cookie", "set-cookie"}
_NAME = re.compile(r"token|key|secret|passw(or)?d", re.I)


def sensitive(name: str) -> bool:
    name = name.strip().lower()
    return name in _HEADERS or bool(_NAME.search(name))


def header(line: str) -> str:
    name, sep, _value = line.partition(":")
    return f"{name}: {MASK}" if sep and sensitive(name) else line


def url(u: str) -> str:
    try:
        parts = urllib.parse.urlsplit(u)
    except ValueError:
        return u
    netloc = parts.netloc
    if parts.password is not None:
        netloc = f"{parts.username}:{MASK}@" + netloc.rpartition("@")[2]
    query = parts.query
    if query:
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
        if any(sensitive(k) for k, _ in pairs):
            query = "&".join(f"{urllib.parse.quote(k)}={MASK if sensitive(k) else urllib.parse.quote(v)}"
                             for k, v in pairs)
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
