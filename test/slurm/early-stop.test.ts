/**
 * Early stopping through Slurm, on the real one-node cluster: the run's progress file is copied
 * from the job's stage as it grows (the curve comes in while the job runs, not when its outputs
 * come back), and a clearly losing idea's job is cancelled mid-run.
 */
import { describe, expect, it } from 'vitest';
import { loadEnvironment } from '../../src/environment/load.ts';
import { SlurmSandbox } from '../../src/sandbox/slurm/sandbox.ts';
import { curvesEnvironment, setCurveX } from '../helpers/curves.ts';
import { createTestRun, scriptedCoder, scriptedThinker, tempDir } from '../helpers/sweep.ts';
import { SKIP_SLURM, queuedJobs, requireSlurm } from './cluster.ts';

describe.skipIf(SKIP_SLURM)('early stopping in Slurm', () => {
  requireSlurm();

  it('reads the progress file from the job stage while it runs, and cancels a losing idea mid-run', async () => {
    const environment = curvesEnvironment({ progressFile: true });
    const runId = `early-stop-${process.pid}`;
    const run = await createTestRun(environment, { runId, ideas: 1, baselineSeeds: 2, sandbox: 'slurm' });
    const sandbox = new SlurmSandbox({ sharedDir: tempDir('researcher-shared-'), pollMs: 300 }, loadEnvironment(environment));
    try {
      await run.sweep({ sandbox, thinker: scriptedThinker([{ title: 'tiny X' }]), coder: scriptedCoder([setCurveX('0.05')]) });
    } finally {
      await sandbox.close?.();
    }
    const [baseline, losing] = run.store.ideas();
    expect(baseline.status).toBe('succeeded');
    expect(losing).toMatchObject({ status: 'failed', failureReason: 'stopped-early' });
    expect(run.store.curves(0).map((curve) => curve.points.length)).toEqual([20, 20]);
    const lastStep = run.store.curves(losing.id)[0].points.at(-1)!.step;
    expect(lastStep).toBeGreaterThanOrEqual(5);
    expect(lastStep).toBeLessThan(20);
    expect(queuedJobs(`researcher-${runId}-`)).toEqual([]);
    run.store.close();
  }, 300_000);
});
