/**
 * Memory and process limits for a local step, enforced by the kernel's control groups.
 *
 * A step is started through a two-line shell that moves itself into a fresh cgroup and then
 * execs the sandbox, so every process the step ever starts is counted and limited there. Which
 * cgroup interface is used depends on the machine:
 * - cgroup v2 with the memory controller delegated to us (`memory.max`, `memory.events`);
 * - cgroup v1 with a writable memory hierarchy (`memory.limit_in_bytes`, `memory.oom_control`);
 * - neither (a container without delegation, a locked-down desktop): the address-space limit
 *   (`prlimit --as`, util-linux), which turns an over-allocation into MemoryError / bad_alloc
 *   instead of an OOM kill, so the log is read for those.
 * The kernel's OOM counter tells an OOM kill from any other SIGKILL.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';

/** A default cap on processes per step, so a fork bomb cannot take the machine with it. */
export const DEFAULT_PIDS_LIMIT = 4096;

export interface StepLimits {
  memoryBytes?: number;
  pids?: number;
}

export interface LimitedStep {
  /** Prefix for the command line: joins the cgroups (or sets rlimits), then execs the rest. */
  prefix: string[];
  /** How memory is limited: for `env check` and the README's threat model. */
  mechanism: 'cgroup-v2' | 'cgroup-v1' | 'rlimit' | 'none';
  /** Whether the kernel killed a process of the step for memory. */
  oomKilled(): boolean;
  /** Kills whatever of the step is still alive and removes the cgroups. */
  release(): void;
}

interface Mounts {
  v2?: string;
  v1Memory?: string;
  v1Pids?: string;
}

let mounts: Mounts | null = null;

function cgroupMounts(): Mounts {
  if (mounts) return mounts;
  mounts = {};
  try {
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      // "... mountpoint options - fstype source superoptions"
      const [left, right] = line.split(' - ');
      if (!right) continue;
      const mountPoint = left.split(' ')[4];
      const [fsType, , superOptions = ''] = right.split(' ');
      if (fsType === 'cgroup2') mounts.v2 ??= mountPoint;
      if (fsType === 'cgroup' && superOptions.split(',').includes('memory')) mounts.v1Memory = mountPoint;
      if (fsType === 'cgroup' && superOptions.split(',').includes('pids')) mounts.v1Pids = mountPoint;
    }
  } catch {
    // no /proc: not Linux
  }
  return mounts;
}

/** This process's own cgroup path in a hierarchy ("0::/x" for v2, "4:memory:/x" for v1). */
function ownCgroup(controller: string | null): string | null {
  try {
    for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
      const [, controllers, where] = line.split(':');
      if (where === undefined) continue;
      if (controller === null ? controllers === '' && line.startsWith('0:') : controllers.split(',').includes(controller)) return where;
    }
  } catch {
    // not Linux
  }
  return null;
}

/** Makes a child cgroup next to ours; null when the hierarchy is not ours to write. */
function makeCgroup(mountPoint: string | undefined, own: string | null, name: string): string | null {
  if (!mountPoint || own === null) return null;
  const dir = path.join(mountPoint, own, name);
  try {
    mkdirSync(dir);
    return dir;
  } catch {
    return null;
  }
}

function writeSetting(dir: string, file: string, value: string): boolean {
  try {
    writeFileSync(path.join(dir, file), value);
    return true;
  } catch {
    return false;
  }
}

function counter(file: string, key: string): number {
  try {
    const match = new RegExp(`^${key} (\\d+)$`, 'm').exec(readFileSync(file, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

function killAll(dir: string): void {
  if (writeSetting(dir, 'cgroup.kill', '1')) return; // v2, Linux 5.14+
  try {
    for (const pid of readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  } catch {
    // already removed
  }
}

function removeCgroup(dir: string): void {
  killAll(dir);
  // The processes are gone a moment after their SIGKILL; an rmdir before that is EBUSY.
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      rmdirSync(dir);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
}

/** Sets up the limits for one step. */
export function limitStep(limits: StepLimits): LimitedStep {
  const name = `ai-researcher-${randomUUID()}`;
  const found = cgroupMounts();
  const groups: string[] = [];
  let memoryGroup: { dir: string; version: 1 | 2 } | null = null;

  const v2 = makeCgroup(found.v2, ownCgroup(null), name);
  if (v2) {
    const memoryOk = limits.memoryBytes === undefined || writeSetting(v2, 'memory.max', String(limits.memoryBytes));
    const pidsOk = writeSetting(v2, 'pids.max', String(limits.pids ?? DEFAULT_PIDS_LIMIT));
    if (memoryOk && (limits.memoryBytes === undefined || existsSync(path.join(v2, 'memory.events')))) {
      writeSetting(v2, 'memory.swap.max', '0');
      groups.push(v2);
      if (limits.memoryBytes !== undefined) memoryGroup = { dir: v2, version: 2 };
    } else {
      removeCgroup(v2); // the memory controller is not delegated here
      void pidsOk;
    }
  }
  if (!memoryGroup && limits.memoryBytes !== undefined) {
    const v1 = makeCgroup(found.v1Memory, ownCgroup('memory'), name);
    if (v1 && writeSetting(v1, 'memory.limit_in_bytes', String(limits.memoryBytes))) {
      writeSetting(v1, 'memory.memsw.limit_in_bytes', String(limits.memoryBytes)); // no swap either, where accounted
      writeSetting(v1, 'memory.swappiness', '0');
      groups.push(v1);
      memoryGroup = { dir: v1, version: 1 };
    } else if (v1) {
      removeCgroup(v1);
    }
  }
  if (!groups.includes(v2 ?? '')) {
    const pids = makeCgroup(found.v1Pids, ownCgroup('pids'), name);
    if (pids && writeSetting(pids, 'pids.max', String(limits.pids ?? DEFAULT_PIDS_LIMIT))) groups.push(pids);
    else if (pids) removeCgroup(pids);
  }

  const prefix: string[] = [];
  if (groups.length) {
    // "$@" after the groups' procs files: the shell joins each, then becomes the step.
    const joins = groups.map((_, i) => `echo $$ > "$${i + 1}/cgroup.procs"`).join(' && ');
    prefix.push('/bin/sh', '-c', `${joins} && shift ${groups.length} && exec "$@"`, 'join-cgroups', ...groups);
  }
  let mechanism: LimitedStep['mechanism'] = memoryGroup ? (memoryGroup.version === 2 ? 'cgroup-v2' : 'cgroup-v1') : 'none';
  if (!memoryGroup && limits.memoryBytes !== undefined && existsSync('/usr/bin/prlimit')) {
    prefix.push('/usr/bin/prlimit', `--as=${limits.memoryBytes}`, '--');
    mechanism = 'rlimit';
  }

  return {
    prefix,
    mechanism,
    oomKilled: () => {
      if (!memoryGroup) return false;
      const file = memoryGroup.version === 2 ? 'memory.events' : 'memory.oom_control';
      return counter(path.join(memoryGroup.dir, file), 'oom_kill') > 0;
    },
    release: () => {
      for (const dir of groups) removeCgroup(dir);
    },
  };
}
