#!/usr/bin/env bash
# memory.sh - does lunge's memory grow with run length?  Peak RSS of a long `lunge perf` at full
# speed against a short one (goal: the long run's peak within 10 % of the short run's).
#
#   bash benchmarks/memory.sh                   # 10 s vs 60 s at 50 connections (~80 s)
#   SHORT=10 LONG=60 C=50 TOOLS="lunge pycurl_loop" bash benchmarks/memory.sh
#
# nginx as in compare.sh (127.0.0.1, CPU 1; generator on CPU 0).  Peak RSS comes from
# /usr/bin/time's %M (the kernel's high-water mark), and RSS is also sampled every 0.5 s, so the
# table shows the RSS at 5 s and at the end (growth shows as a slope even if the peak is early).
# pycurl_loop keeps every latency in a Python list: adding it shows what growth looks like.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SHORT="${SHORT:-10}"; LONG="${LONG:-60}"; C="${C:-50}"
TOOLS=(${TOOLS:-lunge})
OUT="${OUT:-/tmp/lunge-bench/memory-$(date -u +%Y%m%d-%H%M%S)}"
[[ "$LONG" =~ ^[0-9]+$ && "$LONG" -le 600 && "$SHORT" =~ ^[0-9]+$ && "$SHORT" -ge 1 ]] || { echo "bad SHORT/LONG" >&2; exit 2; }

install_deps
build_curl_loop
mkdir -p "$OUT"
{ machine_info; echo "SHORT=${SHORT}s LONG=${LONG}s C=$C tools=${TOOLS[*]}"; } | tee "$OUT/env.txt" >&2
nginx_start

# measure TAG SECONDS CMD... : runs CMD under /usr/bin/time, samples the RSS of its process tree.
measure() {
  local tag=$1 secs=$2; shift 2
  taskset -c "$GEN_CPU" /usr/bin/time -f "%M %U %S %e" -o "$OUT/$tag.time" \
    timeout -k 5 $((secs + 60)) "$@" > "$OUT/$tag.out" 2> "$OUT/$tag.err" &
  local pid=$!
  # the sampler runs on the other CPU, so it does not take the generator's time
  taskset -c "$NGINX_CPU" "$PY" - "$pid" > "$OUT/$tag.rss" <<'PY'
import sys, time, psutil
root = psutil.Process(int(sys.argv[1]))
t0 = time.monotonic()
while root.is_running() and root.status() != psutil.STATUS_ZOMBIE:
    try:
        procs = [root] + root.children(recursive=True)
        rss = max(p.memory_info().rss for p in procs)   # the generator is the largest of the chain
    except psutil.Error:
        break
    print(f"{time.monotonic() - t0:.1f}\t{rss // 1024}", flush=True)
    time.sleep(0.5)
PY
  wait "$pid"
  log "$tag: rc=$? peak RSS $(cut -d' ' -f1 "$OUT/$tag.time" | tail -n1) kB; $(grep -oE 'requests=[0-9]+' "$OUT/$tag.out" | head -n1)"
}

for tool in "${TOOLS[@]}"; do
  for secs in "$SHORT" "$LONG"; do
    case "$tool" in
      lunge)       measure "${tool}_$secs" "$secs" "$LUNGE" perf --url "$URL" --concurrency "$C" --duration "${secs}s" \
                     --format json --output "$OUT/${tool}_$secs.json" ;;
      pycurl_loop) measure "${tool}_$secs" "$secs" "$PY" "$BENCH_DIR/pycurl_loop.py" -c "$C" -d "$secs" "$URL" ;;
      curl_loop)   measure "${tool}_$secs" "$secs" "$BUILD/curl_loop" -c "$C" -d "$secs" "$URL" ;;
      *) log "unknown tool $tool"; continue ;;
    esac
    sleep 1
  done
done

"$PY" - "$OUT" "$SHORT" "$LONG" "${TOOLS[@]}" <<'PY' | tee "$OUT/table.md"
import json, re, sys
out, short, long_, tools = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]

def load(tag):
    try:
        peak = int(open(f"{out}/{tag}.time").read().split("\n")[-2].split()[0])
    except (OSError, ValueError, IndexError):
        return None
    samples = [tuple(map(float, l.split())) for l in open(f"{out}/{tag}.rss") if l.strip()]
    at5 = next((kb for t, kb in samples if t >= 5), None)
    end = samples[-1][1] if samples else None
    reqs = None
    try:
        reqs = json.load(open(f"{out}/{tag}.json"))["metrics"]["totalRequests"]
    except (OSError, ValueError, KeyError):
        m = re.search(r"requests=(\d+)", open(f"{out}/{tag}.out").read())
        reqs = int(m.group(1)) if m else None
    return peak, at5, end, reqs

print(f"| tool | run | requests | peak RSS MiB | RSS at 5 s MiB | RSS at end MiB |\n|---|---:|---:|---:|---:|---:|")
ratios = {}
for t in tools:
    got = {}
    for s in (short, long_):
        r = got[s] = load(f"{t}_{s}")
        if r:
            mib = lambda kb: f"{kb / 1024:.1f}" if kb else "n/a"
            print(f"| {t} | {s} s | {r[3] if r[3] is not None else 'n/a'} | {mib(r[0])} | {mib(r[1])} | {mib(r[2])} |")
        else:
            print(f"| {t} | {s} s | failed | | | |")
    if got[short] and got[long_]:
        ratios[t] = got[long_][0] / got[short][0]
print()
for t, r in ratios.items():
    print(f"{t}: peak RSS {long_} s / {short} s = {r:.3f}  (goal <= 1.10: {'met' if r <= 1.10 else 'NOT met'})")
PY
log "raw outputs: $OUT"
