"""What may go on the wire: one check for header lines, header names and values and URLs,
used by every path that builds a request (perf flags and configs, get/post/... flags, config
requests rendered with variables, including values extracted from earlier responses, and the
single-request client itself before it hands anything to libcurl).

CR and LF would end a header line early: a value `abc\\r\\nContent-Length: 0\\r\\n\\r\\nGET /x`
makes the server read a second, smuggled request. NUL truncates strings in C. So CR, LF and
NUL are refused in header names, header values and URLs; header names must also be HTTP
tokens, and URLs may hold no other control character either. The error is one line naming
the field and the character, never the value (it may be a secret).
"""
from __future__ import annotations

import re

from lunge.errors import ConfigError

_NAMES = {"\r": "CR", "\n": "LF", "\x00": "NUL"}
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 token
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _which(text: str) -> str | None:
    for ch, name in _NAMES.items():
        if ch in text:
            return "a line break (CR)" if name == "CR" else "a line break (LF)" if name == "LF" else "a NUL byte"
    return None


def check_header(name: str, value: str, where: str) -> None:
    """Refuse a header whose name is not a token, or whose name or value holds CR, LF or NUL."""
    bad = _which(name)
    if bad or not _TOKEN.fullmatch(name):
        raise ConfigError(f"{where}: header name {name!r} is not a valid name"
                          + (f" (it contains {bad})" if bad else ""))
    bad = _which(value)
    if bad:
        raise ConfigError(f"{where}: the value of header {name!r} contains {bad}")


def check_header_line(line: str, where: str) -> str:
    """`line` ("Name: value") when check_header passes for its parts."""
    name, sep, value = line.partition(":")
    if not sep:
        raise ConfigError(f"{where}: {line!r}: expected 'Name: value'")
    check_header(name.strip(), value.strip(), where)
    bad = _which(value)  # strip() would have hidden a trailing CR/LF
    if bad:
        raise ConfigError(f"{where}: the value of header {name.strip()!r} contains {bad}")
    return line


def check_url(url: str, where: str) -> str:
    """Refuse a URL holding CR, LF, NUL or another control character (the URL itself is quoted
    with repr(), so the message stays one printable line)."""
    m = _CONTROL.search(url)
    if m:
        ch = m.group()
        what = _which(ch) or f"a control character ({ch!r})"
        raise ConfigError(f"{where}: {url!r} contains {what}")
    return url
