#!/usr/bin/env bash
# Sets up everything the test suite needs and runs it: ./test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")"
scripts/system-deps.sh
"${PYTHON:-python3}" setup_scenario6.py --venv-only
if [[ "${CI:-}" == "true" || "$(id -u)" == "0" ]]; then
  scripts/docker-engine.sh
fi
.venv/bin/ruff check src tests
.venv/bin/ruff format --check src tests
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
