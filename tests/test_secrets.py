"""Credentials never reach a report unless --show-secrets: JSON, HTML, CSV and text."""
import glob

import pytest

from conftest import lunge

SECRETS = ("s3cr3t-bearer", "k3y-value", "pa55w0rd", "t0k3n-q", "c00kie-v")


def run(target, tmp_path, *extra):
    host = target.url.split("://", 1)[1]
    base = tmp_path / "r"
    r = lunge("perf", "--url", f"http://user:pa55w0rd@{host}/echo?token=t0k3n-q&page=2",
              "-H", "Authorization: Bearer s3cr3t-bearer", "-H", "X-Api-Key: k3y-value",
              "-H", "Cookie: session=c00kie-v", "-H", "Accept: application/json", "-n", 10, "--concurrency", 2,
              "--format", "json", "--format", "html", "--format", "csv", "--output", base, *extra)
    assert r.code == 0, r.err
    texts = {p: open(p).read() for p in glob.glob(f"{base}*")}
    assert {p.rsplit(".", 1)[-1] for p in texts} >= {"json", "html", "csv"}
    texts["stdout"] = r.out
    texts["stderr"] = r.err
    return texts


@pytest.mark.slow
def test_secrets_are_redacted_everywhere(fresh_target, tmp_path):
    texts = run(fresh_target, tmp_path)
    for where, text in texts.items():
        for secret in SECRETS:
            assert secret not in text, (secret, where)
    json_text = [t for p, t in texts.items() if p.endswith(".json")][0]
    assert "Authorization: [redacted]" in json_text and "Accept: application/json" in json_text
    assert "page=2" in json_text and "user:[redacted]@" in json_text.replace("%5B", "[").replace("%5D", "]")
    # the server did get the real values: redaction is for reports only
    assert fresh_target.stats()["requests"] == 10


@pytest.mark.slow
def test_show_secrets_keeps_them(fresh_target, tmp_path):
    texts = run(fresh_target, tmp_path, "--show-secrets")
    json_text = [t for p, t in texts.items() if p.endswith(".json")][0]
    for secret in SECRETS:
        assert secret in json_text, secret
