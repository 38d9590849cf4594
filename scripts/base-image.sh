#!/usr/bin/env bash
# Builds the local Debian base image the project's Dockerfiles are tested with, since no
# container registry is reachable: ./scripts/base-image.sh [TAG]
# Skips when the tag already exists. Needs root, debootstrap and a running Docker engine.
set -euo pipefail
tag="${1:-${SCENARIO6_BASE_IMAGE:-scenario6-test-base:bookworm}}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "$tag"
  exit 0
fi
if [[ "$(id -u)" != "0" ]]; then
  echo "Building $tag needs root (debootstrap). Run: sudo $0" >&2
  exit 1
fi
if ! command -v debootstrap >/dev/null; then
  echo "debootstrap is missing. Install it with: apt-get install -y debootstrap" >&2
  exit 1
fi

rootfs="$(mktemp -d /tmp/scenario6-rootfs.XXXXXX)"
log="$(mktemp /tmp/scenario6-debootstrap.XXXXXX.log)"
trap 'rm -rf "$rootfs" "$log"' EXIT
echo "Building $tag with debootstrap (about a minute)…" >&2
debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
  bookworm "$rootfs" "$mirror" >"$log" 2>&1 || {
  tail -n 20 "$log" >&2
  exit 1
}
# Builds inside the image reach PyPI through the same CA bundle and pip settings as this host.
cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
cp /etc/pip.conf "$rootfs/etc/pip.conf" 2>/dev/null || true
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
tar -C "$rootfs" -c . | docker import - "$tag" >/dev/null
echo "$tag"
