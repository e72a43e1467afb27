"""URL checks shared by the request toolkit and load plans: one line naming the field."""
from __future__ import annotations

import urllib.parse

from lunge.errors import ConfigError


def check_url(url: str, field_name: str = "--url") -> str:
    from lunge import secretvalues, wire

    secretvalues.note_url(url)  # its password is redacted from any message that quotes it
    wire.check_url(url, field_name)  # CR, LF, NUL and other control characters
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError as e:
        raise ConfigError(f"{field_name}: {url!r} is not a valid URL ({e})") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ConfigError(f"{field_name}: {url!r} is not an http:// or https:// URL")
    if not parts.hostname:
        raise ConfigError(f"{field_name}: {url!r} is not an http:// or https:// URL (no host)")
    if any(c.isspace() for c in url):
        raise ConfigError(f"{field_name}: {url!r} contains whitespace")
    return url
