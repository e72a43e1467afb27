"""{{var}} templating and resolve_request: precedence, OS environment, built-ins, undefined
variables, and the plain request a config entry turns into."""
from __future__ import annotations

import json
import re
import time
import uuid

import pytest

from lunge import variables as V
from lunge.config import Config, ResolvedRequest, build_request, load_config, resolve_request
from lunge.errors import ConfigError


def cfg_of(tmp_path, doc) -> Config:
    p = tmp_path / "c.json"
    p.write_text(json.dumps(doc))
    return load_config(p)


def test_precedence_cli_over_extracted_over_suite_over_environment():
    scope = V.Scope(environment={"a": "env", "b": "env", "c": "env", "d": "env"},
                    suite={"a": "suite", "b": "suite", "c": "suite"},
                    extracted={"a": "extracted", "b": "extracted"},
                    cli={"a": "cli"})
    assert V.render("{{a}} {{b}} {{c}} {{d}}", scope, "x") == "cli extracted suite env"
    scope.set(V.EXTRACTED, "d", "late")  # extraction during a run beats environment and suite
    assert V.render("{{d}}", scope, "x") == "late"


def test_undefined_variable_names_it_and_where():
    with pytest.raises(V.UndefinedVariable) as exc:
        V.render({"a": ["ok", "{{nope}}"]}, V.Scope(), "requests.r.body")
    assert exc.value.message == "requests.r.body.a[1]: undefined variable 'nope'"
    assert exc.value.name == "nope"


def test_os_environment(monkeypatch):
    monkeypatch.setenv("LUNGE_T_TOKEN", "s3cret")
    monkeypatch.delenv("LUNGE_T_UNSET", raising=False)
    s = V.Scope()
    assert V.render("Bearer {{$env.LUNGE_T_TOKEN}}", s, "x") == "Bearer s3cret"
    assert V.render("${LUNGE_T_TOKEN}/${LUNGE_T_UNSET:-fallback}", s, "x") == "s3cret/fallback"
    assert V.render("${LUNGE_T_UNSET:-}", s, "x") == ""
    with pytest.raises(V.UndefinedVariable, match=r"headers.X: undefined variable '\$env.LUNGE_T_UNSET'"):
        V.render("{{$env.LUNGE_T_UNSET}}", s, "headers.X")
    with pytest.raises(V.UndefinedVariable, match=r"undefined variable '\$\{LUNGE_T_UNSET\}'"):
        V.render("${LUNGE_T_UNSET}", s, "url")


def test_builtins():
    s = V.Scope()
    u = V.render("{{$uuid}}", s, "x")
    assert uuid.UUID(u).version == 4 and u != V.render("{{$uuid}}", s, "x")
    ts = V.render("{{$timestamp}}", s, "x")
    assert isinstance(ts, int) and abs(ts - time.time()) < 5
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", V.render("{{$isoTimestamp}}", s, "x"))
    assert 0 <= V.render("{{$randomInt}}", s, "x") < 1_000_000
    assert {V.render("{{ $randomInt 3 4 }}", s, "x") for _ in range(200)} == {3, 4}
    assert re.fullmatch(r"id-\d+", V.render("id-{{$randomInt}}", s, "x"))
    with pytest.raises(ConfigError, match=r"x: unknown built-in \{\{\$uid\}\}"):
        V.render("{{$uid}}", s, "x")
    with pytest.raises(ConfigError, match="MIN is greater than MAX"):
        V.render("{{$randomInt 5 1}}", s, "x")


def test_whole_placeholder_keeps_type_and_text_uses_json_spelling():
    s = V.Scope(suite={"n": 7, "flag": True, "name": "x"})
    assert V.render("{{n}}", s, "x") == 7
    assert V.render({"n": "{{n}}", "f": "{{flag}}"}, s, "x") == {"n": 7, "f": True}
    assert V.render("n={{n}} f={{flag}} {{name}}", s, "x") == "n=7 f=true x"


def test_variable_values_can_use_placeholders_and_cycles_are_caught(monkeypatch):
    monkeypatch.setenv("LUNGE_T_PORT", "8123")
    s = V.Scope(environment={"port": "${LUNGE_T_PORT:-80}", "base": "http://h:{{port}}"})
    assert V.render("{{base}}/x", s, "url") == "http://h:8123/x"
    s = V.Scope(suite={"a": "{{b}}", "b": "{{a}}"})
    with pytest.raises(ConfigError, match="refers to itself"):
        V.render("{{a}}", s, "url")


def test_parse_assignments():
    assert V.parse_assignments(["a=1", "b=x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    with pytest.raises(ConfigError, match=r"--var 'oops': expected NAME=VALUE"):
        V.parse_assignments(["oops"])


DOC = {
    "environments": {"dev": {"baseUrl": "http://127.0.0.1:8000/api/", "variables": {"who": "env", "v": "1"}},
                     "other": {"variables": {"who": "other"}}},
    "requests": {
        "create": {"method": "POST", "url": "users/{{who}}", "headers": {"X-Who": "{{who}}", "X-N": 5},
                   "queryParams": {"v": "{{v}}", "tag": ["a", "b c"]},
                   "body": {"name": "{{who}}", "n": "{{v}}"}, "timeout": "1m30s"},
        "raw": {"method": "PUT", "url": "http://10.0.0.1/abs", "body": "hello {{who}}",
                "headers": {"Content-Type": "text/plain"}},
        "file": {"method": "POST", "url": "/upload", "body": "@payload.bin"},
        "typed": {"method": "PATCH", "url": "/t", "headers": {"content-type": "application/merge-patch+json"},
                  "body": {"a": 1}, "followRedirects": True, "insecure": True},
    },
}


def test_resolve_request_renders_everything(tmp_path):
    cfg = cfg_of(tmp_path, DOC)
    r = resolve_request(cfg, "dev", "create")
    assert r == ResolvedRequest(
        method="POST", url="http://127.0.0.1:8000/api/users/env?v=1&tag=a&tag=b+c",
        headers=["X-Who: env", "X-N: 5", "Content-Type: application/json"],
        body=b'{"name": "env", "n": "1"}', timeout=90.0, name="create")
    # --var beats the environment everywhere
    r = resolve_request(cfg, "dev", "create", {"who": "cli"})
    assert r.url.startswith("http://127.0.0.1:8000/api/users/cli?") and "X-Who: cli" in r.headers
    assert json.loads(r.body) == {"name": "cli", "n": "1"}


def test_resolve_request_body_kinds(tmp_path):
    (tmp_path / "payload.bin").write_bytes(b"\x00\x01{{not rendered}}")
    cfg = cfg_of(tmp_path, DOC)
    raw = resolve_request(cfg, "dev", "raw")
    assert (raw.url, raw.body, raw.headers) == ("http://10.0.0.1/abs", b"hello env", ["Content-Type: text/plain"])
    f = resolve_request(cfg, "dev", "file")
    assert f.body == b"\x00\x01{{not rendered}}" and f.headers == [] and f.url == "http://127.0.0.1:8000/api/upload"
    t = resolve_request(cfg, "dev", "typed")
    assert t.headers == ["content-type: application/merge-patch+json"]  # not overridden
    assert (t.follow_redirects, t.insecure, t.timeout) == (True, True, None)


def test_resolve_request_errors(tmp_path):
    cfg = cfg_of(tmp_path, DOC)
    with pytest.raises(V.UndefinedVariable, match=r"requests.create.url: undefined variable 'who'"):
        build_request(cfg, "create", V.Scope(), {"baseUrl": "http://h"})
    with pytest.raises(ConfigError, match=r"requests.create.url: 'users/other' is not absolute and there is no "
                                          r"environment baseUrl"):
        resolve_request(cfg, "other", "create", {"v": "1"})
    with pytest.raises(ConfigError, match=r"unknown request 'nope'"):
        resolve_request(cfg, "dev", "nope")
    with pytest.raises(ConfigError, match=r"cannot read body file"):
        resolve_request(cfg, "dev", "file")
    with pytest.raises(ConfigError, match=r"is not an http:// or https:// URL"):
        build_request(cfg, "create", V.Scope(cli={"who": "w", "v": 1}), {"baseUrl": "ftp://h"})
    with pytest.raises(ConfigError, match=r"several environments, choose one with -e: dev, other"):
        resolve_request(cfg, None, "raw")
