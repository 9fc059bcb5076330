/**
 * Test helpers for the real Slurm cluster (scripts/slurm-up.sh starts a one-node one): whether it
 * answers here, and which of a run's jobs are still in the queue.
 */
import { execFileSync } from 'node:child_process';
import { beforeAll } from 'vitest';

function probe(): string | null {
  try {
    execFileSync('sbatch', ['--version'], { stdio: 'pipe', timeout: 10_000 });
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return 'sbatch is not installed (apt-get install slurm-wlm)';
    return `sbatch does not work here (${String((error as { stderr?: Buffer }).stderr ?? error).trim()})`;
  }
  try {
    execFileSync('squeue', ['--me', '--noheader', '--format=%i'], { stdio: 'pipe', timeout: 10_000 });
  } catch (error) {
    return `the Slurm controller does not answer (${String((error as { stderr?: Buffer }).stderr ?? error).trim()}); start it with scripts/slurm-up.sh`;
  }
  return null;
}

/** Why the cluster cannot be used, or null when it can. */
export const SLURM_MISSING = probe();

/**
 * Skip only when Slurm is absent AND this is not CI; under CI=true a missing cluster fails the
 * suite (see `requireSlurm`).
 */
export const SKIP_SLURM = SLURM_MISSING !== null && process.env.CI !== 'true';
if (SKIP_SLURM) console.warn(`skipping Slurm tests: ${SLURM_MISSING}`);

/** Call inside a describe: fails its tests when the cluster is missing under CI. */
export function requireSlurm(): void {
  beforeAll(() => {
    if (SLURM_MISSING) throw new Error(`Slurm is required under CI=true: ${SLURM_MISSING}`);
  });
}

export interface QueuedJob {
  id: string;
  state: string;
  name: string;
}

/** The user's jobs still pending, running or completing whose name starts with `prefix`. */
export function queuedJobs(prefix: string): QueuedJob[] {
  const out = execFileSync('squeue', ['--me', '--noheader', '--format=%i|%T|%j'], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id, state, ...name] = line.trim().split('|');
      return { id, state, name: name.join('|') };
    })
    .filter((job) => job.name.startsWith(prefix));
}

/** A job's time limit as squeue prints it (e.g. "2:00"). */
export function timeLimit(jobId: string): string {
  return execFileSync('squeue', ['--noheader', `--jobs=${jobId}`, '--format=%l'], { encoding: 'utf8' }).trim();
}
