#!/usr/bin/env bash
# The fast tier of the suite on one more Python, in a venv of its own (.venv-X.Y):
#   scripts/fast-tier.sh 3.10 [pytest args]
# Fast means without what needs a Docker engine, Chromium or the real PersonaPlex server (its
# venv needs torch, whose CPU wheel this machine kind has for the default Python only), and
# without the long runs marked slow (a soak, load tests, a real Prometheus), whose code the
# rest of the tier covers: those run once, on .venv, in ./test.sh. CI runs this for each
# other supported version (.ci/run).
# The interpreter comes from pyenv, which installs a missing version, else python X.Y on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
version="${1:?usage: scripts/fast-tier.sh X.Y [pytest args]}"
shift

fail() {
  echo "scripts/fast-tier.sh: $*" >&2
  exit 1
}

find_python() {
  local pyenv found
  pyenv="$(command -v pyenv || echo "${PYENV_ROOT:-$HOME/.pyenv}/bin/pyenv")"
  if [[ -x "$pyenv" ]]; then
    if ! found="$("$pyenv" latest "$version" 2>/dev/null)"; then
      echo "Python $version is not installed; installing it with pyenv (several minutes)…" >&2
      "$pyenv" install --skip-existing "$version" >&2 ||
        fail "pyenv install $version failed (see above); install Python $version and run again"
      found="$("$pyenv" latest "$version")" || fail "pyenv installed no Python $version"
    fi
    echo "$("$pyenv" root)/versions/$found/bin/python"
  elif command -v "python$version" >/dev/null; then
    command -v "python$version"
  else
    fail "no Python $version: install pyenv (https://github.com/pyenv/pyenv) or python$version"
  fi
}

python="$(find_python)"
venv=".venv-$version"
# The same pinned install as .venv's; the lock's python_version markers pick the pins this
# version can install. A venv already in step with the lock is left as it is.
"$python" setup_scenario6.py --venv-only --venv "$venv" --python "$python"
exec "$venv/bin/python" -m pytest -m "not docker and not browser and not personaplex and not slow" "$@"
