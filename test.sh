#!/usr/bin/env bash
# Set up (first time) and run the whole test suite, plus the layer, lint and type checks.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
export QT_QPA_PLATFORM=offscreen HOLDSPACE_AUDIO=dummy
.venv/bin/lint-imports
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
