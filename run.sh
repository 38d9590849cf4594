#!/usr/bin/env bash
# Sets up .venv when needed and starts the app: ./run.sh [scenario6 run options]
set -euo pipefail
cd "$(dirname "$0")"
source scripts/venv.sh
ensure_venv
exec .venv/bin/scenario6 run "$@"
