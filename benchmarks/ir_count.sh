#!/usr/bin/env bash
# ir_count.sh - user-space instructions per request: lunge perf vs the raw C loop (goal <= 1.10x),
# and the plain pycurl loop, counted by valgrind (deterministic, unlike wall-clock on this VM).
#
#   bash benchmarks/ir_count.sh                  # N1=4000 N2=20000 requests, C=50 (~5-10 min)
#   N1=2000 N2=10000 TOOLS="curl_loop lunge" bash benchmarks/ir_count.sh
#   TOOLS="curl_loop lunge" REPEAT=3 bash benchmarks/ir_count.sh   # medians of 3 counts (+-1 % noise)
#   TOOLS="curl_loop lunge@threads" REPEAT=3 REAL_RPS=40000 bash benchmarks/ir_count.sh
#     the goal's figure: lunge's engine thread per request + its main thread's per-second work
#     charged at the real-speed request rate (see ir_count.py); like for like on the wire:
#     lunge@threads vs curl_loop_ua (both send lunge's User-Agent), lunge_noua@threads vs curl_loop
#     (neither sends one)
#   TOOLS="curl_loop curl_loop_ua curl_loop_ua+timeout curl_loop_ua+getinfo lunge lunge_t0" bash ...
#     attributes lunge's extra cost: curl_loop_ua sends lunge's User-Agent, "+X,Y" adds curl_loop's
#     -x extras (lunge's other libcurl choices), lunge_t0 is lunge with --timeout 0; curl_loop_shared is
#     curl_loop with one pool bundle for all handles (libcurl's default: what own pools save);
#     curl_loop_sysalloc is curl_loop with libcurl's default allocator (what lunge_alloc.h saves)
#   HTTP2=1 TOOLS="curl_loop lunge@threads" REPEAT=3 N1=1000 N2=5000 bash benchmarks/ir_count.sh
#     the same over HTTP/2: nginx serves h2c (prior knowledge) on the same port, lunge runs with
#     --http2 and curl_loop with -V 2 (both: prior knowledge on http://, PIPEWAIT, streams multiplexed)
#   SYSCALLS=1 ...: also count system calls per request at full speed (perf stat's syscall
#     tracepoints, no valgrind: (calls(N2) - calls(N1)) / (N2 - N1), poll calls = wake-ups)
#   Each count also prints the connections each tool opened (curl_loop's connections=, lunge's
#   connectionsOpened).
#
# Starts nginx like compare.sh (127.0.0.1, CPU 1; generator on CPU 0), runs each tool under
# cachegrind for N1 and for N2 requests and prints (Ir(N2) - Ir(N1)) / (N2 - N1), the top
# functions per request, and where lunge spends more than curl_loop, function by function.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N1="${N1:-4000}"; N2="${N2:-20000}"; C="${C:-50}"; TOP="${TOP:-15}"; REPEAT="${REPEAT:-1}"
TOOLS=(${TOOLS:-curl_loop lunge pycurl_loop})
OUT="${OUT:-/tmp/lunge-bench/ir-$(date -u +%Y%m%d-%H%M%S)}"

install_deps valgrind
build_curl_loop
mkdir -p "$OUT"
{ machine_info; echo "N1=$N1 N2=$N2 REPEAT=$REPEAT C=$C tools=${TOOLS[*]} $(valgrind --version)"; } | tee "$OUT/env.txt" >&2
nginx_start

LH2=""; CH2=""
[[ "${HTTP2:-0}" == 1 ]] && { LH2="--http2"; CH2="-V 2"; }
UA="$("$LUNGE" --version | awk 'NR == 1 {print $1 "/" $2}')"   # lunge's User-Agent, e.g. lunge/0.1.0
specs=()
for t in "${TOOLS[@]}"; do
  case "$t" in
    curl_loop)       specs+=("curl_loop=$BUILD/curl_loop $CH2 -c $C -n {N} $URL") ;;
    curl_loop_plain) specs+=("curl_loop_plain=$BUILD/curl_loop $CH2 -P -c $C -n {N} $URL") ;;
    curl_loop_legacy) specs+=("curl_loop_legacy=$BUILD/curl_loop $CH2 -L -c $C -n {N} $URL") ;;  # without NOPROXY, DNS_CACHE_TIMEOUT, own pools
    curl_loop_shared) specs+=("curl_loop_shared=$BUILD/curl_loop $CH2 -x sharedpool -c $C -n {N} $URL") ;;  # one pool bundle for all handles
    curl_loop_sysalloc) specs+=("curl_loop_sysalloc=$BUILD/curl_loop $CH2 -x sysalloc -c $C -n {N} $URL") ;;  # libcurl's default allocator
    curl_loop_ua)    specs+=("curl_loop_ua=$BUILD/curl_loop $CH2 -A $UA -c $C -n {N} $URL") ;;  # the User-Agent lunge sends
    curl_loop_ua+*)  specs+=("$t=$BUILD/curl_loop $CH2 -A $UA -x ${t#curl_loop_ua+} -c $C -n {N} $URL") ;;  # + lunge's other choices (-x)
    lunge_t0)        specs+=("lunge_t0=$LUNGE perf --url $URL $LH2 --concurrency $C --iterations {N} --timeout 0 --format json --output {OUT}") ;;
    pycurl_loop)     specs+=("pycurl_loop=$PY $BENCH_DIR/pycurl_loop.py -c $C -n {N} $URL") ;;
    lunge)           specs+=("lunge=$LUNGE perf --url $URL $LH2 --concurrency $C --iterations {N} --format json --output {OUT}") ;;
    lunge@threads)   specs+=("lunge@threads=$LUNGE perf --url $URL $LH2 --concurrency $C --iterations {N} --format json --output {OUT}") ;;
    lunge_noua@threads) specs+=("lunge_noua@threads=$LUNGE perf --url $URL $LH2 -H User-Agent: --concurrency $C --iterations {N} --format json --output {OUT}") ;;  # no User-Agent: curl_loop's request
    *) log "unknown tool $t" ;;
  esac
done
"$PY" "$BENCH_DIR/ir_count.py" $( [[ "${SYSCALLS:-0}" == 1 ]] && echo --syscalls) --real-rps "${REAL_RPS:-40000}" --n1 "$N1" --n2 "$N2" --top "$TOP" --out "$OUT" --gen-cpu "$GEN_CPU" --repeat "$REPEAT" \
  --diff lunge curl_loop --diff lunge@threads curl_loop_ua --diff lunge_noua@threads curl_loop "${specs[@]}" | tee "$OUT/table.md"
log "raw outputs: $OUT"
