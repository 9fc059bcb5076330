/**
 * Process bookkeeping shared by the local sandbox and the run's owner record: identify a process
 * across researcher restarts (pid + start time, since pids get reused) and kill process groups.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** The process's start time in clock ticks since boot (/proc/<pid>/stat field 22), or null. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/** Whether `pid` is still the very process that had start time `start`. */
export function isSameProcess(pid: number, start: string | null | undefined): boolean {
  return start != null && processStartTime(pid) === start;
}

export function killProcessGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/**
 * Whether any live process of the group still exists. Zombies do not count: in a container whose
 * PID 1 does not reap orphans they linger, dead, and still answer kill(0).
 */
export function processGroupAlive(pgid: number): boolean {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') return true;
    } catch {
      // the process exited while we looked
    }
  }
  return false;
}
