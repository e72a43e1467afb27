#!/usr/bin/env bash
# Install lunge with its test extras into .venv and run the test suite against the installed package.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test,lint
# Run from tests/ so `import lunge` resolves to the installed package, never to src/.
exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
