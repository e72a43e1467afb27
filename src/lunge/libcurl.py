"""Which libcurl the engine drives: the one pycurl links (the design's "one libcurl").

pycurl's wheels bundle libcurl 8.x (pycurl.libs/ on Linux, .dylibs on macOS).  On Linux we
find that file without importing pycurl, so the engine loads and initialises it first and
gives it lunge's allocator (csrc/lunge_alloc.h); pycurl, imported later, links the same
instance.  Otherwise `import pycurl` maps the library, we find its file in the process's
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
    elif sys.platform == "darwin":
        dyld = ctypes.CDLL(None)
        dyld._dyld_get_image_name.restype = ctypes.c_char_p
        for i in range(dyld._dyld_image_count()):
            name = dyld._dyld_get_image_name(i).decode()
            if os.path.basename(name).startswith("libcurl"):
                return name
    return None


def _wheel_libcurl() -> str | None:
    """The libcurl in pycurl's Linux wheel (site-packages/pycurl.libs/libcurl-<hash>.so.*),
    found without importing pycurl; None when there is not exactly one."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        spec = importlib.util.find_spec("pycurl")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    pkg = os.path.dirname(spec.origin)  # pycurl/ (a package since 7.45) or site-packages/
    site = os.path.dirname(pkg) if spec.submodule_search_locations else pkg
    found = glob.glob(os.path.join(site, "pycurl.libs", "libcurl*.so*"))
    return found[0] if len(found) == 1 else None


@functools.lru_cache(maxsize=1)
def locate() -> tuple[str, str]:
    """(path of the libcurl file, where it came from)."""
    path = _wheel_libcurl()
    if path and _mapped_libcurl() in (None, path):
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
    for cand in filter(None, ["libcurl.so.4", found, "libcurl.4.dylib"]):
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
