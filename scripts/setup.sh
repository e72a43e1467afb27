#!/usr/bin/env bash
# Create .venv (if missing) and install lunge into it, with extras given as $1 (e.g. "test").
# Needs only python3 (>= 3.10) with venv and a C compiler; libcurl comes from pycurl's wheel.
# The install (a wheel build: the Cython engine compiled) is skipped when neither the sources
# nor the extras changed since the last one (a stamp in .venv); LUNGE_REINSTALL=1 forces it.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
if [[ ! -x .venv/bin/python ]]; then
  "$PY" -m venv .venv
fi
spec="."
[[ -n "${1:-}" ]] && spec=".[${1}]"
stamp_file=.venv/.lunge-install-stamp
stamp="$spec $(find src csrc setup.py pyproject.toml -type f ! -name '*.so' ! -name '*.c' ! -path '*/__pycache__/*' \
  -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
if [[ "${LUNGE_REINSTALL:-0}" != 1 && -f "$stamp_file" && "$(cat "$stamp_file")" == "$stamp" ]] \
    && .venv/bin/python -c "import lunge._native.engine" 2>/dev/null; then
  echo "setup.sh: lunge is installed from these sources already (LUNGE_REINSTALL=1 to reinstall)" >&2
  exit 0
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "$spec"
echo "$stamp" > "$stamp_file"
