#!/usr/bin/env bash
# Set up (first time) and start the Holdspace console. Arguments go to `holdspace`,
# e.g. ./run.sh --device intellivue:/dev/ttyUSB0
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
exec .venv/bin/holdspace "$@"
