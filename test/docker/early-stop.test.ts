/**
 * Early stopping through the Docker sandbox, on a real engine: the curve comes from the
 * container's followed logs while it runs, and a clearly losing idea's container is stopped
 * alone, mid-run, and removed.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DockerSandbox } from '../../src/sandbox/docker/sandbox.ts';
import { curvesEnvironment, setCurveX } from '../helpers/curves.ts';
import { createTestRun, scriptedCoder, scriptedThinker } from '../helpers/sweep.ts';
import { CPU_IMAGE, MOUNT_HOST, containersOfRun, dockerTestsRun, request, uniqueRunId } from './engine.ts';

const runs = await dockerTestsRun('the Docker early-stopping test');

describe.skipIf(!runs)('early stopping in Docker', () => {
  it('stops a losing idea mid-run from its followed logs, and leaves no container', { timeout: 300_000 }, async () => {
    const runId = uniqueRunId('early-stop');
    const run = await createTestRun(curvesEnvironment({ image: CPU_IMAGE }), { runId, ideas: 1, baselineSeeds: 2, sandbox: 'docker' });
    const sandbox = new DockerSandbox({ hosts: [MOUNT_HOST] });
    try {
      await run.sweep({ sandbox, thinker: scriptedThinker([{ title: 'tiny X' }]), coder: scriptedCoder([setCurveX('0.05')]) });
    } finally {
      await sandbox.close?.();
    }
    const [baseline, losing] = run.store.ideas();
    expect(baseline.status).toBe('succeeded');
    expect(losing).toMatchObject({ status: 'failed', failureReason: 'stopped-early' });
    expect(losing.error).toMatch(/^stopped early at step \d+ of 20/);
    expect(run.store.curves(0).map((curve) => curve.points.length)).toEqual([20, 20]);
    const lastStep = run.store.curves(losing.id)[0].points.at(-1)!.step;
    expect(lastStep).toBeGreaterThanOrEqual(5);
    expect(lastStep).toBeLessThan(20);
    run.store.close();
    expect(await containersOfRun(runId)).toEqual([]);
  });

  it(
    'keeps writing the log of a step that runs longer than the 10 s the log stream gets after the container exits',
    { timeout: 120_000 },
    async () => {
      const sandbox = new DockerSandbox({ hosts: [MOUNT_HOST] });
      const seen: string[] = [];
      const req = request('for i in $(seq 1 13); do echo "line $i"; sleep 1; done', { onOutput: (chunk) => seen.push(chunk.toString()) });
      try {
        const result = await sandbox.run(req);
        expect(result.exitCode).toBe(0);
      } finally {
        await sandbox.close();
      }
      const lines = Array.from({ length: 13 }, (_, i) => `line ${i + 1}`);
      expect(readFileSync(req.logPath, 'utf8').trim().split('\n')).toEqual(lines);
      expect(seen.join('').trim().split('\n')).toEqual(lines);
    },
  );
});
