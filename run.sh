#!/usr/bin/env bash
# Sets up .venv and .env when needed and starts the app: ./run.sh [scenario6 run options]
set -euo pipefail
cd "$(dirname "$0")"
"${PYTHON:-python3}" setup_scenario6.py --no-doctor
exec .venv/bin/scenario6 run "$@"
