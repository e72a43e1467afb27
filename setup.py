"""Build the native core: one Extension per .pyx (see csrc/ for the C headers they share).

LUNGE_ANNOTATE=1 writes Cython's HTML annotation next to each .pyx;
LUNGE_DEBUG=1 builds with -O0 -g and Cython's bounds checks on.
"""
import os
import platform
import sys

from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("LUNGE_DEBUG") == "1"
ANNOTATE = os.environ.get("LUNGE_ANNOTATE") == "1"

# MSVC's cl takes these spellings too (-O2; -Od -Zi for a debug build).
if sys.platform == "win32":
    compile_args = ["-Od", "-Zi"] if DEBUG else ["-O2"]
else:
    compile_args = ["-O0", "-g"] if DEBUG else ["-O2"]
if sys.platform.startswith("linux") and platform.machine() in ("x86_64", "AMD64") \
        and platform.libc_ver()[0] == "glibc" \
        and "clang" not in os.environ.get("CC", ""):  # (clang took the flag only lately)
    # TLS descriptors: csrc/lunge_alloc.h's per-thread stash is read ~60 times per request, and
    # the default dialect calls __tls_get_addr each time (~650 instructions per request).
    # (aarch64 uses descriptors already.)  glibc only: the stash is glibc-only, and musl (Alpine,
    # docs/ci.md) builds the engine without it.
    compile_args.append("-mtls-dialect=gnu2")
# dlopen/dlsym, and pthread keys, live in libdl and libpthread before glibc 2.34 (manylinux2014);
# libc has them on macOS.  Windows: WSAPoll (ws2_32) and timeBeginPeriod (winmm), csrc/lunge_wait.h.
if sys.platform.startswith("linux"):
    libraries = ["dl", "pthread"]
elif sys.platform == "win32":
    libraries = ["ws2_32", "winmm"]
else:
    libraries = []


def ext(name):
    return Extension(
        f"lunge._native.{name}",
        [f"src/lunge/_native/{name}.pyx"],
        include_dirs=["csrc"],
        extra_compile_args=compile_args,
        libraries=libraries,
        depends=[os.path.join("csrc", f) for f in os.listdir("csrc")],
    )


directives = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": DEBUG,
    "embedsignature": True,
}

setup(
    ext_modules=cythonize(
        [ext("hist"), ext("engine"), ext("flowkit"), ext("flow")],
        compiler_directives=directives,
        annotate=ANNOTATE,
    ),
)
