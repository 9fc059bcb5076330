/**
 * Process bookkeeping shared by the local sandbox and the run's owner record: identify a process
 * across researcher restarts (pid + start time, since pids get reused) and kill process groups.
 */
import { readFileSync } from 'node:fs';

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

/** Whether any process of the group still exists. */
export function processGroupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}
