# lib.sh - shared by compare.sh, ir_count.sh and memory.sh (source it; not a command).
# Installs what is missing, builds curl_loop against the wheel's libcurl, and starts/stops the
# target nginx by its recorded PID.  Everything targets 127.0.0.1 only.

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$BENCH_DIR/.." && pwd)"
VENV="${LUNGE_BENCH_VENV:-/tmp/lunge-bench-venv}"
BUILD="${LUNGE_BENCH_BUILD:-/tmp/lunge-bench-build}"
PORT="${LUNGE_BENCH_PORT:-18380}"
URL="http://127.0.0.1:$PORT/"
GEN_CPU="${GEN_CPU:-0}"        # every load generator runs here
NGINX_CPU="${NGINX_CPU:-1}"    # nginx's single worker runs here
NGINX_RUN="${NGINX_RUN:-/tmp/lunge-bench-nginx}"
PY="$VENV/bin/python"
LUNGE="${LUNGE_BIN:-$VENV/bin/lunge}"   # LUNGE_BIN: another lunge to benchmark

log() { printf '[%s %s] %s\n' "$(basename "$0")" "$(date -u +%H:%M:%S)" "$*" >&2; }

# install_deps [extra apt packages...]
install_deps() {
  local missing=() p
  [[ -x /usr/sbin/nginx ]] || missing+=(nginx-light)
  command -v wrk >/dev/null || missing+=(wrk)
  [[ -x /usr/bin/time ]] || missing+=(time)
  command -v gcc >/dev/null || missing+=(gcc libc6-dev)
  [[ -f /usr/include/x86_64-linux-gnu/curl/curl.h || -f /usr/include/curl/curl.h ]] || missing+=(libcurl4-openssl-dev)
  for p in "$@"; do
    case "$p" in
      valgrind) command -v valgrind >/dev/null || missing+=(valgrind) ;;
      *) dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p") ;;
    esac
  done
  if ((${#missing[@]})); then
    log "apt-get install ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
      || { log "apt-get install failed"; exit 1; }
  fi
  # The project (and with it pycurl's wheel, whose libcurl curl_loop links) into a venv.
  # LUNGE_BENCH_REINSTALL=1 rebuilds lunge from this checkout even if it is installed.
  if [[ ! -x "$LUNGE" || "${LUNGE_BENCH_REINSTALL:-0}" == 1 ]]; then
    [[ -x "$PY" ]] || python3 -m venv "$VENV" || { log "venv failed"; exit 1; }
    log "pip install $REPO_DIR into $VENV"
    "$VENV/bin/pip" install -q "$REPO_DIR" >"$BUILD.pip.log" 2>&1 || { log "pip install failed; see $BUILD.pip.log"; exit 1; }
  fi
}

# The libcurl file inside pycurl's manylinux wheel (site-packages/pycurl.libs/libcurl-<hash>.so.*).
wheel_libcurl() {
  "$PY" - <<'PY'
import glob, os, pycurl
site = os.path.dirname(os.path.dirname(os.path.abspath(pycurl.__file__)))
libs = sorted(glob.glob(os.path.join(site, "pycurl.libs", "libcurl-*.so*")))
print(libs[0] if libs else "")
PY
}

# Build curl_loop with Debian's curl headers (the ABI is stable and 7.88's headers declare every
# option we use) but linked to the wheel's libcurl 8.x by file name, with an rpath to its folder:
# the same libcurl lunge's engine dlopens.
build_curl_loop() {
  mkdir -p "$BUILD"
  local lib
  lib="$(wheel_libcurl)"
  [[ -n "$lib" ]] || { log "no libcurl in pycurl's wheel (pycurl built from source?)"; exit 1; }
  if [[ ! -x "$BUILD/curl_loop" || "$BENCH_DIR/curl_loop.c" -nt "$BUILD/curl_loop" || "$REPO_DIR/csrc/lunge_alloc.h" -nt "$BUILD/curl_loop" \
        || ! -e "$BUILD/.lib-$(basename "$lib")" ]]; then
    gcc -O2 -Wall -Wextra -pthread -o "$BUILD/curl_loop" "$BENCH_DIR/curl_loop.c" \
      -L"$(dirname "$lib")" -l:"$(basename "$lib")" -Wl,-rpath,"$(dirname "$lib")" \
      || { log "building curl_loop failed"; exit 1; }
    rm -f "$BUILD"/.lib-*; touch "$BUILD/.lib-$(basename "$lib")"
  fi
  local deps; deps="$(ldd "$BUILD/curl_loop")"   # (not piped into grep -q: SIGPIPE under pipefail)
  [[ "$deps" == *"$(basename "$lib")"* ]] || { log "curl_loop is not linked to $lib"; exit 1; }
}

# nginx_start [log]   ("log" turns the access log on, for counting requests)
NGINX_PID=""
nginx_start() {
  local mode="${1:-nolog}" i
  nginx_stop
  mkdir -p "$NGINX_RUN"
  rm -f "$NGINX_RUN/access.log" "$NGINX_RUN/nginx.pid"
  # HTTP2=1: h2c with prior knowledge on the same port (nginx's `listen ... http2`; lunge --http2
  # and curl_loop -V 2 ask for it so on an http:// URL)
  sed -e "s|listen 127.0.0.1:18380 |listen 127.0.0.1:$PORT $( [[ "${HTTP2:-0}" == 1 ]] && echo 'http2 ')|" \
      -e "$( [[ "$mode" == log ]] && echo "s|^    access_log off;|    access_log $NGINX_RUN/access.log counted;|" || echo 's|^$||' )" \
      "$BENCH_DIR/nginx.conf" > "$NGINX_RUN/nginx.conf"
  if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then log "port $PORT is already in use"; exit 1; fi
  /usr/sbin/nginx -t -q -p "$NGINX_RUN/" -c "$NGINX_RUN/nginx.conf" -e "$NGINX_RUN/error.log" || exit 1
  taskset -c "$NGINX_CPU" /usr/sbin/nginx -p "$NGINX_RUN/" -c "$NGINX_RUN/nginx.conf" -e "$NGINX_RUN/error.log" \
    >"$NGINX_RUN/stdout.log" 2>&1 &
  NGINX_PID=$!
  echo "$NGINX_PID" > "$NGINX_RUN/started.pid"
  for i in $(seq 1 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    kill -0 "$NGINX_PID" 2>/dev/null || { log "nginx died:"; cat "$NGINX_RUN/error.log" >&2; exit 1; }
    sleep 0.1
  done
  for i in $(seq 1 50); do
    NGINX_WORKER="$(pgrep -P "$NGINX_PID" | head -n1)"
    [[ -n "$NGINX_WORKER" ]] && break
    sleep 0.1
  done
  log "nginx master $NGINX_PID worker $NGINX_WORKER on CPU $NGINX_CPU, $URL$( [[ "${HTTP2:-0}" == 1 ]] && echo ' (h2c)') (access log: $mode)"
}

# Stops only the master PID this shell started (QUIT: graceful, flushes the access log).
nginx_stop() {
  [[ -n "$NGINX_PID" ]] || return 0
  if kill -0 "$NGINX_PID" 2>/dev/null; then
    kill -QUIT "$NGINX_PID" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$NGINX_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$NGINX_PID" 2>/dev/null && kill -KILL "$NGINX_PID" 2>/dev/null
  fi
  wait "$NGINX_PID" 2>/dev/null
  NGINX_PID=""
  rm -f "$NGINX_RUN/started.pid"
}
trap nginx_stop EXIT
trap 'nginx_stop; exit 130' INT TERM

# Requests nginx logged so far (the access log must be on; reopen flushes nothing we buffer:
# the log is unbuffered here).
nginx_logged() { [[ -f "$NGINX_RUN/access.log" ]] && wc -l < "$NGINX_RUN/access.log" || echo 0; }

# CPU ticks (user+sys) of nginx's worker, for its CPU per request.
nginx_worker_ticks() { awk '{print $14 + $15}' "/proc/$NGINX_WORKER/stat" 2>/dev/null || echo 0; }

machine_info() {
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "machine: nproc=$(nproc) cpu=\"$(lscpu | sed -n 's/^Model name:[[:space:]]*//p')\" kernel=$(uname -r) os=\"$(. /etc/os-release; echo "$PRETTY_NAME")\""
  echo "nginx: $(/usr/sbin/nginx -v 2>&1 | sed 's/.*: //') ($(dpkg-query -W -f='${Package} ${Version}' nginx-light 2>/dev/null))"
  echo "wrk: $(dpkg-query -W -f='${Version}' wrk 2>/dev/null)"
  echo "pycurl: $("$PY" -c 'import pycurl; print(pycurl.version)')"
  echo "curl_loop: $(ldd "$BUILD/curl_loop" | grep -m1 -o 'libcurl[^ ]*') ($(wheel_libcurl))"
  echo "lunge: $("$LUNGE" --version 2>&1 | tr '\n' ';')"
  echo "python: $("$PY" -V 2>&1)"
}
