#!/usr/bin/env bash
# Debian packages the tests use: git (test workspaces list the tracked files), Chromium
# (browser tests), espeak-ng and sox (speech for the fake microphone), libopus, a Docker
# engine, Podman's CLI (what a `docker` that is really Podman says it is), and nginx and Caddy
# (the reverse-proxy examples of docs/security.md, run by tests), and Prometheus (it scrapes
# every service in the monitoring test), and redis-server (the shared state of several
# frontends, started by tests on a free port).
# Installs them when running as root; otherwise prints what is missing (tests that need
# them then skip, naming the tool).
set -euo pipefail
packages=(git python3-venv chromium espeak-ng sox libopus0 docker.io podman debootstrap nginx-light caddy prometheus redis-server)
missing=()
# Node runs the web client's unit tests; any recent Node will do, Debian's included.
command -v node >/dev/null || packages+=(nodejs)
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
if [[ "$(id -u)" != "0" ]]; then
  echo "Not installed (tests needing them will skip): ${missing[*]}" >&2
  echo "Install with: sudo apt-get install -y ${missing[*]}" >&2
  exit 0
fi
echo "Installing Debian packages: ${missing[*]}…"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# RUNLEVEL=1: packages that ship a service (nginx, caddy) must not start it on this machine.
RUNLEVEL=1 apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
