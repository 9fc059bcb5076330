#!/usr/bin/env bash
# Stop the one-node Slurm cluster started by scripts/slurm-up.sh (run as root).
#
#   scripts/slurm-down.sh
#
# Cancels all jobs (so no slurmstepd outlives the cluster), stops slurmd and
# slurmctld, then munged. State and logs under /tmp/ai-researcher-slurm are kept.
# Idempotent: daemons that are not running are skipped.
set -euo pipefail

BASE=/tmp/ai-researcher-slurm
export SLURM_CONF="$BASE/etc/slurm.conf"

log() { printf '[slurm-down] %s\n' "$*" >&2; }
alive() { [[ -s "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# stop PIDFILE NAME: SIGTERM, then SIGKILL after 10 s. Only signals NAME processes.
stop() {
  local pidfile="$1" name="$2" pid
  if ! alive "$pidfile"; then log "$name not running"; rm -f "$pidfile"; return 0; fi
  pid="$(cat "$pidfile")"
  if [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" != "$name" ]]; then
    log "pid $pid in $pidfile is not $name; removing stale pidfile"; rm -f "$pidfile"; return 0
  fi
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; return 0; }; sleep 0.1; done
  log "$name still alive after 10 s; SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

if alive "$BASE/slurmctld.pid" && [[ -f "$SLURM_CONF" ]]; then
  jobs="$(squeue -h -o %i -t PD,R,CG,S 2>/dev/null || true)"
  if [[ -n "$jobs" ]]; then
    log "cancelling jobs: $(echo "$jobs" | tr '\n' ' ')"
    # shellcheck disable=SC2086
    scancel $jobs 2>/dev/null || true
    for _ in $(seq 1 100); do
      [[ -z "$(squeue -h -o %i -t PD,R,CG,S 2>/dev/null)" ]] && break
      sleep 0.2
    done
  fi
fi

stop "$BASE/slurmd.pid" slurmd
stop "$BASE/slurmctld.pid" slurmctld

if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  log "stopping munged"
  runuser -u munge -- munged --stop >/dev/null 2>&1 || true
else
  log "munged not running"
fi
log "stopped"
