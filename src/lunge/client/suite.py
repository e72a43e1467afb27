"""Run a suite: its requests in order, extracted variables flowing to later requests, and each
test's assertions on the response of the request it names.

A test whose request has not run yet sends it when the test is reached. A request that fails
to send, or a variable that an earlier request should have extracted but did not, fails the
tests that depend on it (exit 1); other undefined variables are config errors (exit 2). So
does a header or URL refused because of a value extracted from a response (CR/LF in a token,
a Location that is not http(s)): what a server sent is not the user's bad input.

A request's `validate` block (Go Lunge's) is checked on its response and reported as one more
test, "NAME: validate". `run_requests` is `lunge run -s`: the suite's requests only, in order.
"""
from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lunge import variables as V
from lunge.client.assertions import Outcome, check, check_validate
from lunge.client.http import RequestFailed, Response, send
from lunge.config import Config, build_request, parse_jsonpath, scope_for
from lunge.errors import ConfigError


@dataclass
class TestResult:
    name: str
    request: str
    outcomes: list[Outcome] = field(default_factory=list)
    status: int | None = None
    elapsed_ms: float | None = None
    error: str | None = None  # the request could not be sent or extraction failed

    @property
    def passed(self) -> bool:
        return self.error is None and all(o.passed for o in self.outcomes)

    def failures(self) -> list[str]:
        out = [self.error] if self.error else []
        return out + [f"{o.description}: {o.message}" for o in self.outcomes if not o.passed]

    def as_dict(self) -> dict:
        return {"name": self.name, "request": self.request, "passed": self.passed, "status": self.status,
                "timeMs": self.elapsed_ms, "error": self.error,
                "assertions": [o.as_dict() for o in self.outcomes],
                "durationMs": round(self.elapsed_ms or 0)}  # Go Lunge's name: whole milliseconds


@dataclass
class SuiteResult:
    suite: str
    environment: str | None
    started: str  # ISO 8601 UTC
    tests: list[TestResult] = field(default_factory=list)
    duration_ms: float = 0.0

    @property
    def failed(self) -> int:
        return sum(not t.passed for t in self.tests)

    @property
    def passed(self) -> bool:
        return self.failed == 0

    def as_dict(self) -> dict:
        outcomes = [o for t in self.tests for o in t.outcomes]
        passed = sum(o.passed for o in outcomes)
        return {"suite": self.suite, "environment": self.environment, "startTime": self.started,
                "durationMs": round(self.duration_ms, 3),
                "summary": {"tests": len(self.tests), "passed": len(self.tests) - self.failed, "failed": self.failed},
                "tests": [t.as_dict() for t in self.tests],
                # Go Lunge's report fields beside lunge's, so a CI script written for either reads it.
                "timestamp": self.started, "totalTests": len(self.tests), "passedTests": len(self.tests) - self.failed,
                "failedTests": self.failed, "totalAssertions": len(outcomes), "passedAssertions": passed,
                "failedAssertions": len(outcomes) - passed}


def extract(spec: dict[str, str], resp: Response, where: str) -> tuple[dict[str, Any], list[str]]:
    """Variables taken from `resp` per `extract` ({"var": "$.path" | "header:Name" | "status"}),
    and a message for each one that found nothing."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    for var, source in spec.items():
        if source == "status":
            values[var] = resp.status
        elif source.startswith("header:"):
            value = resp.header(source[7:].strip())
            if value is None:
                problems.append(f"extract {var}: no header {source[7:].strip()} in the response")
            else:
                values[var] = value
        else:
            try:
                doc = resp.json()
            except (ValueError, UnicodeDecodeError):
                problems.append(f"extract {var}: response body is not JSON")
                continue
            found = [m.value for m in parse_jsonpath(source, f"{where}.{var}").find(doc)]
            if not found:
                problems.append(f"extract {var}: {source} matched nothing")
            else:
                values[var] = found[0] if len(found) == 1 else found
    return values, problems


class _Run:
    def __init__(self, cfg: Config, env: dict, scope: V.Scope, sender: Callable[..., Response],
                 env_name: str | None = None, **send_opts):
        self.cfg, self.env, self.scope, self.sender, self.send_opts = cfg, env, scope, sender, send_opts
        self.env_name = env_name
        self.results: dict[str, tuple[Response | None, list[str]]] = {}
        self.validated: dict[str, list[Outcome]] = {}  # the validate block's outcomes, by request
        self.extracted: dict[str, dict[str, Any]] = {}
        # Variables some request extracts: undefined only because an earlier step failed.
        self.extractable = {v for r in cfg.requests.values() for v in (r.get("extract") or {})}

    def send(self, name: str) -> None:
        try:
            req = build_request(self.cfg, name, self.scope, self.env, self.env_name)
        except V.UndefinedVariable as e:
            if e.name not in self.extractable:
                raise
            self.results[name] = (None, [f"not sent: variable {e.name!r} was not extracted ({e.where})"])
            return
        except V.FromResponse as e:  # a response's value refused in a header or URL: fails this request only
            self.results[name] = (None, [f"not sent: {e.message}"])
            return
        try:
            resp = self.sender(req, **self.send_opts)
        except RequestFailed as e:
            self.results[name] = (None, [f"request failed: {e.message}"])
            return
        values, problems = extract(self.cfg.requests[name].get("extract") or {}, resp, f"requests.{name}.extract")
        for k, v in values.items():
            self.scope.set(V.EXTRACTED, k, v)
        self.results[name] = (resp, problems)
        self.extracted[name] = values
        block = self.cfg.requests[name].get("validate")
        if block is not None:
            self.validated[name] = check_validate(block, resp, self.scope, self.cfg, f"requests.{name}.validate")

    def validate_result(self, name: str) -> TestResult | None:
        """The validate block of request `name` (sent) as a test, or None if it has none."""
        if "validate" not in self.cfg.requests[name]:
            return None
        resp, problems = self.results[name]
        tr = TestResult(f"{name}: validate", name, self.validated.get(name, []))
        if resp is None:
            tr.error = "; ".join(problems)
        else:
            tr.status, tr.elapsed_ms = resp.status, resp.timing.total
        return tr


def run_suite(cfg: Config, env_name: str | None, suite_name: str, cli_vars: dict | None = None,
              only: str | None = None, sender: Callable[..., Response] = send, **send_opts) -> SuiteResult:
    """Run suites.SUITE against environment `env_name`; `only` keeps one test (the requests
    before it still run, so the variables it needs are extracted)."""
    env_name, env = cfg.environment(env_name)
    suite = cfg.suite(suite_name)
    tests = suite.get("tests") or []
    if only is not None and only not in [t["name"] for t in tests]:
        names = ", ".join(t["name"] for t in tests) or "none"
        raise ConfigError(f"{cfg.path}: suite {suite_name!r} has no test {only!r}; its tests: {names}")
    run = _Run(cfg, env, scope_for(env, suite, cli_vars), sender, env_name, **send_opts)
    result = SuiteResult(suite_name, env_name, datetime.datetime.now(datetime.timezone.utc)
                         .isoformat(timespec="milliseconds").replace("+00:00", "Z"))
    t0 = time.perf_counter()

    def send(name: str) -> None:
        run.send(name)
        validated = run.validate_result(name)
        if validated is not None and only is None:  # -t reports that one test
            result.tests.append(validated)

    for name in suite.get("requests") or []:
        send(name)
    for i, test in enumerate(tests):
        rname = test["request"]
        if rname not in run.results:
            send(rname)
        if only is not None and test["name"] != only:
            continue
        resp, problems = run.results[rname]
        tr = TestResult(test["name"], rname)
        if problems:
            tr.error = "; ".join(problems)
        if resp is not None:
            tr.status, tr.elapsed_ms = resp.status, resp.timing.total
            where = f"suites.{suite_name}.tests[{i}].assertions"
            tr.outcomes = [check(a, resp, run.scope, cfg, f"{where}[{j}]")
                           for j, a in enumerate(test.get("assertions") or [])]
        result.tests.append(tr)
        if only is not None:
            break
    result.duration_ms = (time.perf_counter() - t0) * 1000
    return result


@dataclass
class RequestRun:
    """One request of `lunge run`: its response (None if it was not sent), extracted variables,
    problems (a failed send, variables not extracted) and its validate block's outcomes."""
    name: str
    response: Response | None
    extracted: dict[str, Any]
    problems: list[str]
    validated: TestResult | None

    @property
    def passed(self) -> bool:
        return self.response is not None and (self.validated is None or self.validated.passed)


def run_requests(cfg: Config, env_name: str | None, names: list[str], cli_vars: dict | None = None,
                 suite: dict | None = None, sender: Callable[..., Response] = send, **send_opts):
    """Send `names` in order (`lunge run -r NAME` / `-s SUITE`), extracted variables flowing on;
    yields a RequestRun per request and stops after one that could not be sent."""
    env_name, env = cfg.environment(env_name)
    run = _Run(cfg, env, scope_for(env, suite, cli_vars), sender, env_name, **send_opts)
    for i, name in enumerate(names):
        # Only an earlier request can have been meant to extract a variable: any other undefined
        # variable is a config error (exit 2), as for a lone `run -r`.
        run.extractable = {v for n in names[:i] for v in (cfg.requests[n].get("extract") or {})}
        run.send(name)
        resp, problems = run.results[name]
        yield RequestRun(name, resp, run.extracted.get(name, {}), problems, run.validate_result(name))
        if resp is None:
            return
