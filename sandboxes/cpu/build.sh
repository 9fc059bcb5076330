#!/usr/bin/env bash
# Build the CPU sandbox image ai-researcher/cpu:latest without any registry (run as root).
#
#   DOCKER_HOST=unix:///tmp/ai-researcher-docker/main/docker.sock sandboxes/cpu/build.sh [--force] [--no-cache]
#
#   --force     import again even if the image exists (reuses the cached rootfs)
#   --no-cache  also rebuild the rootfs with debootstrap (implies --force)
#
# 1. debootstrap a Debian bookworm minbase rootfs with python3, numpy and torch,
#    from the Debian mirror this machine's own apt sources point at;
# 2. add the unprivileged user `researcher` (uid/gid 1000) and trim apt caches;
# 3. cache the rootfs as a tarball under /var/cache/ai-researcher/, keyed by the
#    recipe (suite, architecture, package list, RECIPE_VERSION);
# 4. `docker import` the tarball with ENV/CMD/LABEL set.
#
# Fast paths: if the image already exists in the daemon, nothing is done (unless
# --force); if the cached tarball exists, only step 4 runs (seconds).
#
# Environment:
#   DOCKER_HOST                 daemon to import into (default: the docker-up.sh "main"
#                               daemon if its socket exists, else the docker CLI default)
#   AI_RESEARCHER_CPU_IMAGE     image name (default ai-researcher/cpu:latest)
#   AI_RESEARCHER_DEBIAN_MIRROR override the mirror read from the apt sources
#   AI_RESEARCHER_CACHE_DIR     cache directory (default /var/cache/ai-researcher)
set -euo pipefail

IMAGE="${AI_RESEARCHER_CPU_IMAGE:-ai-researcher/cpu:latest}"
SUITE=bookworm
PACKAGES="python3,python3-numpy,python3-torch"
# Bump when the rootfs customisation below changes, so old cached tarballs are not reused.
RECIPE_VERSION=1
CACHE_DIR="${AI_RESEARCHER_CACHE_DIR:-/var/cache/ai-researcher}"

FORCE=0
NO_CACHE=0
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    --no-cache) FORCE=1; NO_CACHE=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "build.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

log() { printf '[cpu-image %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $EUID -eq 0 ]] || die "must run as root (debootstrap needs it)"
for cmd in docker debootstrap useradd flock sha256sum; do
  command -v "$cmd" >/dev/null || die "$cmd not found: run scripts/install-system-deps.sh"
done

if [[ -z "${DOCKER_HOST:-}" && -S /tmp/ai-researcher-docker/main/docker.sock ]]; then
  export DOCKER_HOST=unix:///tmp/ai-researcher-docker/main/docker.sock
fi
docker info >/dev/null 2>&1 || die "no Docker daemon answers at ${DOCKER_HOST:-the default socket} (start one: scripts/docker-up.sh)"

if [[ $FORCE -eq 0 ]] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  log "$IMAGE already exists on ${DOCKER_HOST:-default daemon}; nothing to do (--force rebuilds)"
  exit 0
fi

# --- The Debian mirror, from this machine's apt sources ------------------------------
# The first `deb` source that serves the plain "$SUITE" suite (not -updates/-security).
find_mirror() {
  local f
  # deb822 files: stanzas separated by blank lines, fields "Types:", "URIs:", "Suites:".
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -r "$f" ]] || continue
    awk -v suite="$SUITE" '
      function flush() {
        if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " suite " ") && uris != "") {
          split(uris, u, " "); print u[1]; found = 1; exit
        }
        types = ""; uris = ""; suites = ""
      }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      { line = $0; key = tolower($1); sub(/^[^:]*:[ \t]*/, "", line) }
      key == "types:"  { types = line }
      key == "uris:"   { uris = line }
      key == "suites:" { suites = line }
      END { if (!found) flush() }
    ' "$f"
  done
  # One-line format: deb [options] URI SUITE COMPONENTS...
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -r "$f" ]] || continue
    awk -v suite="$SUITE" '
      $1 == "deb" {
        i = 2
        if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
        if ($(i + 1) == suite) { print $i; exit }
      }
    ' "$f"
  done
}
MIRROR="${AI_RESEARCHER_DEBIAN_MIRROR:-$(find_mirror | head -n 1)}"
[[ -n "$MIRROR" ]] || die "no 'deb' source for suite $SUITE in /etc/apt/sources.list{,.d/*}; set AI_RESEARCHER_DEBIAN_MIRROR"

ARCH="$(dpkg --print-architecture)"
KEY="$(printf '%s\n' "$SUITE" "$ARCH" "$PACKAGES" "$RECIPE_VERSION" | sha256sum | cut -c1-16)"
TARBALL="$CACHE_DIR/cpu-rootfs-$SUITE-$ARCH-$KEY.tar"
mkdir -p "$CACHE_DIR"

# Serialise builds on this machine (two CI jobs must not debootstrap into the same cache).
exec 9> "$CACHE_DIR/cpu-build.lock"
flock 9

# import_image: `docker import` the rootfs tarball on stdin as $IMAGE.
import_image() {
  docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PYTHONUNBUFFERED=1' \
    --change 'ENV HOME=/home/researcher' \
    --change 'WORKDIR /home/researcher' \
    --change 'CMD ["/bin/bash"]' \
    --change "LABEL org.opencontainers.image.title=ai-researcher-cpu ai-researcher.recipe=$KEY ai-researcher.packages=$PACKAGES" \
    --message "debootstrap $SUITE minbase + $PACKAGES" \
    - "$IMAGE" >/dev/null
}
imported=0

# --- The rootfs tarball (cached) ------------------------------------------------------
if [[ -s "$TARBALL" && $NO_CACHE -eq 0 ]]; then
  log "using cached rootfs $TARBALL"
else
  ROOTFS="$(mktemp -d /var/tmp/ai-researcher-cpu-rootfs.XXXXXX)"
  cleanup() {
    # debootstrap mounts /proc and /sys inside the target; a failed run can leave them.
    local m
    awk -v r="$ROOTFS" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r |
      while read -r m; do umount -l "$m" 2>/dev/null || true; done
    rm -rf --one-file-system "$ROOTFS" "$TARBALL.tmp"
  }
  trap cleanup EXIT

  log "debootstrap $SUITE ($ARCH, minbase + $PACKAGES) from $MIRROR"
  t0=$SECONDS
  if ! debootstrap --variant=minbase --arch="$ARCH" --components=main \
        --include="$PACKAGES" "$SUITE" "$ROOTFS" "$MIRROR" > "$ROOTFS.debootstrap.log" 2>&1; then
    tail -n 30 "$ROOTFS.debootstrap.log" >&2
    [[ -f "$ROOTFS/debootstrap/debootstrap.log" ]] && tail -n 30 "$ROOTFS/debootstrap/debootstrap.log" >&2
    die "debootstrap failed (full log: $ROOTFS.debootstrap.log)"
  fi
  rm -f "$ROOTFS.debootstrap.log"
  log "debootstrap took $(( SECONDS - t0 ))s"

  # The unprivileged user sandboxes run as (matches a typical host uid 1000).
  useradd --root "$ROOTFS" --uid 1000 --user-group --create-home --shell /bin/bash researcher
  # Trim what a sandbox never needs (there is no network to run apt with anyway).
  rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/* \
         "$ROOTFS"/var/log/* "$ROOTFS"/tmp/* "$ROOTFS"/var/tmp/*
  chmod 1777 "$ROOTFS/tmp" "$ROOTFS/var/tmp"
  chmod 0755 "$ROOTFS"   # mktemp made it 0700; the tarball's "./" becomes the image's /

  # Sanity check before caching: python can import numpy and torch.
  chroot "$ROOTFS" /usr/bin/python3 -c 'import numpy, torch; print("numpy", numpy.__version__, "torch", torch.__version__)' >&2 \
    || die "python3 in the rootfs cannot import numpy/torch"

  # Write the cache and import in one pass over the rootfs.
  log "writing $TARBALL and importing it into $IMAGE on ${DOCKER_HOST:-default daemon}"
  t0=$SECONDS
  tar --numeric-owner --xattrs -C "$ROOTFS" -cf - . | tee "$TARBALL.tmp" | import_image
  mv "$TARBALL.tmp" "$TARBALL"
  imported=1
  log "tar + import took $(( SECONDS - t0 ))s"
  cleanup; trap - EXIT
  # Drop tarballs of older recipes.
  find "$CACHE_DIR" -maxdepth 1 -name 'cpu-rootfs-*.tar' ! -path "$TARBALL" -delete
fi

# The tarball is complete: let other builds (e.g. the import into a second daemon) go on.
exec 9>&-

# --- Import -----------------------------------------------------------------------------
if [[ $imported -eq 0 ]]; then
  log "importing into $IMAGE on ${DOCKER_HOST:-default daemon}"
  t0=$SECONDS
  import_image < "$TARBALL"
  log "import took $(( SECONDS - t0 ))s"
fi
docker run --rm --network none "$IMAGE" python3 -c 'import numpy, torch' \
  || die "smoke test failed: python3 -c 'import numpy, torch' in $IMAGE"
log "ready: $IMAGE ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{ printf "%.0f MB", $1 / 1e6 }'))"
