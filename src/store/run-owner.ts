/**
 * Which researcher process is working on a run. Recorded in the run so that `show` can tell a
 * running sweep from a stopped one, and so that two processes never drive the same run.
 */
import { UsageError } from '../core/errors.ts';
import { isSameProcess, processStartTime } from '../sandbox/processes.ts';
import type { RunStore } from './run-store.ts';

interface Owner {
  pid: number;
  start: string | null;
}

export function runOwnerAlive(store: RunStore): number | null {
  const owner = store.getMeta<Owner | null>('owner');
  if (!owner) return null;
  return isSameProcess(owner.pid, owner.start) ? owner.pid : null;
}

export function claimRun(store: RunStore): void {
  const pid = runOwnerAlive(store);
  if (pid !== null && pid !== process.pid) {
    throw new UsageError(`${store.runDir} is being worked on by process ${pid}; stop it first (kill ${pid})`);
  }
  store.setMeta('owner', { pid: process.pid, start: processStartTime(process.pid) } satisfies Owner);
}

export function releaseRun(store: RunStore): void {
  store.setMeta('owner', null);
}
