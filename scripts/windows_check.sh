#!/usr/bin/env bash
# The Windows x64 build, exercised as far as a Linux machine allows (docs/windows.md):
#
#  1. the four Cython modules, generated afresh, cross-compiled with mingw-w64 against Windows
#     CPython headers (Debian's python3.11 source package: Include/ and PC/pyconfig.h), twice:
#     as GCC-compatible compilers see csrc/, and with the branches MSVC takes
#     (-DLUNGE_TEST_MSVC_PATHS); an implicit declaration (a POSIX call Windows lacks) is an error;
#  2. each linked into a .pyd against an import library of python311.dll (dlltool), which
#     must import nothing but python311.dll and Windows' own DLLs;
#  3. scripts/windows/harness.c, built both ways, run under wine against the libcurl DLL of
#     pycurl's win_amd64 wheel: it loads libcurl as the engine does, checks the clock, waits,
#     atomics and histogram index, and drives a curl multi loop against `lunge serve` on
#     127.0.0.1; its response count must equal the server's own.
#
# Needs x86_64-w64-mingw32-gcc and wine (.ci/run installs gcc-mingw-w64-x86-64 and wine64),
# apt-get (for the CPython source package) and pip (for pycurl's Windows wheel).
# Usage: bash scripts/windows_check.sh [PYTHON]   (PYTHON: one with lunge and Cython; default .venv's)
# Work files go to build/windows-check/ (WINDOWS_CHECK_DIR), kept between runs as a cache.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${1:-$ROOT/.venv/bin/python}
OUT=${WINDOWS_CHECK_DIR:-$ROOT/build/windows-check}
REQUESTS=${WINDOWS_CHECK_REQUESTS:-2000}
CONNS=${WINDOWS_CHECK_CONNECTIONS:-20}
CC=x86_64-w64-mingw32-gcc
t_start=$(date +%s)
say() { echo "windows_check: $*"; }
die() { echo "windows_check: $*" >&2; exit 1; }

command -v $CC >/dev/null || die "$CC missing (apt-get install gcc-mingw-w64-x86-64)"
command -v x86_64-w64-mingw32-dlltool >/dev/null || die "x86_64-w64-mingw32-dlltool missing (binutils-mingw-w64-x86-64)"
WINE=$(command -v wine64 || command -v wine || ls /usr/lib/wine/wine64 2>/dev/null || true)
[ -n "$WINE" ] || die "wine missing (apt-get install wine64)"
mkdir -p "$OUT"

# --- Windows CPython headers: Debian's python3.11 source package, through a private apt list
# made from the machine's own Debian mirror (its apt sources are left as they are).
PYSRC=$OUT/Python-3.11
if [ ! -f "$PYSRC/PC/pyconfig.h" ]; then
  say "fetching python3.11's source package for Include/ and PC/pyconfig.h"
  apt_dir=$OUT/apt
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/src"
  mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '$1 == "URIs:" && $2 !~ /security/ {print $2}' | awk 'NR == 1')
  [ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $2 !~ /security/ {print $2}' /etc/apt/sources.list 2>/dev/null | awk 'NR == 1')
  [ -n "$mirror" ] || die "no Debian mirror in /etc/apt: cannot fetch python3.11's source package"
  printf 'deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s bookworm main\n' "$mirror" \
    > "$apt_dir/sources.list"
  opts=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o "Dir::Etc::sourceparts=-" -o "Dir::State::Lists=$apt_dir/lists"
        -o "APT::Get::List-Cleanup=0" -qq)
  apt-get "${opts[@]}" update
  (cd "$apt_dir/src" && apt-get "${opts[@]}" source --download-only python3.11 2>/dev/null)
  tarball=$(ls "$apt_dir"/src/python3.11_*.orig.tar.* | head -1)
  version=${tarball##*_} && top=Python-${version%.orig.tar.*}
  tar xf "$tarball" -C "$OUT" "$top/Include" "$top/PC/pyconfig.h"
  rm -rf "$PYSRC" && mv "$OUT/$top" "$PYSRC"
  rm -rf "$apt_dir"
fi

# --- pycurl's win_amd64 wheel, the same pycurl version as installed here: its libcurl DLL and
# the DLLs that one needs (delvewheel's pycurl.libs/).
PYCURL_VERSION=$("$PY" -c "import importlib.metadata as m; print(m.version('pycurl'))")
LIBS=$OUT/pycurl-$PYCURL_VERSION-win_amd64/pycurl.libs
if ! ls "$LIBS"/libcurl*.dll >/dev/null 2>&1; then
  say "downloading pycurl $PYCURL_VERSION's win_amd64 wheel"
  rm -rf "$OUT/wheel" && mkdir -p "$OUT/wheel"
  "$PY" -m pip download -q --no-deps --only-binary=:all: --platform win_amd64 --python-version 3.12 \
    -d "$OUT/wheel" "pycurl==$PYCURL_VERSION"
  "$PY" -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" \
    "$(ls "$OUT"/wheel/pycurl-*.whl)" "$OUT/pycurl-$PYCURL_VERSION-win_amd64"
fi
DLL=$(ls "$LIBS"/libcurl*.dll)

# --- 1 and 2: the Cython modules, generated from the sources as they are now, cross-compiled and linked.
t_cross=$(date +%s)
C=$OUT/c && rm -rf "$C" && mkdir -p "$C"
if ! "$PY" -c "import Cython" 2>/dev/null; then  # CI's .venv has lunge built in pip's isolated env, not Cython
  [ -d "$OUT/cython/Cython" ] || "$PY" -m pip install -q --target "$OUT/cython" "Cython>=3.0.10"
  export PYTHONPATH=$OUT/cython${PYTHONPATH:+:$PYTHONPATH}
fi
for m in hist engine flowkit flow; do
  # setup.py's directives (no bounds checks): the same C a release build compiles
  "$PY" -m cython -3 -I src -X boundscheck=False,wraparound=False,cdivision=True,initializedcheck=False,embedsignature=True \
    -o "$C/$m.c" "src/lunge/_native/$m.pyx"
done
CFLAGS=(-O2 -DMS_WIN64 -I"$PYSRC/Include" -I"$PYSRC/PC" -Icsrc -Werror=implicit-function-declaration
        -Werror=int-conversion -Werror=incompatible-pointer-types -Werror=pointer-to-int-cast -Werror=int-to-pointer-cast)
for variant in gcc msvc; do
  extra=()
  [ $variant = msvc ] && extra=(-DLUNGE_TEST_MSVC_PATHS)
  O=$C/$variant && mkdir -p "$O"
  for m in hist engine flowkit flow; do
    $CC "${CFLAGS[@]}" "${extra[@]}" -c "$C/$m.c" -o "$O/$m.o" 2> "$O/$m.log" \
      || { cat "$O/$m.log" >&2; die "$m.c ($variant paths) does not compile for Windows"; }
  done
  # python311.dll's import library: every Py* symbol the modules use (dlltool writes the stubs).
  { echo "LIBRARY python311.dll"; echo "EXPORTS"
    x86_64-w64-mingw32-nm -u "$O"/*.o | awk '{print $NF}' | sed 's/^__imp_//' | grep -E '^_?Py' | sort -u
  } > "$O/python311.def"
  x86_64-w64-mingw32-dlltool -d "$O/python311.def" -l "$O/libpython311.a" -D python311.dll
  for m in hist engine flowkit flow; do
    pyd=$O/$m.cp311-win_amd64.pyd
    # setup.py's Windows libraries; everything else must come from python311.dll or the C runtime
    $CC -shared -static-libgcc -o "$pyd" "$O/$m.o" -L"$O" -lpython311 -lws2_32 -lwinmm \
      || die "$m ($variant paths) does not link for Windows"
    x86_64-w64-mingw32-objdump -p "$pyd" > "$O/$m.dump"
    grep -q "PyInit_$m" "$O/$m.dump" || die "$pyd exports no PyInit_$m"
    dlls=$(grep "DLL Name" "$O/$m.dump" | awk '{print $3}' | tr '[:upper:]' '[:lower:]' | sort -u | tr '\n' ' ')
    for d in $dlls; do
      case $d in python311.dll|kernel32.dll|msvcrt.dll|ws2_32.dll|winmm.dll) ;;
        *) die "$pyd imports $d: not a Windows system DLL";; esac
    done
  done
  say "cross-compiled and linked hist, engine, flowkit, flow ($variant paths): imports $dlls"
done
t_cross=$(( $(date +%s) - t_cross ))

# --- 3: the harness under wine, against pycurl's libcurl DLL and `lunge serve`.
t_wine=$(date +%s)
HFLAGS=(-std=c11 -O2 -Wall -Wextra -Wno-unused-function -Werror -Icsrc)
$CC "${HFLAGS[@]}" scripts/windows/harness.c -o "$OUT/harness-gcc.exe" -lws2_32 -lwinmm
$CC "${HFLAGS[@]}" -DLUNGE_TEST_MSVC_PATHS scripts/windows/harness.c -o "$OUT/harness-msvc.exe" -lws2_32 -lwinmm
export WINEPREFIX=$OUT/wineprefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
mkdir -p "$WINEPREFIX"
srv_out=$OUT/serve.out
"$PY" -m lunge serve --port 0 > "$srv_out" 2> "$OUT/serve.err" &
srv=$!
trap 'kill $srv 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$srv_out" ] && break; sleep 0.1; done
port=$(head -1 "$srv_out")
[ -n "$port" ] || die "lunge serve did not start: $(cat "$OUT/serve.err")"
url=http://127.0.0.1:$port
winpath() { echo "Z:$1" | tr / '\\'; }
for variant in gcc msvc; do
  curl_stats() { "$PY" -c "import json, sys, urllib.request; print(json.load(urllib.request.urlopen(sys.argv[1] + '/__lunge/stats', timeout=5))['requests'])" "$url"; }
  "$PY" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + '/__lunge/reset', timeout=5).read()" "$url"
  log=$OUT/harness-$variant.log
  # (Windows' C runtime writes \r\n: dropped for grep)
  if ! timeout 300 "$WINE" "$OUT/harness-$variant.exe" "$(winpath "$DLL")" "$url/" "$REQUESTS" "$CONNS" 2>&1 \
      | tr -d '\r' > "$log"; then
    cat "$log" >&2
    die "harness ($variant paths) failed under wine"
  fi
  served=$(curl_stats)
  got=$(grep '^ok=' "$log" | cut -d= -f2)
  [ "$served" = "$REQUESTS" ] && [ "$got" = "$REQUESTS" ] || { cat "$log" >&2; die "harness ($variant paths): $got answered, server counted $served, of $REQUESTS"; }
  say "harness ($variant paths) under wine: $(grep -E '^(libcurl|ok|connections_opened|seconds|clock|wait_20ms_measured_ms)=' "$log" | tr '\n' ' ')server counted $served"
done
kill $srv && wait $srv 2>/dev/null || true
trap - EXIT
t_wine=$(( $(date +%s) - t_wine ))
say "passed: cross-compile ${t_cross}s, wine ${t_wine}s, total $(( $(date +%s) - t_start ))s"
