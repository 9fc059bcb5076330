/**
 * The Docker sandbox's evaluate step and file transfer on a real engine: the evaluator sees the
 * run's outputs read-only, the run never sees the evaluator, files go in and out through the
 * Docker API for hosts without a shared file system, a full disk is named as such, and a
 * killed researcher's containers are removed by the ids it recorded.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SandboxHandle, SandboxRequest } from '../../src/core/interfaces.ts';
import { DockerSandbox } from '../../src/sandbox/docker/sandbox.ts';
import { COPY_HOST, MOUNT_HOST, containerGone, dockerTestsRun, request, runInspected } from '../docker/engine.ts';
import { tempDir } from '../helpers/sweep.ts';

const runs = await dockerTestsRun('the Docker evaluate-step tests');

describe.skipIf(!runs)('DockerSandbox evaluate step and file transfer', () => {
  const sandbox = new DockerSandbox({ hosts: [MOUNT_HOST] });
  afterAll(() => sandbox.close());

  it('runs the evaluator with the run outputs read-only, and the run never sees the evaluator', async () => {
    await checkEvaluation(sandbox);
  });

  it('copies files in and out through the Docker API when the host shares no file system', async () => {
    const copying = new DockerSandbox({ hosts: [COPY_HOST] });
    try {
      const { runInfo } = await checkEvaluation(copying);
      expect(runInfo.Mounts).toEqual([]);
    } finally {
      await copying.close();
    }
  });

  it('removes containers by the handles a killed researcher recorded', async () => {
    const req = request('echo started; sleep 60');
    let handle: SandboxHandle | undefined;
    const running = sandbox.run({ ...req, onStarted: (h) => (handle = h) });
    await expect.poll(() => readFileSync(req.logPath, 'utf8'), { timeout: 60_000 }).toContain('started');
    await new DockerSandbox({ hosts: [MOUNT_HOST] }).reap([handle!]);
    expect(await containerGone(handle!.containerId!)).toBe(true);
    const result = await running;
    expect(result.infrastructureError).toBeTruthy(); // its container was taken away: not the idea's fault
  });

  it('reports a full disk on this machine when outputs cannot be copied back', async () => {
    const copying = new DockerSandbox({ hosts: [COPY_HOST] });
    const small = tempDir('researcher-full-disk-');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', small]);
    try {
      const req = request('head -c 2000000 /dev/zero > "$OUTPUT_DIR/big.bin"; echo wrote', { outputDir: path.join(small, 'outputs') });
      const result = await copying.run(req);
      expect(result.infrastructureError).toMatch(/disk is full/);
      expect(readFileSync(req.logPath, 'utf8')).toContain('wrote');
    } finally {
      await copying.close();
      execFileSync('umount', [small]);
      rmSync(small, { recursive: true, force: true });
    }
  });
});

/** A run step then an evaluate step, as the loop makes them; returns the run container's inspection. */
async function checkEvaluation(sandbox: DockerSandbox) {
  const evaluator = tempDir('researcher-evaluator-');
  writeFileSync(path.join(evaluator, 'answer.json'), '{"target": 42}\n');
  const run = request('ls -aR /sandbox; echo \'{"x": 41}\' > "$OUTPUT_DIR/prediction.json"; echo run-done');
  const { result: runResult, info: runInfo, log: runLog } = await runInspected(sandbox, run);
  expect(runResult.exitCode).toBe(0);
  expect(runLog).toContain('run-done');
  expect(runLog).not.toContain('answer.json'); // the hidden answer is nowhere in the run's container
  expect(JSON.parse(readFileSync(path.join(run.outputDir, 'prediction.json'), 'utf8'))).toEqual({ x: 41 });

  const evalDir = path.join(path.dirname(run.logPath), 'eval', 'out');
  const evaluate: SandboxRequest = {
    ...run,
    kind: 'evaluate',
    step: {
      command: [
        'cat answer.json',
        'cat "$OUTPUT_DIR/prediction.json"',
        '(echo tampered > "$OUTPUT_DIR/prediction.json") 2>/dev/null && echo OUTPUTS-WRITABLE || echo OUTPUTS-READ-ONLY',
        'echo \'{"score": 1}\' > "$EVAL_DIR/metrics.json"',
      ].join('; '),
      timeout: 60_000,
      env: {},
      passEnv: [],
    },
    workDir: evaluator,
    evalDir,
    logPath: path.join(path.dirname(run.logPath), 'evaluate.log'),
  };
  const { result, info, log } = await runInspected(sandbox, evaluate);
  expect(result.exitCode).toBe(0);
  expect(log).toContain('"target": 42');
  expect(log).toContain('"x": 41');
  expect(log).toContain('OUTPUTS-READ-ONLY');
  expect(info.Config.Labels['ai-researcher.kind']).toBe('evaluate');
  expect(JSON.parse(readFileSync(path.join(evalDir, 'metrics.json'), 'utf8'))).toEqual({ score: 1 });
  expect(JSON.parse(readFileSync(path.join(run.outputDir, 'prediction.json'), 'utf8'))).toEqual({ x: 41 });
  return { runInfo };
}
