/**
 * Done-when of the Slurm half of issue 9: a sweep with --sandbox slurm on a real cluster records
 * every idea, with the rewards a local sweep of the same ideas gets, and leaves no job queued.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { STAGE_FOLDER } from '../../src/sandbox/slurm/staging.ts';
import { RunStore } from '../../src/store/run-store.ts';
import { tempDir } from '../helpers/sweep.ts';
import { quadraticWith, researcher } from './cli.ts';
import { SKIP_SLURM, queuedJobs, requireSlurm } from './cluster.ts';

describe.skipIf(SKIP_SLURM)('a sweep through Slurm', () => {
  requireSlurm();

  it('records every idea with the rewards of a local sweep of the same ideas, and leaves no job behind', async () => {
    const environment = quadraticWith();
    const runsDir = tempDir('researcher-runs-');
    const sharedDir = tempDir('researcher-shared-');
    const runId = `slurm-sweep-${process.pid}`;
    const common = [
      environment,
      '--ideas',
      '2',
      '--search',
      'parallel',
      '--parallel',
      '2',
      '--seed',
      '11',
      '--baseline-seeds',
      '1',
      '--confirm-seeds',
      '0',
      '--fresh',
      '--runs-dir',
      runsDir,
    ];
    const [, output] = await Promise.all([
      researcher(['run', ...common, '--run-id', 'local']),
      researcher(['run', ...common, '--run-id', runId, '--sandbox', 'slurm', '--shared-dir', sharedDir]),
    ]);
    expect(output).toContain('slurm sandbox');

    const local = RunStore.open(path.join(runsDir, 'local'));
    const slurm = RunStore.open(path.join(runsDir, runId));
    const summary = (store: RunStore) =>
      store.ideas().map((idea) => ({ id: idea.id, title: idea.title, status: idea.status, reward: idea.reward }));
    expect(slurm.ideas()).toHaveLength(3); // the baseline and two ideas
    expect(slurm.ideas().every((idea) => idea.status === 'succeeded')).toBe(true);
    expect(summary(slurm)).toEqual(summary(local));

    for (const evaluation of slurm.evaluations()) {
      expect(evaluation).toMatchObject({
        status: 'succeeded',
        sandbox: 'slurm',
        handle: { sandbox: 'slurm', jobId: expect.stringMatching(/^\d+$/) },
      });
      // The job's output was mirrored into the idea's own log.
      expect(readFileSync(evaluation.logPath!, 'utf8')).toMatch(/training with X=\S+ seed=0/);
    }
    expect(new Set(slurm.evaluations().map((e) => e.handle!.jobId)).size).toBe(3);
    expect(queuedJobs(`researcher-${runId}-`)).toEqual([]);
    expect(existsSync(path.join(sharedDir, STAGE_FOLDER, runId))).toBe(false);
    local.close();
    slurm.close();
  }, 300_000);
});

describe('a Slurm sweep without its shared folder', () => {
  it('refuses to start without a usable shared folder, with a one-line reason', async () => {
    const runsDir = tempDir('researcher-runs-');
    const failure = await researcher(['run', quadraticWith(), '--ideas', '1', '--runs-dir', runsDir, '--sandbox', 'slurm']).catch(
      (error: { stderr: string; code: number }) => error,
    );
    expect(failure).toMatchObject({ code: 1, stderr: expect.stringMatching(/needs --shared-dir DIR/) });
    expect((failure as { stderr: string }).stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});
