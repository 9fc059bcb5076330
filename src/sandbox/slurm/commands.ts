/**
 * The Slurm client commands (sbatch, squeue, scancel, sacct, sinfo), run with a clean
 * environment, and Slurm seen as a BatchScheduler.
 */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { SandboxError } from '../../core/errors.ts';
import { sleep } from '../../core/sleep.ts';
import type { BatchJob, BatchScheduler } from '../batch/scheduler.ts';
import { firstLine } from '../../core/format.ts';

/** Job states after which a job never runs again. Anything else (PENDING, RUNNING, COMPLETING, …) is live. */
const TERMINAL_STATES = new Set([
  'BOOT_FAIL',
  'CANCELLED',
  'COMPLETED',
  'DEADLINE',
  'FAILED',
  'NODE_FAIL',
  'OUT_OF_MEMORY',
  'PREEMPTED',
  'REVOKED',
  'SPECIAL_EXIT',
  'TIMEOUT',
]);

/** Errors after which an sbatch/scancel call is worth retrying. */
export const TRANSIENT =
  /socket timed out|unable to contact slurm controller|temporarily unable|resource temporarily unavailable|connection refused|zero bytes were transmitted|try again/i;

export interface CommandResult {
  ok: boolean;
  stdout: string;
  stderr: string;
  /** The command is not installed. */
  missing: boolean;
}

/**
 * The environment the Slurm client commands see: enough to find the cluster and the user's
 * sbatch defaults (SBATCH_ACCOUNT, …), nothing else of the researcher's.
 */
function clientEnvironment(host: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(host)) {
    if (value === undefined) continue;
    const basic = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'TZ'].includes(name);
    const slurm =
      name === 'SLURM_CONF' || name === 'SLURM_CLUSTERS' || (name.startsWith('SBATCH_') && !/KEY|TOKEN|SECRET|PASSWORD/i.test(name));
    if (basic || slurm) env[name] = value;
  }
  return env;
}

/** Runs a Slurm client command; never throws (a missing command is `missing`). */
export async function slurm(command: string, args: string[], timeoutMs = 60_000): Promise<CommandResult> {
  const result = await execa(command, args, {
    env: clientEnvironment(),
    extendEnv: false,
    stdin: 'ignore',
    reject: false,
    timeout: timeoutMs,
  });
  const missing = (result as { code?: string }).code === 'ENOENT';
  return {
    ok: !result.failed && result.exitCode === 0,
    stdout: String(result.stdout ?? ''),
    stderr: missing ? `${command}: command not found` : String(result.stderr ?? '').trim() || String(result.message ?? ''),
    missing,
  };
}

/** Whether an executable of this name is on PATH (without running it: Slurm clients wait a minute for a missing slurm.conf). */
export function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => {
    try {
      accessSync(path.join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export function isLive(state: string): boolean {
  return !TERMINAL_STATES.has(state);
}

export function parseQueue(stdout: string): BatchJob[] {
  const jobs: BatchJob[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.trim()) continue;
    const [id, state, reason, ...name] = line.trim().split('|');
    jobs.push({ id, state: state.split(/\s+/)[0], reason, name: name.join('|') });
  }
  return jobs;
}

export const QUEUE_FORMAT = '%i|%T|%r|%j';

/** The user's live jobs with these exact names. */
export async function liveJobsNamed(names: string[]): Promise<BatchJob[]> {
  let error = '';
  for (let attempt = 0; attempt < 4; attempt++) {
    if (attempt > 0) await sleep(1000 * 2 ** attempt);
    const result = await slurm('squeue', ['--me', '--noheader', `--name=${names.join(',')}`, `--format=${QUEUE_FORMAT}`]);
    if (result.ok) return parseQueue(result.stdout).filter((job) => names.includes(job.name) && isLive(job.state));
    error = firstLine(result.stderr);
  }
  throw new SandboxError(`squeue failed: ${error}`);
}

export async function cancelJob(jobId: string): Promise<boolean> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const result = await slurm('scancel', [jobId]);
    if (result.ok) return true;
    if (!TRANSIENT.test(result.stderr)) return false;
    await sleep(1000 * 2 ** attempt);
  }
  return false;
}

/** The final state from sacct, when the cluster keeps accounting; null otherwise. */
export async function accountingState(jobId: string): Promise<string | null> {
  const result = await slurm('sacct', ['--noheader', '--parsable2', '--allocations', `--jobs=${jobId}`, '--format=State']);
  if (!result.ok) return null; // no accounting storage: the exit file decides
  const state = firstLine(result.stdout).split(/\s+/)[0];
  return state && TERMINAL_STATES.has(state) ? state : null;
}

/** Slurm as a batch scheduler: squeue for the queue, scancel to stop, sacct for final states. */
export const slurmScheduler: BatchScheduler = {
  async queue(jobIds) {
    const result = await slurm('squeue', ['--noheader', '--states=all', `--jobs=${jobIds.join(',')}`, `--format=${QUEUE_FORMAT}`]);
    // Every id unknown (purged after MinJobAge) makes squeue fail with this message.
    if (result.ok || /invalid job id/i.test(result.stderr)) return { jobs: parseQueue(result.ok ? result.stdout : '') };
    return { unreachable: firstLine(result.stderr) || 'squeue failed' };
  },
  liveJobsNamed,
  cancel: cancelJob,
  finalState: accountingState,
  isLive,
};
