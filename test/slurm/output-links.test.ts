/**
 * The link attacks through the Slurm sandbox, on the real one-node cluster, as scripted coders'
 * edits in real sweeps. A job's outputs are staged on shared storage and copied back; neither the
 * copy back nor the evaluator's staging may carry a link the run made.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SlurmSandbox } from '../../src/sandbox/slurm/sandbox.ts';
import { createTestRun, scriptedCoder, scriptedThinker, tempDir } from '../helpers/sweep.ts';
import { filesContaining, hostSecret, linkEnvironment, linkOutput } from '../integrity/link-attacks.ts';
import { SKIP_SLURM, requireSlurm } from './cluster.ts';

const SET_X_3 = { kind: 'search-replace' as const, blocks: [{ path: 'config.py', search: 'X = 0.5', replace: 'X = 3' }] };

describe.skipIf(SKIP_SLURM)('links a run leaves in its outputs, under Slurm', () => {
  requireSlurm();

  it('prediction.json -> the frozen answer scores nothing, and the evaluator sees no link', async () => {
    const runId = `slurm-links-${process.pid}`;
    const run = await createTestRun(linkEnvironment({ evaluator: true }), { runId, ideas: 2, repairRounds: 0, sandbox: 'slurm' });
    const sandbox = new SlurmSandbox({ sharedDir: tempDir('researcher-shared-'), pollMs: 200 }, run.environment);
    const answer = path.join(run.runDir, 'evaluator', 'answer.json');
    try {
      await run.sweep({ sandbox, thinker: scriptedThinker([{}]), coder: scriptedCoder([linkOutput('prediction.json', answer), SET_X_3]) });
    } finally {
      await sandbox.close?.();
    }
    const [baseline, linked, honest] = run.store.ideas();
    expect(baseline).toMatchObject({ status: 'succeeded', reward: 3.75 });
    expect(linked).toMatchObject({ status: 'failed', failureReason: 'no-metric' });
    expect(linked.error).toMatch(/no usable prediction\.json: FileNotFoundError/);
    expect(honest).toMatchObject({ status: 'succeeded', reward: 10 });
    for (const id of [0, 1, 2]) {
      expect(readFileSync(path.join(run.runDir, `ideas/${id}/seed-0/eval/evaluate.log`), 'utf8'), `idea ${id}`).toContain(
        'links under OUTPUT_DIR: 0',
      );
    }
    run.store.close();
  }, 240_000);

  it('metrics.json -> a host file does not come back as a link, and the file is never read', async () => {
    const secret = hostSecret();
    const runId = `slurm-links-metrics-${process.pid}`;
    const run = await createTestRun(linkEnvironment({ evaluator: false }), { runId, ideas: 1, repairRounds: 0, sandbox: 'slurm' });
    const shared = tempDir('researcher-shared-');
    const sandbox = new SlurmSandbox({ sharedDir: shared, pollMs: 200 }, run.environment);
    try {
      await run.sweep({ sandbox, thinker: scriptedThinker([{}]), coder: scriptedCoder([linkOutput('metrics.json', secret.file)]) });
    } finally {
      await sandbox.close?.();
    }
    expect(run.store.idea(1)).toMatchObject({ status: 'failed', failureReason: 'no-metric', error: 'metrics.json was not written' });
    run.store.close();
    expect(filesContaining(path.dirname(run.runDir), secret.marker)).toEqual([]);
  }, 240_000);
});
