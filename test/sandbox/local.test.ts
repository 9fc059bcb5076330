import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SandboxHandle, SandboxRequest } from '../../src/core/interfaces.ts';
import { LocalSandbox } from '../../src/sandbox/local.ts';
import { processGroupAlive } from '../../src/sandbox/processes.ts';
import { hostProcessesWith, localIsolations } from '../helpers/bubblewrap.ts';
import { tempDir } from '../helpers/sweep.ts';

function request(command: string, overrides: Partial<SandboxRequest> = {}): SandboxRequest {
  const dir = tempDir('researcher-sandbox-');
  return {
    runId: 'r',
    ideaId: 7,
    seed: 3,
    kind: 'run',
    step: { command, timeout: 10_000, env: {}, passEnv: [] },
    resources: { gpus: 0, shareGpus: false },
    network: false,
    workDir: dir,
    outputDir: path.join(dir, 'out'),
    logPath: path.join(dir, 'run.log'),
    gpus: [],
    ...overrides,
  };
}

describe.each(localIsolations())('LocalSandbox (isolation: %s)', (isolation) => {
  const sandbox = new LocalSandbox({ isolation });

  it('runs the command in the work dir with OUTPUT_DIR, SEED and the idea, logging stdout and stderr', async () => {
    const req = request('echo "out $SEED $IDEA_ID"; echo err >&2; pwd > "$OUTPUT_DIR/where"');
    const result = await sandbox.run(req);
    expect(result).toMatchObject({ exitCode: 0, timedOut: false, oomKilled: false, interrupted: false });
    const log = readFileSync(req.logPath, 'utf8');
    expect(log).toContain('out 3 7');
    expect(log).toContain('err');
    // Isolated, the step works in a private copy of the code at a fixed path.
    expect(readFileSync(path.join(req.outputDir, 'where'), 'utf8').trim()).toBe(isolation === 'bubblewrap' ? '/sandbox/code' : req.workDir);
  });

  it('passes no API keys or other host variables to the command', async () => {
    process.env.OPENAI_API_KEY = 'sk-secret-test';
    process.env.ANTHROPIC_API_KEY = 'sk-ant-secret';
    process.env.SOME_HOST_VARIABLE = 'host-only';
    try {
      const req = request('env', {
        step: { command: 'env', timeout: 10_000, env: { MINE: '1' }, passEnv: ['SOME_HOST_VARIABLE', 'OPENAI_API_KEY'] },
      });
      await sandbox.run(req);
      const log = readFileSync(req.logPath, 'utf8');
      expect(log).not.toContain('sk-secret-test');
      expect(log).not.toContain('sk-ant-secret');
      expect(log).toContain('SOME_HOST_VARIABLE=host-only'); // named in passEnv
      expect(log).toContain('MINE=1');
      expect(log).toContain('CUDA_VISIBLE_DEVICES=\n');
    } finally {
      delete process.env.OPENAI_API_KEY;
      delete process.env.ANTHROPIC_API_KEY;
      delete process.env.SOME_HOST_VARIABLE;
    }
  });

  it('records a crash as a non-zero exit code, not an exception', async () => {
    const result = await sandbox.run(request('echo dying; exit 3'));
    expect(result.exitCode).toBe(3);
    expect(result.timedOut).toBe(false);
  });

  it('kills the whole process tree at the time limit, grandchildren included', async () => {
    // The command starts a background grandchild that would outlive a plain kill of the shell.
    const marker = `${300 + Math.floor(Math.random() * 1000)}.${process.pid}`;
    const command = `sleep ${marker} & echo "grandchild $!"; sleep ${marker}`;
    const req = request(command, { step: { command, timeout: 1_000, env: {}, passEnv: [] } });
    let handle: SandboxHandle | undefined;
    const result = await sandbox.run({ ...req, onStarted: (h) => (handle = h) });
    expect(result.timedOut).toBe(true);
    expect(handle?.pid).toBeGreaterThan(0);
    expect(readFileSync(req.logPath, 'utf8')).toMatch(/grandchild \d+/);
    await expect.poll(() => hostProcessesWith(`sleep ${marker}`), { timeout: 5_000 }).toEqual([]);
    expect(processGroupAlive(handle!.pid!)).toBe(false);
  });

  it('stops the run when the sweep is interrupted', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const result = await sandbox.run(request('sleep 30', { signal: controller.signal }));
    expect(result.interrupted).toBe(true);
    expect(result.timedOut).toBe(false);
  });

  it('reaps a process group left by a killed researcher, but only if it is the same process', async () => {
    let handle: SandboxHandle | undefined;
    const controller = new AbortController();
    const running = sandbox.run(request('sleep 30', { signal: controller.signal, onStarted: (h) => (handle = h) }));
    await expect.poll(() => handle !== undefined).toBe(true);
    // A handle whose start time does not match (a reused pid) is left alone.
    await sandbox.reap([{ ...handle!, pidStart: '1' }]);
    expect(processGroupAlive(handle!.pid!)).toBe(true);
    await sandbox.reap([handle!]);
    const result = await running;
    expect(result.exitCode === null || result.exitCode !== 0).toBe(true);
    expect(processGroupAlive(handle!.pid!)).toBe(false);
    controller.abort();
  });

  it('hides GPUs it was not given and exposes the ones it was', async () => {
    const req = request('echo "gpus=[$CUDA_VISIBLE_DEVICES]"', { gpus: ['2', '3'] });
    await sandbox.run(req);
    expect(readFileSync(req.logPath, 'utf8')).toContain('gpus=[2,3]');
    expect(existsSync(req.outputDir)).toBe(true);
  });
});
