"""Free-threaded CPython (3.14t, 3.15t): lunge's wheels run there with the GIL on (docs/ci.md).
No free-threaded interpreter is on this machine, so the two pieces are checked apart: the filter
that keeps CPython's GIL warning for lunge's own modules quiet, and what --version says."""
import importlib
import subprocess
import sys
import sysconfig

cli_main = importlib.import_module("lunge.cli.main")

# CPython's text (Python/import.c, _PyImport_CheckGILForModule), with the module's full name.
GIL_WARNING = ("The global interpreter lock (GIL) has been enabled to load module '{}', which has not declared "
               "that it can run safely without the GIL. To override this behavior and keep the GIL disabled "
               "(at your own risk), run with PYTHON_GIL=0 or -Xgil=0.")


def _shown(module):
    """What a fresh interpreter prints when the warning comes after `import lunge` (pytest's own
    warning filters would hide lunge's here)."""
    code = (f"import lunge, warnings; warnings.warn_explicit({GIL_WARNING.format(module)!r}, RuntimeWarning, "
            f"'<import>', 1)")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stderr


def test_the_gil_warning_is_quiet_for_lunges_modules_only():
    assert _shown("lunge._native.engine") == ""
    assert _shown("lunge._native.flow") == ""
    # another package's module still warns: lunge hides only what it causes
    assert GIL_WARNING.format("somepkg._speedups") in _shown("somepkg._speedups")


def test_version_says_whether_the_gil_is_on(monkeypatch):
    assert cli_main._python_text().startswith("Python 3.")
    real = sysconfig.get_config_var
    monkeypatch.setattr(sysconfig, "get_config_var", lambda name: 1 if name == "Py_GIL_DISABLED" else real(name))
    monkeypatch.setattr(cli_main.sys, "_is_gil_enabled", lambda: True, raising=False)
    assert "free-threaded; the GIL is on: lunge's native modules turn it on)" in cli_main._python_text()
    monkeypatch.setattr(cli_main.sys, "_is_gil_enabled", lambda: False, raising=False)
    assert cli_main._python_text().endswith("free-threaded; the GIL is off)")
