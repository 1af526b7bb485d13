#!/usr/bin/env bash
# Build a Python base image from Debian's own packages, for a Docker engine that cannot
# pull python:3.11-slim (no access to the public image registry):
#
#   docker/base-image.sh [TAG]        # default: passerelle-base:bookworm
#   docker build --build-arg BASE_IMAGE=passerelle-base:bookworm -t passerelle .
#
# debootstrap (root, `apt-get install debootstrap`) lays out a minimal Debian bookworm
# with python3 and python3-venv, which `docker import` turns into an image. An image
# already tagged TAG is kept as it is (building one takes minutes); REBUILD=1 replaces it.
# The base trusts the certificate authorities Debian ships plus the host's own
# (/usr/local/share/ca-certificates): a site that reaches PyPI through a TLS-inspecting
# proxy needs its authority inside the build too. Set DEBIAN_MIRROR for a local mirror.
set -euo pipefail

TAG="${1:-passerelle-base:bookworm}"
SUITE=bookworm
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
EXTRA_CA="${EXTRA_CA_DIR:-/usr/local/share/ca-certificates}"

if [ -z "${REBUILD:-}" ] && docker image inspect "$TAG" >/dev/null 2>&1; then
  echo "base image $TAG is already there (REBUILD=1 to build it again)"
  exit 0
fi
if ! command -v debootstrap >/dev/null; then
  echo "debootstrap is not installed (apt-get install debootstrap)" >&2
  exit 1
fi

root="$(mktemp -d /var/tmp/passerelle-base.XXXXXX)"
trap 'rm -rf "$root"' EXIT

echo "debootstrap $SUITE from $MIRROR into $root"
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
  "$SUITE" "$root" "$MIRROR" >"$root.log" 2>&1 || {
  tail -20 "$root.log" >&2
  exit 1
}
rm -f "$root.log"

if compgen -G "$EXTRA_CA/*.crt" >/dev/null; then
  cp "$EXTRA_CA"/*.crt "$root/usr/local/share/ca-certificates/"
  # (update-ca-certificates warns that the bundle it writes is not one certificate: harmless)
  chroot "$root" update-ca-certificates >/dev/null 2>&1
fi

# What a container never needs: package lists and caches, documentation, translations.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
  "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
  "$root"/usr/share/locale/* "$root"/var/log/*.log "$root"/var/log/apt/*

tar --numeric-owner -C "$root" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["python3"]' \
  --message "Debian $SUITE with python3 and python3-venv (docker/base-image.sh)" \
  - "$TAG" >/dev/null
echo "base image $TAG built ($(docker image inspect -f '{{.Size}}' "$TAG" | awk '{printf "%d MB", $1/1e6}'))"
