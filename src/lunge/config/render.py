"""Rendering a config's request: every variable filled in, the URL joined to the
environment's baseUrl, the body encoded. The result, a plain ResolvedRequest, is what gets
sent by the request toolkit (pycurl) or the load engine.
"""
from __future__ import annotations

import base64
import json
import os
import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from lunge import variables as V
from lunge.config.model import Config
from lunge.errors import ConfigError
from lunge.settings import check_http3, http3_setting
from lunge.units import parse_duration
from lunge.urls import check_url
from lunge.wire import check_header


@dataclass
class ResolvedRequest:
    """A request with every variable filled in: what gets sent (by pycurl or the load engine)."""
    method: str
    url: str
    headers: list[str] = field(default_factory=list)  # "Name: value"
    body: bytes | None = None
    timeout: float | None = None  # seconds
    name: str | None = None
    follow_redirects: bool = False
    insecure: bool = False
    http3: str | None = None      # "only" or "fallback": HTTP/3 over QUIC (the request's `http3`)


def _checked(check, args: tuple, templates: tuple, scope: V.Scope) -> None:
    """check(*args); refused because of a value extracted from a response, V.FromResponse
    (that request fails, not the run); refused because of the user's own values, ConfigError."""
    try:
        check(*args)
    except ConfigError as e:
        names = list(dict.fromkeys(n for t in templates for n in V.from_response(t, scope)))
        if not names:
            raise
        raise V.FromResponse(f"{e.message} (it holds {', '.join(map(repr, names))}, extracted from a response)",
                             names) from None


def _headers(cfg: Config, table: dict | None, scope: V.Scope, where: str) -> list[str]:
    out = []
    for k, v in (table or {}).items():
        hname, hvalue = V.render_text(k, scope, where), V.render_text(v, scope, f"{where}.{k}")
        # at render time: a variable (one extracted from a response too) cannot add a header line
        _checked(check_header, (hname, hvalue, f"{cfg.path}: {where}.{k}"), (k, v), scope)
        out.append(f"{hname}: {hvalue}")
    return out


def _has(headers: list[str], name: str) -> bool:
    return any(h.partition(":")[0].strip().lower() == name.strip().lower() for h in headers)


def _authorization(cfg: Config, auth: dict, scope: V.Scope, where: str) -> str:
    """Go Lunge's documented `auth` block (doc/Examples.md) as an Authorization header."""
    if auth["type"] == "basic":
        user = V.render_text(auth["username"], scope, f"{where}.username")
        password = V.render_text(auth["password"], scope, f"{where}.password")
        value = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    else:
        value = "Bearer " + V.render_text(auth["token"], scope, f"{where}.token")
    _checked(check_header, ("Authorization", value, f"{cfg.path}: {where}"), tuple(auth.values()), scope)
    return f"Authorization: {value}"


def build_request(cfg: Config, name: str, scope: V.Scope, env: dict | None = None,
                  env_name: str | None = None) -> ResolvedRequest:
    """Render requests.NAME with `scope`; `env` supplies baseUrl and headers."""
    req = cfg.request(name)
    w = f"requests.{name}"
    url = V.render_text(req["url"], scope, f"{w}.url")
    if not re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", url):
        base = (env or {}).get("baseUrl")
        if not base:
            raise cfg.error(f"{w}.url: {url!r} is not absolute and there is no environment baseUrl to join it to")
        base = V.render_text(base, scope, "baseUrl")
        url = base.rstrip("/") + "/" + url.lstrip("/")
    query = req.get("queryParams")
    if query:
        pairs = []
        for k, v in query.items():
            for item in v if isinstance(v, list) else [v]:
                pairs.append((V.render_text(k, scope, f"{w}.queryParams"),
                              V.render_text(item, scope, f"{w}.queryParams.{k}")))
        url += ("&" if "?" in url else "?") + urllib.parse.urlencode(pairs)
    templates = (req["url"], (env or {}).get("baseUrl"),
                 *[x for k, v in (query or {}).items() for x in (k, *(v if isinstance(v, list) else [v]))])
    _checked(check_url, (url, f"{cfg.path}: {w}.url"), templates, scope)
    headers = _headers(cfg, req.get("headers"), scope, f"{w}.headers")
    auth = req.get("auth")
    if auth and not _has(headers, "Authorization"):
        headers.append(_authorization(cfg, auth, scope, f"{w}.auth"))
    # The environment's headers go with every request; a request's own header of the same name wins.
    if env and env.get("headers"):
        ename = f"environments.{env_name}.headers" if env_name else "environment.headers"
        headers += [h for h in _headers(cfg, env["headers"], scope, ename) if not _has(headers, h.partition(":")[0])]
    body = None
    if "body" in req:
        body, ctype = encode_body(req["body"], scope, f"{w}.body", cfg.base_dir)
        if ctype and not any(h.lower().startswith("content-type:") for h in headers):
            headers.append(f"Content-Type: {ctype}")
    timeout = req.get("timeout")
    http3 = http3_setting(req.get("http3"), f"{w}.http3")
    check_http3(http3, False, url, f"{w}.http3")
    return ResolvedRequest(
        method=req.get("method", "GET").upper(), url=url, headers=headers, body=body,  # Go Lunge's may say "get"
        timeout=None if timeout is None else parse_duration(timeout, f"{w}.timeout"), name=name,
        follow_redirects=req.get("followRedirects", False), insecure=req.get("insecure", False),
        http3=http3)

def scope_for(env: dict | None, suite: dict | None = None, cli_vars: dict | None = None) -> V.Scope:
    return V.Scope(environment=(env or {}).get("variables"), suite=(suite or {}).get("variables"), cli=cli_vars)


def encode_body(body: Any, scope: V.Scope, where: str, base_dir: str = ".") -> tuple[bytes, str | None]:
    """(bytes, content type to add or None): objects and arrays as JSON, strings as is, @file read."""
    if isinstance(body, str) and body.startswith("@"):
        path = os.path.join(base_dir, V.render_text(body[1:], scope, where))
        from lunge import safeload

        try:
            return safeload.read_request_body(path, f"{where}: body file {path!r}"), None
        except OSError as e:
            raise ConfigError(f"{where}: cannot read body file {path!r}: {e.strerror}") from None
    value = V.render(body, scope, where)
    if isinstance(body, str):
        return V.to_text(value).encode("utf-8"), None
    return json.dumps(value).encode("utf-8"), "application/json"


def resolve_request(cfg: Config, env: str | None, name: str, variables: dict | None = None) -> ResolvedRequest:
    """requests.NAME of `cfg`, rendered for environment `env` with `variables` (as --var) on top.

    The plain request a load test sends: method, url (query included), headers, body bytes,
    timeout in seconds. Raises ConfigError for an unknown environment or request, or an
    undefined variable (naming it and where it was used).
    """
    env_name, env_doc = cfg.environment(env)
    return build_request(cfg, name, scope_for(env_doc, cli_vars=variables), env_doc, env_name)
