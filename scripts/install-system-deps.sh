#!/usr/bin/env bash
# Install the Debian packages the test suite needs (Debian 12 "bookworm", run as root).
#
#   scripts/install-system-deps.sh
#
# Idempotent: when every package is already installed (checked with `dpkg -s`),
# it does no apt work at all and returns in well under a second.
#
# What each package is for:
#   git, python3, build-essential  the workspace/patch layer; node-gyp builds better-sqlite3
#   docker.io                      the Docker sandbox (a private dockerd, see scripts/docker-up.sh)
#   debootstrap, debian-archive-keyring
#                                  the offline CPU image (sandboxes/cpu/build.sh)
#   slurm-wlm, munge               the one-node Slurm cluster (scripts/slurm-up.sh)
#   chromium, fonts-liberation     headless-browser tests (fonts so text actually renders)
#   bubblewrap                     the local sandbox's isolation (bwrap; see src/sandbox/bubblewrap.ts)
#   iproute2, procps, xz-utils, ca-certificates
#                                  `ip`, `ps`/`pgrep`, compressed tarballs, TLS to the npm registry
set -euo pipefail

PACKAGES=(
  git python3 build-essential
  docker.io
  debootstrap debian-archive-keyring
  slurm-wlm munge
  chromium fonts-liberation
  bubblewrap
  iproute2 procps xz-utils ca-certificates
)

log() { printf '[install-system-deps] %s\n' "$*" >&2; }

if [[ $EUID -ne 0 ]]; then
  log "must run as root (apt-get install)"; exit 1
fi

# Which packages are missing? One dpkg-query call; a package counts as installed only
# when its status is "ii" (not half-configured or removed with config files left).
declare -A installed=()
while read -r pkg status; do
  [[ "$status" == ii ]] && installed["$pkg"]=1
done < <(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${PACKAGES[@]}" 2>/dev/null || true)
missing=()
for pkg in "${PACKAGES[@]}"; do
  [[ -n "${installed[$pkg]:-}" ]] || missing+=("$pkg")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  log "all ${#PACKAGES[@]} packages already installed; nothing to do"
  exit 0
fi

log "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Do not let package scripts start services (dockerd, munged, slurmd ...):
# our own scripts start private instances. policy-rc.d is removed again on exit
# unless it existed before.
created_policy=0
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  created_policy=1
fi
cleanup() { if [[ $created_policy -eq 1 ]]; then rm -f /usr/sbin/policy-rc.d; fi; }
trap cleanup EXIT

# needrestart (pulled in by some packages) would otherwise prompt.
export NEEDRESTART_MODE=a NEEDRESTART_SUSPEND=1

apt-get update -qq
# --no-install-recommends: chromium alone would drag in a desktop print stack.
# force-unsafe-io: no fsync per unpacked file (a crash mid-install means rerunning anyway).
apt-get install -y -qq --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
  -o Dpkg::Options::=--force-unsafe-io \
  "${missing[@]}" >/dev/null
log "done"
