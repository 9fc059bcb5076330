/**
 * The link attacks through the Docker sandbox, on a real engine, as scripted coders' edits in
 * real sweeps. In mount mode the outputs folder is a bind mount, so a link the run makes lands on
 * this machine as it is: `prediction.json -> /sandbox/code/answer.json` would make the evaluator
 * (whose code folder holds the answer) read the answer as the prediction, and
 * `metrics.json -> /a/host/file` would make the researcher read a host file. In copy mode the
 * outputs come back as a tar, with links dropped. Neither may score, leak or crash.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DockerSandbox } from '../../src/sandbox/docker/sandbox.ts';
import { createTestRun, scriptedCoder, scriptedThinker } from '../helpers/sweep.ts';
import { filesContaining, hostSecret, linkEnvironment, linkOutput } from '../integrity/link-attacks.ts';
import { COPY_HOST, CPU_IMAGE, MOUNT_HOST, containersOfRun, dockerTestsRun, uniqueRunId } from './engine.ts';

const runs = await dockerTestsRun('the Docker link-attack tests');
const SET_X_3 = { kind: 'search-replace' as const, blocks: [{ path: 'config.py', search: 'X = 0.5', replace: 'X = 3' }] };

describe.skipIf(!runs)('links a run leaves in its outputs, in Docker', () => {
  for (const host of [MOUNT_HOST, COPY_HOST]) {
    it(
      `${host.transfer} mode: prediction.json -> the evaluator's answer scores nothing, and the evaluator sees no link`,
      { timeout: 300_000 },
      async () => {
        const runId = uniqueRunId(`links-${host.transfer}`);
        const run = await createTestRun(linkEnvironment({ evaluator: true, image: CPU_IMAGE }), {
          runId,
          ideas: 2,
          repairRounds: 0,
          sandbox: 'docker',
        });
        const sandbox = new DockerSandbox({ hosts: [host] });
        try {
          await run.sweep({
            sandbox,
            thinker: scriptedThinker([{}]),
            coder: scriptedCoder([linkOutput('prediction.json', '/sandbox/code/answer.json'), SET_X_3]),
          });
        } finally {
          await sandbox.close?.();
        }
        const [baseline, linked, honest] = run.store.ideas();
        expect(baseline).toMatchObject({ status: 'succeeded', reward: 3.75 });
        expect(linked).toMatchObject({ status: 'failed', failureReason: 'no-metric' });
        expect(linked.error).toMatch(/no usable prediction\.json: FileNotFoundError/);
        if (host.transfer === 'mount') expect(linked.error).toMatch(/left out of the outputs: prediction\.json \(a symbolic link\)/);
        expect(honest).toMatchObject({ status: 'succeeded', reward: 10 });
        for (const id of [0, 1, 2]) {
          expect(readFileSync(path.join(run.runDir, `ideas/${id}/seed-0/eval/evaluate.log`), 'utf8'), `idea ${id}`).toContain(
            'links under OUTPUT_DIR: 0',
          );
        }
        run.store.close();
        expect(await containersOfRun(runId)).toEqual([]);
      },
    );
  }

  it('mount mode: metrics.json -> a host file is refused, and the file is never read', { timeout: 300_000 }, async () => {
    const secret = hostSecret();
    const runId = uniqueRunId('links-metrics');
    const run = await createTestRun(linkEnvironment({ evaluator: false, image: CPU_IMAGE }), {
      runId,
      ideas: 1,
      repairRounds: 0,
      sandbox: 'docker',
    });
    const sandbox = new DockerSandbox({ hosts: [MOUNT_HOST] });
    try {
      await run.sweep({ sandbox, thinker: scriptedThinker([{}]), coder: scriptedCoder([linkOutput('metrics.json', secret.file)]) });
    } finally {
      await sandbox.close?.();
    }
    expect(run.store.idea(1)).toMatchObject({
      status: 'failed',
      failureReason: 'bad-metric',
      error: 'metrics.json is a symbolic link; refused',
    });
    run.store.close();
    expect(filesContaining(path.dirname(run.runDir), secret.marker)).toEqual([]);
  });
});
