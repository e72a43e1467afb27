"""Which libcurl the engine drives: the one pycurl has loaded (the design's "one libcurl").

pycurl's wheels bundle libcurl 8.x (pycurl.libs/ on Linux, .dylibs on macOS). After
`import pycurl` that library is mapped in this process; we find its file and hand it to
the engine, whose dlopen then returns the very same instance.  A pycurl built from source
links the system libcurl: that is then the one found, and `lunge --version` says so.
Without pycurl we fall back to the system's libcurl.so.4.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import sys

from lunge.errors import LungeError


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


@functools.lru_cache(maxsize=1)
def locate() -> tuple[str, str]:
    """(path of the libcurl file, where it came from)."""
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
    raise LungeError("no libcurl found: install pycurl (pip install pycurl) or the system's libcurl4")


@functools.lru_cache(maxsize=1)
def load() -> dict:
    """Load libcurl into the engine (once) and return its version facts."""
    from lunge._native import engine

    path, origin = locate()
    info = engine.load_libcurl(path)
    return {**info, "path": path, "origin": origin}
