"""Which libcurl the engine drives: the one pycurl links (the design's "one libcurl").

pycurl's wheels bundle libcurl 8.x (pycurl.libs/ on Linux and Windows, .dylibs on macOS).  On
Linux we find that file without importing pycurl, so the engine loads and initialises it first
and gives it lunge's allocator (csrc/lunge_alloc.h); pycurl, imported later, links the same
instance.  On Windows too the wheel's DLL is found without importing pycurl: the engine loads
it with its own folder searched for its dependencies (libssl, nghttp2...: lunge_curl.h), and
pycurl's extension, importing the DLL by the same name, gets the instance already loaded.  Otherwise `import pycurl` maps the library, we find its file in the process's
mappings and the engine's dlopen returns that very instance.  A pycurl built from source
links the system libcurl: that is then the one found, and `lunge --version` says so.
Without pycurl we fall back to the system's libcurl.so.4.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import glob
import importlib.util
import os
import sys

from lunge.errors import InternalError


def _mapped_libcurl() -> str | None:
    if sys.platform.startswith("linux"):
        try:
            with open("/proc/self/maps") as f:
                for line in f:
                    path = line.rstrip("\n").split(None, 5)[-1]
                    if os.path.basename(path).startswith("libcurl") and ".so" in path:
                        return path
        except OSError:
            return None
    elif sys.platform == "win32":
        return _loaded_windows_module("libcurl")
    elif sys.platform == "darwin":
        dyld = ctypes.CDLL(None)
        dyld._dyld_get_image_name.restype = ctypes.c_char_p
        for i in range(dyld._dyld_image_count()):
            name = dyld._dyld_get_image_name(i).decode()
            if os.path.basename(name).startswith("libcurl"):
                return name
    return None


def _loaded_windows_module(prefix: str) -> str | None:
    """The file of a DLL loaded in this process whose name starts with prefix (Windows)."""
    if sys.platform != "win32":
        return None
    from ctypes import wintypes

    k32 = ctypes.WinDLL("kernel32", use_last_error=True)
    k32.GetCurrentProcess.restype = wintypes.HANDLE
    k32.K32EnumProcessModules.argtypes = [wintypes.HANDLE, ctypes.POINTER(wintypes.HMODULE), wintypes.DWORD,
                                          ctypes.POINTER(wintypes.DWORD)]
    k32.GetModuleFileNameW.argtypes = [wintypes.HMODULE, wintypes.LPWSTR, wintypes.DWORD]
    proc = k32.GetCurrentProcess()
    n, needed = 1024, wintypes.DWORD()
    while True:
        mods = (wintypes.HMODULE * n)()
        if not k32.K32EnumProcessModules(proc, mods, ctypes.sizeof(mods), ctypes.byref(needed)):
            return None
        if needed.value <= ctypes.sizeof(mods):
            break
        n = needed.value // ctypes.sizeof(wintypes.HMODULE) + 16
    buf = ctypes.create_unicode_buffer(32768)
    for mod in mods[:needed.value // ctypes.sizeof(wintypes.HMODULE)]:
        if mod and k32.GetModuleFileNameW(mod, buf, len(buf)):
            name = os.path.basename(buf.value).lower()
            if name.startswith(prefix) and name.endswith(".dll"):
                return buf.value
    return None


# The libcurl file in pycurl's wheel: libcurl-<hash>.so.* (auditwheel) or libcurl-<hash>.dll (delvewheel).
WHEEL_LIBCURL = {"linux": "libcurl*.so*", "win32": "libcurl*.dll"}


def _wheel_libcurl() -> str | None:
    """The libcurl in pycurl's Linux or Windows wheel (site-packages/pycurl.libs/), found without
    importing pycurl; None when there is not exactly one."""
    pattern = WHEEL_LIBCURL.get("linux" if sys.platform.startswith("linux") else sys.platform)
    if pattern is None:
        return None
    try:
        spec = importlib.util.find_spec("pycurl")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    pkg = os.path.dirname(spec.origin)  # pycurl/ (a package since 7.45) or site-packages/
    site = os.path.dirname(pkg) if spec.submodule_search_locations else pkg
    found = glob.glob(os.path.join(site, "pycurl.libs", pattern))
    return found[0] if len(found) == 1 else None


@functools.lru_cache(maxsize=1)
def locate() -> tuple[str, str]:
    """(path of the libcurl file, where it came from)."""
    path = _wheel_libcurl()
    mapped = _mapped_libcurl()
    # (normcase: Windows names one file in any letter case)
    if path and (mapped is None or os.path.normcase(mapped) == os.path.normcase(path)):
        return path, "bundled with pycurl's wheel"
    try:
        import pycurl  # noqa: F401  (maps pycurl's libcurl into this process)
    except ImportError:
        pycurl = None
    path = _mapped_libcurl()
    if path:
        bundled = "pycurl.libs" in path or ".dylibs" in path
        return path, "bundled with pycurl's wheel" if bundled else "the system's, linked by pycurl"
    found = ctypes.util.find_library("curl")
    # (Windows: curl's own builds name it libcurl-x64.dll; Windows' curl.exe has none to share)
    for cand in filter(None, ["libcurl.so.4", found, "libcurl.4.dylib", "libcurl-x64.dll", "libcurl.dll"]):
        try:
            ctypes.CDLL(cand)
            return cand, "the system's (pycurl not importable)" if pycurl is None else "the system's"
        except OSError:
            continue
    raise InternalError("no libcurl found: install pycurl (pip install pycurl) or the system's libcurl4")


@functools.lru_cache(maxsize=1)
def load() -> dict:
    """Load libcurl into the engines (once) and return its version facts."""
    from lunge._native import engine, flow

    path, origin = locate()
    info = engine.load_libcurl(path)
    # Each extension module has its own function table (csrc/lunge_curl.h's static LC): the
    # same libcurl instance (dlopen counts references), set up by the first.
    flow.load_libcurl(path)
    return {**info, "path": path, "origin": origin}
