/**
 * Ctrl-C during a Slurm sweep cancels the jobs in flight (scancel): nothing of the run is left
 * in the queue, and the run stops cleanly, ready for `resume`.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { STAGE_FOLDER } from '../../src/sandbox/slurm/staging.ts';
import { RunStore } from '../../src/store/run-store.ts';
import { tempDir } from '../helpers/sweep.ts';
import { quadraticWith, startResearcher, until } from './cli.ts';
import { SKIP_SLURM, queuedJobs, requireSlurm } from './cluster.ts';

describe.skipIf(SKIP_SLURM)('Ctrl-C during a Slurm sweep', () => {
  requireSlurm();

  it('cancels the running job and leaves nothing in squeue', async () => {
    const environment = quadraticWith((yaml) =>
      yaml.replace('command: python3 train.py', "command: 'echo waiting; sleep 300; python3 train.py'"),
    );
    const runsDir = tempDir('researcher-runs-');
    const sharedDir = tempDir('researcher-shared-');
    const runId = `slurm-ctrl-c-${process.pid}`;
    const prefix = `researcher-${runId}-`;
    const researcher = startResearcher([
      'run',
      environment,
      '--ideas',
      '1',
      '--runs-dir',
      runsDir,
      '--run-id',
      runId,
      '--sandbox',
      'slurm',
      '--shared-dir',
      sharedDir,
    ]);
    try {
      await until(() => queuedJobs(prefix).some((job) => job.state === 'RUNNING'), 'the baseline job to run');
      researcher.child.kill('SIGINT');
      const code = await researcher.exited;
      expect(code).not.toBeNull(); // it stopped by itself, not by a signal
      expect(researcher.output()).toMatch(/SIGINT: stopping/);
      expect(researcher.output()).toMatch(/stopped; continue with: researcher resume/);
    } finally {
      if (researcher.child.exitCode === null) researcher.child.kill('SIGKILL');
    }

    expect(queuedJobs(prefix)).toEqual([]);
    expect(existsSync(path.join(sharedDir, STAGE_FOLDER, runId))).toBe(false);
    const store = RunStore.open(path.join(runsDir, runId));
    // The baseline was stopped, not failed: resume runs it again.
    expect(store.idea(0)!.status).not.toMatch(/succeeded|failed/);
    store.close();
  }, 240_000);
});
