"""Redaction by value: what lunge.redact cannot see from a header's name.

A secret put into an innocent place (`X-Plain: v-{{apiKey}}`, `?q={{token}}`) or a password in
a URL (`http://user:pw@host/`) would reach reports, errors and verbose output as it is. So
the values of variables whose names look secret (containing key, token, secret, password,
passwd, auth, credential, session or cookie) are noted when they are rendered or extracted,
URL passwords when a URL is checked, and `scrub()` replaces each noted value (and its
percent-encoded forms) with [redacted] in what lunge prints or records, unless
--show-secrets (`show()`).

Values shorter than MIN_LENGTH characters are not noted: replacing "1" or "yes" everywhere
would garble every message; the name-based redaction still applies to them.
"""
from __future__ import annotations

import re
import urllib.parse

from lunge import redact
from lunge.redact import MASK

MIN_LENGTH = 4
_SECRET_NAME = re.compile(r"key|token|secret|passw(or)?d|auth|credential|session|cookie", re.I)

_values: set[str] = set()
_show = False


def secret_name(name: str) -> bool:
    """Does a variable or header name look like it holds a credential?"""
    return bool(_SECRET_NAME.search(str(name))) or redact.sensitive(str(name))


def reset() -> None:
    """Forget every noted value and --show-secrets (each CLI invocation starts afresh)."""
    global _show
    _values.clear()
    _show = False


def show(on: bool = True) -> None:
    """--show-secrets: print and record the values as they are."""
    global _show
    _show = on


def showing() -> bool:
    return _show


def note_value(value) -> None:
    if not isinstance(value, str):  # numbers under secret-looking names are timeouts and counts far more often
        return
    text = str(value)
    if len(text) < MIN_LENGTH:
        return
    _values.add(text)
    for encoded in (urllib.parse.quote(text, safe=""), urllib.parse.quote_plus(text)):
        _values.add(encoded)


def note(name: str, value) -> None:
    """A variable was given `value`: keep it to scrub if the name looks secret."""
    if secret_name(name):
        note_value(value)


def note_url(url: str) -> None:
    """The password of a URL (user:password@host), to scrub from messages that quote the URL."""
    try:
        password = urllib.parse.urlsplit(url).password
    except ValueError:
        return
    if password:
        note_value(password)
        note_value(urllib.parse.unquote(password))


def known() -> bool:
    return bool(_values)


def scrub(text: str) -> str:
    """`text` with every noted secret value replaced by [redacted] (unless --show-secrets)."""
    if _show or not _values or not isinstance(text, str):
        return text
    for v in sorted(_values, key=len, reverse=True):
        if v in text:
            text = text.replace(v, MASK)
    return text


def header(line: str) -> str:
    """A header line for output: redacted by name (lunge.redact), then by value."""
    if _show:
        return line
    return scrub(redact.header(line))


def url(u: str) -> str:
    """A URL for output: its password and secret-named query values (lunge.redact), then by value."""
    if _show:
        return u
    return scrub(redact.url(u))


def carries_credentials(line: str) -> bool:
    """Is this header a credential (by its name, or by holding a noted secret value)?"""
    name, _, value = line.partition(":")
    return secret_name(name) or any(v in value for v in _values)
