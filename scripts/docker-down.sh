#!/usr/bin/env bash
# Stop a private Docker daemon started by scripts/docker-up.sh (run as root).
#
#   scripts/docker-down.sh [NAME]        # NAME defaults to "main"
#
# Sends SIGTERM (dockerd stops its containers, waiting at most --shutdown-timeout),
# escalates to SIGKILL after 30 s. Images under /var/lib/ai-researcher-docker/NAME
# are kept. Idempotent: a daemon that is not running is not an error.
set -euo pipefail

NAME="${1:-main}"
if [[ ! "$NAME" =~ ^[A-Za-z0-9_-]+$ ]]; then
  echo "docker-down: bad NAME '$NAME'" >&2; exit 2
fi
RUN_DIR="/tmp/ai-researcher-docker/$NAME"
DATA_ROOT="/var/lib/ai-researcher-docker/$NAME"
PIDFILE="$RUN_DIR/docker.pid"
SOCK="$RUN_DIR/docker.sock"

log() { printf '[docker-down %s] %s\n' "$NAME" "$*" >&2; }

# Once dockerd is gone, unmount what it left behind (its netns/default nsfs mount,
# container overlays after a SIGKILL), deepest first.
unmount_leftovers() {
  local m
  awk -v a="$RUN_DIR/" -v b="$DATA_ROOT" \
      'index($2, a) == 1 || index($2, b) == 1 { print $2 }' /proc/mounts | sort -r |
    while read -r m; do
      umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done
}

pid=""
[[ -s "$PIDFILE" ]] && pid="$(cat "$PIDFILE")"
if [[ -z "$pid" ]] || ! kill -0 "$pid" 2>/dev/null; then
  log "not running"
  rm -f "$PIDFILE" "$SOCK"
  unmount_leftovers
  exit 0
fi
# Only signal a process that really is dockerd (the pidfile may be stale and reused).
if [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" != "dockerd" ]]; then
  log "pid $pid in $PIDFILE is not dockerd; removing stale pidfile"
  rm -f "$PIDFILE" "$SOCK"
  exit 0
fi

log "stopping dockerd pid $pid"
kill -TERM "$pid"
for _ in $(seq 1 300); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then
  log "still alive after 30 s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
fi
rm -f "$PIDFILE" "$SOCK"
unmount_leftovers
log "stopped"
