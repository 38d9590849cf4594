# Shared by run.sh and test.sh: creates .venv and installs the project when its pins changed.
ensure_venv() {
  local python="${PYTHON:-python3}"
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    echo "scenario6 needs Python 3.10 or newer; $python is $("$python" --version 2>&1)." >&2
    echo "Install a newer Python or point PYTHON at one: PYTHON=python3.12 $0" >&2
    exit 1
  fi
  if [[ ! -x .venv/bin/python ]]; then
    echo "Creating .venv with $("$python" --version)…"
    "$python" -m venv .venv
  fi
  local stamp=.venv/.scenario6-installed
  local digest
  digest="$(cat pyproject.toml requirements.lock | sha256sum | cut -d' ' -f1)"
  if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$digest" ]]; then
    echo "Installing scenario6 and its pinned dependencies into .venv…"
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -c requirements.lock -e '.[dev,loopback]'
    echo "$digest" >"$stamp"
  fi
}
