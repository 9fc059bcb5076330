/**
 * A Docker sweep killed with `kill -9` (then resumed) or stopped with Ctrl-C leaves no container
 * running, and `resume` leaves none at all.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunStore } from '../../src/store/run-store.ts';
import { tempDir } from '../helpers/sweep.ts';
import {
  CLI,
  DOCKER_HOST,
  codeImagesOfRun,
  containersOfRun,
  dockerEnvironment,
  dockerTestsRun,
  researcher,
  uniqueRunId,
} from './engine.ts';

const runs = await dockerTestsRun('the Docker kill and resume tests');

function startSweep(environment: string, runsDir: string, runId: string): { child: ChildProcess; exited: Promise<number | null> } {
  const child = spawn(
    process.execPath,
    [
      CLI,
      'run',
      environment,
      '--ideas',
      '2',
      '--baseline-seeds',
      '1',
      '--confirm-seeds',
      '0',
      '--sandbox',
      'docker',
      '--runs-dir',
      runsDir,
      '--run-id',
      runId,
    ],
    {
      env: { ...process.env, DOCKER_HOST },
      stdio: 'ignore',
    },
  );
  return { child, exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
}

/** Waits until a step container of the run is running; returns its id. */
async function runningStep(runId: string): Promise<string> {
  let id = '';
  await expect
    .poll(
      async () => {
        const running = (await containersOfRun(runId)).find((c) => c.State === 'running' && c.Labels['ai-researcher.kind'] === 'run');
        id = running?.Id ?? '';
        return id !== '';
      },
      { timeout: 180_000, interval: 250 },
    )
    .toBe(true);
  return id;
}

describe.skipIf(!runs)('killed and interrupted Docker sweeps', () => {
  it(
    'kill -9 mid-run: the container stops with its researcher, and resume finishes the sweep leaving no container',
    { timeout: 400_000 },
    async () => {
      const environment = dockerEnvironment('import time\ntime.sleep(6)');
      const runsDir = tempDir('researcher-docker-runs-');
      const runId = uniqueRunId('killed');
      const runDir = path.join(runsDir, runId);
      const { child, exited } = startSweep(environment, runsDir, runId);
      const containerId = await runningStep(runId);
      child.kill('SIGKILL');
      await exited;

      // The run recorded the container it started, so a resumed run can find it.
      const store = RunStore.open(runDir);
      try {
        expect(store.runningEvaluations().map((e) => e.handle?.containerId)).toContain(containerId);
      } finally {
        store.close();
      }
      // Leashed to the researcher through stdin: with the researcher gone, the container stops
      // itself. It is still there (nobody removed it) until resume does.
      await expect
        .poll(async () => (await containersOfRun(runId)).filter((c) => c.State === 'running').map((c) => c.Id), {
          timeout: 60_000,
          interval: 500,
        })
        .toEqual([]);
      expect((await containersOfRun(runId)).map((c) => c.Id)).toContain(containerId);

      const resumed = await researcher(['resume', runDir]);
      expect(resumed.stderr).not.toMatch(/^error/m);
      expect(resumed.status).toBe(0);
      expect(await containersOfRun(runId)).toEqual([]);
      expect(await codeImagesOfRun(runId)).toEqual([]);

      const after = RunStore.open(runDir);
      try {
        const ideas = after.ideas();
        expect(ideas.map((idea) => idea.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
        for (const idea of ideas) {
          const evaluations = after.evaluations(idea.id).filter((e) => e.status !== 'running');
          expect(evaluations.map((e) => e.status)).toEqual(['succeeded']);
        }
      } finally {
        after.close();
      }
    },
  );

  it('Ctrl-C stops the sweep and removes its running container', { timeout: 300_000 }, async () => {
    const environment = dockerEnvironment('import time\ntime.sleep(120)');
    const runsDir = tempDir('researcher-docker-runs-');
    const runId = uniqueRunId('interrupted');
    const { child, exited } = startSweep(environment, runsDir, runId);
    await runningStep(runId);
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(await containersOfRun(runId)).toEqual([]);
    expect(await codeImagesOfRun(runId)).toEqual([]);
    // The interrupted baseline is left unfinished, for `resume`.
    const store = RunStore.open(path.join(runsDir, runId));
    try {
      expect(['succeeded', 'failed']).not.toContain(store.idea(0)?.status);
    } finally {
      store.close();
    }
  });
});
