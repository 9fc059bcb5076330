#!/usr/bin/env bash
# Start a private Docker daemon in the background (run as root).
#
#   scripts/docker-up.sh [NAME]          # NAME defaults to "main"
#   export DOCKER_HOST="$(scripts/docker-up.sh)"
#
# The daemon is independent of any system dockerd: its own socket, exec root,
# pidfile, config file and data root, no iptables rules and no bridge (containers
# get loopback only, whatever --network they ask for). Several can run at once
# under different NAMEs (the tests use "main" and "second").
#
#   socket     unix:///tmp/ai-researcher-docker/NAME/docker.sock
#   run files  /tmp/ai-researcher-docker/NAME/{docker.pid,dockerd.log,exec/}
#   data root  /var/lib/ai-researcher-docker/NAME   (images survive between runs)
#
# Idempotent: if that daemon already answers, nothing is started.
# The last line on stdout is always the DOCKER_HOST value; messages go to stderr.
#
# Environment: DOCKER_UP_TIMEOUT  seconds to wait for the daemon (default 60)
set -euo pipefail

NAME="${1:-main}"
if [[ ! "$NAME" =~ ^[A-Za-z0-9_-]+$ ]]; then
  echo "docker-up: bad NAME '$NAME' (letters, digits, _ and - only)" >&2; exit 2
fi
TIMEOUT="${DOCKER_UP_TIMEOUT:-60}"

RUN_DIR="/tmp/ai-researcher-docker/$NAME"
DATA_ROOT="/var/lib/ai-researcher-docker/$NAME"
SOCK="$RUN_DIR/docker.sock"
PIDFILE="$RUN_DIR/docker.pid"
LOG="$RUN_DIR/dockerd.log"
HOST="unix://$SOCK"

log() { printf '[docker-up %s] %s\n' "$NAME" "$*" >&2; }

answers() { timeout 10 docker -H "$HOST" info >/dev/null 2>&1; }

pid_alive() {
  [[ -s "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null
}

command -v dockerd >/dev/null || { log "dockerd not found: run scripts/install-system-deps.sh"; exit 1; }
[[ $EUID -eq 0 ]] || { log "must run as root"; exit 1; }

if answers; then
  log "already running ($HOST)"
  echo "$HOST"; exit 0
fi

mkdir -p "$RUN_DIR/exec" "$DATA_ROOT"

if pid_alive; then
  # Started by an earlier call that is still coming up: just wait for it below.
  log "dockerd pid $(cat "$PIDFILE") is starting; waiting"
else
  rm -f "$PIDFILE" "$SOCK"
  # Mount the cgroup hierarchies if the machine has none (bare VMs without systemd).
  if [[ -z "$(ls -A /sys/fs/cgroup 2>/dev/null)" ]] && command -v cgroupfs-mount >/dev/null; then
    cgroupfs-mount
  fi
  # An empty config file so /etc/docker/daemon.json (if any) cannot interfere.
  echo '{}' > "$RUN_DIR/daemon.json"
  log "starting dockerd (log: $LOG)"
  {
    echo "==== $(date -Is) docker-up $NAME"
  } >> "$LOG"
  # setsid + nohup: the daemon outlives this script and the CI shell's process group.
  setsid nohup dockerd \
    --config-file "$RUN_DIR/daemon.json" \
    --host "$HOST" \
    --data-root "$DATA_ROOT" \
    --exec-root "$RUN_DIR/exec" \
    --pidfile "$PIDFILE" \
    --iptables=false --ip6tables=false --ip-masq=false --bridge=none \
    --userland-proxy=false \
    --shutdown-timeout 5 \
    >> "$LOG" 2>&1 < /dev/null &
  started_pid=$!
fi

# Wait until `docker info` answers, failing fast if the daemon dies.
deadline=$(( SECONDS + TIMEOUT ))
until answers; do
  if [[ -n "${started_pid:-}" ]] && ! kill -0 "$started_pid" 2>/dev/null; then
    log "dockerd exited during startup; last lines of $LOG:"
    tail -n 30 "$LOG" >&2; exit 1
  fi
  if (( SECONDS >= deadline )); then
    log "dockerd did not answer on $HOST within ${TIMEOUT}s; last lines of $LOG:"
    tail -n 30 "$LOG" >&2
    # Do not leave a half-started daemon behind (the next call would wait on it).
    if [[ -n "${started_pid:-}" ]]; then kill -TERM "$started_pid" 2>/dev/null || true; fi
    exit 1
  fi
  sleep 0.2
done

log "ready: $(docker -H "$HOST" version --format 'server {{.Server.Version}}') on $HOST"
echo "$HOST"
