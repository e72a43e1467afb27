#!/usr/bin/env bash
# The main job: install lunge, start the embedded target, load-test it for a few seconds,
# print the report and write the JSON result (lunge-result.json).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/lunge demo "$@"
