"""The platform pieces: which clock, waits and allocator the engine uses (`lunge --version`),
and the Python paths that differ on Windows (docs/windows.md), exercised here by standing in
for what Windows lacks.  The Windows build itself: test_windows_check.py."""
import io
import subprocess
import sys
import time
import types

from conftest import lunge
from lunge import libcurl, prepare, target
from lunge._native import engine
from lunge.live import monitor

# What each platform's build uses (csrc/lunge_clock.h, lunge_wait.h, lunge_alloc.h); the
# Windows line runs on the wheel builders (docs/windows.md).
if sys.platform.startswith("linux"):
    EXPECTED = {"clock": "CLOCK_MONOTONIC", "waits": "sub-millisecond (ppoll, 1 us timer slack)",
                "allocator_built": True, "allocator": "lunge"}
    ALLOCATOR_LINE = "libcurl allocator: lunge's"
elif sys.platform == "win32":
    EXPECTED = {"clock": "QueryPerformanceCounter", "waits": "whole milliseconds (curl_multi_poll, 1 ms timer period)",
                "allocator_built": False, "allocator": "default"}
    ALLOCATOR_LINE = "libcurl allocator: libcurl's default (lunge's needs glibc)"
else:
    EXPECTED = {"clock": "CLOCK_MONOTONIC", "waits": "whole milliseconds (poll on libcurl's sockets)",
                "allocator_built": False, "allocator": "default"}
    ALLOCATOR_LINE = "libcurl allocator: libcurl's default (lunge's needs glibc)"


def test_engine_names_its_clock_waits_and_allocator():
    libcurl.load()
    p = engine.platform()
    if sys.platform.startswith("linux") and p["allocator"] == "default":  # pycurl imported first (another test)
        assert "pycurl" in sys.modules
        p["allocator"] = "lunge"
    assert p == EXPECTED


def test_version_says_which_platform_pieces_are_in_use():
    r = lunge("--version", timeout=60)
    assert r.code == 0, r.err
    assert f"engine clock: {EXPECTED['clock']}; waits: {EXPECTED['waits']}" in r.out
    assert ALLOCATOR_LINE in r.out


def fake_pycurl_site(tmp_path, names):
    """site-packages with a pycurl package and pycurl.libs/ holding `names`; find_spec's answer for it."""
    pkg = tmp_path / "pycurl"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    libs = tmp_path / "pycurl.libs"
    libs.mkdir()
    for n in names:
        (libs / n).write_bytes(b"")
    spec = types.SimpleNamespace(origin=str(pkg / "__init__.py"), submodule_search_locations=[str(pkg)])
    return libs, spec


def test_windows_finds_the_libcurl_dll_of_pycurls_wheel_without_importing_pycurl(tmp_path, monkeypatch):
    # delvewheel's layout: libcurl-<hash>.dll beside the DLLs it needs
    libs, spec = fake_pycurl_site(tmp_path, ["libcurl-9482290b.dll", "libssl-3-x64-52de9a45.dll", "z-3abd2df3.dll"])
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(libcurl.importlib.util, "find_spec", lambda name: spec)
    assert libcurl._wheel_libcurl() == str(libs / "libcurl-9482290b.dll")
    # already loaded (pycurl imported first): the same file, whatever the letter case
    monkeypatch.setattr(libcurl, "_mapped_libcurl", lambda: str(libs / "LIBCURL-9482290B.DLL"))
    monkeypatch.setattr(libcurl.os.path, "normcase", str.lower)  # as ntpath's
    libcurl.locate.cache_clear()
    try:
        assert libcurl.locate() == (str(libs / "libcurl-9482290b.dll"), "bundled with pycurl's wheel")
    finally:
        libcurl.locate.cache_clear()


def test_linux_layout_is_not_taken_for_windows_and_back(tmp_path, monkeypatch):
    _, spec = fake_pycurl_site(tmp_path, ["libcurl-330bcbb6.so.4.8.0"])
    monkeypatch.setattr(libcurl.importlib.util, "find_spec", lambda name: spec)
    monkeypatch.setattr(sys, "platform", "win32")
    assert libcurl._wheel_libcurl() is None
    monkeypatch.setattr(sys, "platform", "linux")
    assert libcurl._wheel_libcurl().endswith("libcurl-330bcbb6.so.4.8.0")
    monkeypatch.setattr(sys, "platform", "darwin")  # .dylibs: found through the loaded image list
    assert libcurl._wheel_libcurl() is None


def test_without_a_descriptor_limit_any_concurrency_is_let_through(monkeypatch):
    # Windows has no resource module: sockets are handles, and there is no limit to raise
    monkeypatch.setattr(prepare, "resource", None)
    prepare.raise_descriptor_limit(1_000_000)


def test_resource_monitor_without_a_descriptor_limit(monkeypatch):
    monkeypatch.setattr(monitor, "resource", None)
    m = monitor.ResourceMonitor()
    assert m.fd_limit is None
    row = m.sample(1.0)
    row["openFds"] = 10 ** 9  # no limit known: no warning about nearing it
    m._check(row)
    assert not any(w.startswith("file_descriptors") for w in m.warnings)


def test_first_line_of_a_child_both_ways(monkeypatch):
    for name in ("posix", "nt"):  # select() on POSIX; a reading thread on Windows
        monkeypatch.setattr(target.os, "name", name)
        p = subprocess.Popen([sys.executable, "-c", "print(4242, flush=True); import time; time.sleep(30)"],
                             stdout=subprocess.PIPE, text=True)
        try:
            assert target.first_line(p.stdout, 30).strip() == "4242"
            t0 = time.monotonic()
            assert target.first_line(p.stdout, 0.3) == ""  # nothing more: bounded, not a hang
            assert time.monotonic() - t0 < 5
        finally:
            p.kill()
            p.wait()


def test_first_line_thread_path_sees_the_end_of_a_stream(monkeypatch):
    monkeypatch.setattr(target.os, "name", "nt")
    assert target.first_line(io.StringIO(""), 5) == ""
    assert target.first_line(io.StringIO("1234\nmore\n"), 5) == "1234\n"
