"""The .pyi stubs of the compiled modules match them: Engine's constructor against the signature
Cython embeds in the class docstring (stubtest cannot see a cdef class's __init__), everything
else with mypy's stubtest when mypy is installed."""
import ast
import importlib.util
import re
import subprocess
import sys

import pytest

from conftest import REPO

NATIVE = REPO / "src" / "lunge" / "_native"


@pytest.mark.parametrize("module, name", [("engine", "Engine"), ("flow", "FlowEngine")])
def test_engine_constructor_stub_matches_the_engine(module, name):
    cls_obj = getattr(importlib.import_module(f"lunge._native.{module}"), name)

    # "Engine(str url, *, str method='GET', headers=(), bytes body=None, ...)"
    embedded = cls_obj.__doc__.splitlines()[0]
    params = re.match(rf"{name}\((.*)\)$", embedded).group(1)
    runtime = {}
    for p in params.split(", "):
        if p == "*":
            continue
        decl, _, default = p.partition("=")
        runtime[decl.split()[-1]] = ast.literal_eval(default) if default else "required"

    stub = ast.parse((NATIVE / f"{module}.pyi").read_text())
    cls = next(n for n in stub.body if isinstance(n, ast.ClassDef) and n.name == name)
    init = next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    a = init.args
    assert [x.arg for x in a.args] == ["self"] and not a.vararg and not a.kwarg  # keyword-only, as in the .pyx
    stubbed = {x.arg: ast.literal_eval(d) if d is not None else "required" for x, d in zip(a.kwonlyargs, a.kw_defaults)}
    assert list(stubbed) == list(runtime)
    assert stubbed == runtime


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is not installed")
def test_stubtest():
    out = subprocess.run([sys.executable, "-m", "mypy.stubtest", "--allowlist", str(REPO / "tests" / "stubtest_allowlist.txt"),
                          "lunge._native.engine", "lunge._native.hist", "lunge._native.contract",
                          "lunge._native.flowkit", "lunge._native.flow"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
