#!/usr/bin/env bash
# compare.sh - lunge perf against wrk, the raw C libcurl loop and the plain pycurl loop, in one go.
#
#   bash benchmarks/compare.sh                 # R=3 rounds x 4 tools x 8 s at 50 connections (~3 min)
#   R=5 D=5 C=50 bash benchmarks/compare.sh    # knobs: R rounds, D seconds per run, C connections
#   TOOLS="curl_loop lunge" CHECK=0 bash ...   # a subset; CHECK=0 skips the request-count check
#   TOOLS="wrk curl_loop pycurl_loop lunge lunge_noua" ...   # lunge_noua: -H 'User-Agent:', the very
#     request the others send (lunge sends its own User-Agent by default)
#   TOOLS="... pycurl_ref ..."                 # pycurl_ref: the pycurl loop issue 2's reference figure
#     (31.5 us/request) was measured with, run where it lies (PYCURL_REF, default
#     ../shared/bench/pycurl_loop.py; not part of this repository, so only when present)
#
# Installs what is missing (apt: nginx-light wrk time gcc libcurl4-openssl-dev; the project into
# /tmp/lunge-bench-venv), builds curl_loop against pycurl's wheel libcurl, starts nginx on
# 127.0.0.1 pinned to CPU 1 and runs every generator pinned to CPU 0.
#  1. CHECK: with nginx's access log on, each libcurl-based tool runs CHECK_D (5) s and its reported request
#     count is compared with the number of requests nginx logged.
#  2. R rounds with the access log off; the order alternates (forward, reverse, ...) so slow drift
#     of this shared VM hits every tool alike.  Per run: req/s, p50/p99 as the tool reports them,
#     generator CPU (user+sys from /usr/bin/time), nginx worker CPU, and steal on both vCPUs.
#     For the Python tools a tiny run (-n/--iterations 50) per round measures their start-up CPU,
#     reported beside the whole-process figure.
# Then summarize.py prints the table (medians over rounds) and lunge's ratios to the others.
# Every run is bounded by `timeout`; nginx is stopped by its PID on exit.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

R="${R:-3}"; D="${D:-8}"; C="${C:-50}"; CHECK="${CHECK:-1}"; CHECK_D="${CHECK_D:-5}"
TOOLS=(${TOOLS:-wrk curl_loop pycurl_loop lunge})
OUT="${OUT:-/tmp/lunge-bench/compare-$(date -u +%Y%m%d-%H%M%S)}"
PYCURL_REF="${PYCURL_REF:-$REPO_DIR/../shared/bench/pycurl_loop.py}"
if [[ " ${TOOLS[*]} " == *" pycurl_ref "* && ! -f "$PYCURL_REF" ]]; then
  echo "pycurl_ref: no $PYCURL_REF (set PYCURL_REF to the reference pycurl loop)" >&2; exit 2
fi
[[ "$D" =~ ^[0-9]+$ && "$D" -ge 1 && "$D" -le 60 ]] || { echo "D must be 1..60 seconds" >&2; exit 2; }
[[ "$R" =~ ^[0-9]+$ && "$R" -ge 1 && "$R" -le 20 ]] || { echo "R must be 1..20" >&2; exit 2; }

install_deps
build_curl_loop
mkdir -p "$OUT/raw"
{ machine_info; echo "R=$R D=${D}s C=$C tools=${TOOLS[*]} gen_cpu=$GEN_CPU nginx_cpu=$NGINX_CPU"; } | tee "$OUT/env.txt" >&2

# tool_cmd TOOL SECONDS|nN TAG -> CMD array.  "n50" = exactly 50 requests (start-up cost runs).
tool_cmd() {
  local tool=$1 len=$2 tag=$3 dur lim
  if [[ "$len" == n* ]]; then lim=${len#n}; else dur=$len; fi
  case "$tool" in
    wrk)         CMD=(wrk -t1 -c"$C" -d"${dur}s" --latency "$URL") ;;
    curl_loop)   CMD=("$BUILD/curl_loop" -c "$C" ${lim:+-n "$lim"} ${dur:+-d "$dur"} "$URL") ;;
    pycurl_loop) CMD=("$PY" "$BENCH_DIR/pycurl_loop.py" -c "$C" ${lim:+-n "$lim"} ${dur:+-d "$dur"} "$URL") ;;
    pycurl_ref)  CMD=("$PY" "$PYCURL_REF" -c "$C" -d "${dur:-0.02}" "$URL") ;;  # no -n: a 20 ms run for its start-up
    lunge)       CMD=("$LUNGE" perf --url "$URL" --concurrency "$C" ${lim:+--iterations "$lim"} ${dur:+--duration "${dur}s"}
                      --format json --output "$OUT/raw/$tag.json") ;;
    lunge_noua)  CMD=("$LUNGE" perf --url "$URL" -H "User-Agent:" --concurrency "$C" ${lim:+--iterations "$lim"}
                      ${dur:+--duration "${dur}s"} --format json --output "$OUT/raw/$tag.json") ;;  # the others' request: no User-Agent
    *) log "unknown tool $tool"; return 1 ;;
  esac
}

cpu_line() { grep "^cpu$1 " /proc/stat; }
# pct_of LINE0 LINE1 FIELDS...: share of those /proc/stat fields in the interval, in %
pct_of() {
  awk -v a="$1" -v b="$2" -v f="$3" 'BEGIN { split(a, x, " "); split(b, y, " "); split(f, w, ",")
    t = 0; for (i = 2; i <= 9; i++) t += y[i] - x[i]
    s = 0; for (k in w) s += y[w[k]] - x[w[k]]
    printf "%d", (t > 0) ? 100 * s / t + 0.5 : 0 }'
}

# This VM is shared: other sessions' tests come and go.  Before a run we wait (up to QUIET_WAIT s)
# until both CPUs are nearly idle; after it we estimate the foreign load as
#   busy(CPU0) + busy(CPU1) - generator CPU - nginx worker CPU   (in % of one CPU)
# and repeat a run disturbed by more than FOREIGN_MAX %, or whose generator CPU the host stole for
# more than STEAL_MAX % of the time (steal shows up as extra CPU time in the run's own figures: a
# lunge run at 19 % steal measured 36 us/request, its calm runs 19-26), up to ATTEMPTS
# tries, keeping the least disturbed try (foreign + steal).  The table shows what was kept.
QUIET_WAIT="${QUIET_WAIT:-120}"; FOREIGN_MAX="${FOREIGN_MAX:-10}"; STEAL_MAX="${STEAL_MAX:-5}"; ATTEMPTS="${ATTEMPTS:-3}"
busy_all() { awk '/^cpu[0-9]+ /{b += $2+$3+$4+$7+$8} END{print b}' /proc/stat; }
wait_quiet() {
  local waited=0 b0 b1
  while ((waited < QUIET_WAIT)); do
    b0=$(busy_all); sleep 1; b1=$(busy_all)
    (( (b1 - b0) * 100 / $(getconf CLK_TCK) <= 10 )) && return 0
    ((waited == 0)) && log "waiting for other processes to quieten (busy $(( (b1 - b0) * 100 / $(getconf CLK_TCK) ))% of a CPU)"
    waited=$((waited + 3)); sleep 2
  done
  log "still busy after ${QUIET_WAIT}s: running anyway"
}

# run_one ROUND TOOL LEN -> one line in runs.tsv (the least disturbed of up to ATTEMPTS tries)
run_one() {
  local round=$1 tool=$2 len=$3 tag rc a0 a1 b0 b1 ng0 ng1 try best=0 best_bad=100000 foreign steal line best_line f
  tag="r${round}_${tool}_${len}"
  for ((try = 1; try <= ATTEMPTS; try++)); do
    tool_cmd "$tool" "$len" "$tag.a$try" || return 0
    wait_quiet
    a0=$(cpu_line 0); b0=$(cpu_line 1); ng0=$(nginx_worker_ticks)
    taskset -c "$GEN_CPU" /usr/bin/time -f "%U %S %e %M" -o "$OUT/raw/$tag.a$try.time" \
      timeout -k 5 $(( ${len#n} + 60 )) "${CMD[@]}" > "$OUT/raw/$tag.a$try.out" 2> "$OUT/raw/$tag.a$try.err"
    rc=$?
    a1=$(cpu_line 0); b1=$(cpu_line 1); ng1=$(nginx_worker_ticks)
    foreign=$(awk -v t="$(tail -n1 "$OUT/raw/$tag.a$try.time" 2>/dev/null)" -v ng=$((ng1 - ng0)) -v tck="$(getconf CLK_TCK)" \
      -v b0="$(pct_of "$a0" "$a1" 2,3,4,7,8)" -v b1="$(pct_of "$b0" "$b1" 2,3,4,7,8)" \
      'BEGIN { split(t, x, " "); w = (x[3] > 0) ? x[3] : 1
               f = b0 + b1 - 100 * (x[1] + x[2]) / w - 100 * ng / tck / w; printf "%d", (f > 0) ? f : 0 }')
    steal=$(pct_of "$a0" "$a1" 9)
    line="$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s' "$round" "$tool" "$len" "$rc" "$tag" \
      $((ng1 - ng0)) "$steal" "$(pct_of "$b0" "$b1" 9)" \
      "$(pct_of "$a0" "$a1" 2,3,4,7,8)" "$(pct_of "$b0" "$b1" 2,3,4,7,8)" "$foreign" "$try")"
    log "round $round $tool $len try $try rc=$rc foreign=${foreign}% steal=${steal}% $(grep -m1 -oE 'Requests/sec: *[0-9.]+|rps=[0-9.]+|[0-9.]+ req/s' "$OUT/raw/$tag.a$try.out") $(tail -n1 "$OUT/raw/$tag.a$try.time" 2>/dev/null)"
    ((rc == 0)) || log "  $tool exited $rc: $(tail -n2 "$OUT/raw/$tag.a$try.err" | tr '\n' ' ' | cut -c1-200)"
    if ((foreign + steal < best_bad)); then best=$try; best_bad=$((foreign + steal)); best_line=$line; fi
    sleep 1
    [[ "$len" == n* ]] && break          # start-up runs: CPU seconds, not throughput
    ((foreign <= FOREIGN_MAX && steal <= STEAL_MAX)) && break
  done
  for f in time out err json; do
    [[ -e "$OUT/raw/$tag.a$best.$f" ]] && cp "$OUT/raw/$tag.a$best.$f" "$OUT/raw/$tag.$f"
  done
  echo "$best_line" >> "$OUT/runs.tsv"
}

# ---- 1. correctness: reported requests == requests nginx logged
if [[ "$CHECK" == 1 ]]; then
  nginx_start log
  printf 'tool\treported\tnginx_logged\n' > "$OUT/check.tsv"
  for tool in "${TOOLS[@]}"; do
    [[ "$tool" == wrk ]] && continue   # wrk does not report requests still in flight at its end
    before=$(nginx_logged)
    ATTEMPTS=1 run_one check "$tool" "$CHECK_D"   # one try: nginx counts every try
    sleep 0.5
    after=$(nginx_logged)
    tag="rcheck_${tool}_$CHECK_D"
    if [[ "$tool" == lunge ]]; then
      rep=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["metrics"]["totalRequests"])' "$OUT/raw/$tag.json" 2>/dev/null || echo n/a)
    else
      rep=$(grep -m1 -oE 'requests=[0-9]+' "$OUT/raw/$tag.out" | cut -d= -f2)
    fi
    printf '%s\t%s\t%s\n' "$tool" "${rep:-n/a}" "$((after - before))" >> "$OUT/check.tsv"
    log "check $tool: reported ${rep:-n/a}, nginx logged $((after - before))"
  done
  nginx_stop
fi

# ---- 2. timed rounds, alternating order
nginx_start nolog
# warm-up (caches, CPU frequency, nginx's first connections): not recorded
log "warm-up: curl_loop 2 s"
taskset -c "$GEN_CPU" timeout 30 "$BUILD/curl_loop" -c "$C" -d 2 "$URL" >/dev/null 2>&1
printf 'round\ttool\tlen\trc\ttag\tnginx_ticks\tsteal0\tsteal1\tbusy0\tbusy1\tforeign\ttry\n' > "$OUT/runs.tsv"
for ((r = 1; r <= R; r++)); do
  order=("${TOOLS[@]}")
  if ((r % 2 == 0)); then order=(); for ((i = ${#TOOLS[@]} - 1; i >= 0; i--)); do order+=("${TOOLS[$i]}"); done; fi
  log "round $r/$R: ${order[*]}"
  for tool in "${order[@]}"; do
    run_one "$r" "$tool" "$D"
    [[ "$tool" == pycurl_* || "$tool" == lunge* ]] && run_one "$r" "$tool" n50
  done
done
nginx_stop

"$PY" "$BENCH_DIR/summarize.py" "$OUT" | tee "$OUT/table.md"
log "raw outputs: $OUT"
