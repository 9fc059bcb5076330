/**
 * `researcher run … --sandbox docker` end to end on a real engine: a sweep of several ideas in
 * containers, with each idea's sandbox, exit code, duration, OOM and time-out in `show --json`,
 * nothing left on the engine afterwards, and the up-front errors a user can act on.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunSummary } from '../../src/report/run-summary.ts';
import { tempDir } from '../helpers/sweep.ts';
import {
  DOCKER_HOST,
  QUADRATIC_DOCKER,
  codeImagesOfRun,
  containersOfRun,
  dockerEnvironment,
  dockerTestsRun,
  researcher,
  uniqueRunId,
} from './engine.ts';

const runs = await dockerTestsRun('the Docker sweep tests');

describe.skipIf(!runs)('a sweep in Docker containers', () => {
  it('runs every idea in a container and records its sandbox, exit code, duration, OOM and time-out', { timeout: 300_000 }, async () => {
    // Idea 1 overstays its time limit, idea 2 overruns its memory, the others behave.
    const environment = dockerEnvironment(
      [
        'import os, time',
        'if os.environ.get("IDEA_ID") == "1":',
        '    time.sleep(300)',
        'if os.environ.get("IDEA_ID") == "2":',
        '    block = b"x" * (1024 << 20)',
      ].join('\n'),
      { timeout: '20s', memory: '128m' }, // room for a loaded machine: only idea 1 should reach it
    );
    const runsDir = tempDir('researcher-docker-runs-');
    const runId = uniqueRunId('sweep');
    const result = await researcher([
      'run',
      environment,
      '--ideas',
      '3',
      // One evaluation per idea (no extra baseline or confirmation seeds): this test is about the engine.
      '--baseline-seeds',
      '1',
      '--confirm-seeds',
      '0',
      '--parallel',
      '2',
      '--sandbox',
      'docker',
      '--runs-dir',
      runsDir,
      '--run-id',
      runId,
    ]);
    expect(result.stderr).not.toMatch(/error/i);
    expect(result.status).toBe(0);

    const shown = JSON.parse((await researcher(['show', path.join(runsDir, runId), '--json'])).stdout) as RunSummary;
    expect(shown.run.sandbox).toBe('docker');
    expect(shown.ideas.map((idea) => idea.id)).toEqual([0, 1, 2, 3]);
    for (const idea of shown.ideas) {
      expect(idea.evaluations).toHaveLength(1);
      const evaluation = idea.evaluations[0];
      expect(evaluation.sandbox).toBe('docker');
      expect(evaluation.durationMs).toBeGreaterThan(0);
      expect(evaluation.handle).toMatchObject({ sandbox: 'docker', host: DOCKER_HOST });
      expect(evaluation.handle?.containerId).toMatch(/^[0-9a-f]{64}$/);
    }
    const [baseline, slow, hungry, fine] = shown.ideas;
    expect(baseline).toMatchObject({ status: 'succeeded', evaluations: [{ exitCode: 0, timedOut: false, oomKilled: false }] });
    expect(slow).toMatchObject({ status: 'failed', failureReason: 'timed-out', evaluations: [{ timedOut: true, oomKilled: false }] });
    expect(hungry).toMatchObject({ status: 'failed', failureReason: 'oom', evaluations: [{ timedOut: false, oomKilled: true }] });
    expect(hungry.evaluations[0].exitCode).not.toBe(0);
    expect(fine).toMatchObject({ status: 'succeeded', evaluations: [{ exitCode: 0, timedOut: false, oomKilled: false }] });
    // The idea's change reached its container: its reward is not the baseline's.
    expect(fine.reward).not.toBe(baseline.reward);

    expect(await containersOfRun(runId)).toEqual([]);
    expect(await codeImagesOfRun(runId)).toEqual([]);
  });

  it('fails up front, in one line saying what to install, when --gpus is given to an engine without the NVIDIA runtime', async () => {
    const result = await researcher([
      'run',
      QUADRATIC_DOCKER,
      '--ideas',
      '1',
      '--sandbox',
      'docker',
      '--gpus',
      '0',
      '--runs-dir',
      tempDir('researcher-docker-runs-'),
    ]);
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(
      /^error: --gpus 0 was given but the Docker engine at .* has no NVIDIA runtime .*install the NVIDIA Container Toolkit/,
    );
  });
});

describe('a Docker sweep without a daemon', () => {
  it('fails up front in one line naming the socket and DOCKER_HOST', async () => {
    const socket = path.join(tempDir('researcher-no-daemon-'), 'docker.sock');
    const result = await researcher(
      ['run', QUADRATIC_DOCKER, '--ideas', '1', '--sandbox', 'docker', '--runs-dir', tempDir('researcher-docker-runs-')],
      {
        DOCKER_HOST: `unix://${socket}`,
      },
    );
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain(`error: no Docker daemon answers at unix://${socket} (no socket there; DOCKER_HOST=unix://${socket})`);
  });
});
