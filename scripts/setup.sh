#!/usr/bin/env bash
# Create .venv (if missing) and install lunge into it, with extras given as $1 (e.g. "test").
# Needs only python3 (>= 3.10) with venv and a C compiler; libcurl comes from pycurl's wheel.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
if [[ ! -x .venv/bin/python ]]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
spec="."
[[ -n "${1:-}" ]] && spec=".[${1}]"
.venv/bin/python -m pip install -q "$spec"
