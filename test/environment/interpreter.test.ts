/**
 * Which Python a run uses: python: in environment.yaml, else the researcher's active venv/conda,
 * else python3 on PATH; only its folder reaches the run's PATH, no other variable of the researcher.
 * Real venvs and real files; no interpreter is faked.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SandboxRequest } from '../../src/core/interfaces.ts';
import { describeInterpreter, resolveInterpreter } from '../../src/environment/interpreter.ts';
import { crashCause, missingModule, nearMatches } from '../../src/reward/log-cause.ts';
import { extractMetric } from '../../src/reward/metric.ts';
import { sandboxEnvironment } from '../../src/sandbox/environment-variables.ts';
import { tempDir } from '../helpers/sweep.ts';

function venv(): string {
  const dir = path.join(tempDir('researcher-venv-'), '.venv');
  execFileSync('python3', ['-m', 'venv', '--without-pip', dir]);
  return dir;
}

const HOST_PATH = '/usr/local/bin:/usr/bin:/bin';

function request(interpreter?: SandboxRequest['interpreter']): SandboxRequest {
  return {
    runId: 'r',
    ideaId: 1,
    seed: 0,
    kind: 'run',
    step: { command: 'python3 train.py', timeout: 1000, env: {}, passEnv: [] },
    resources: { gpus: 0, shareGpus: false },
    network: false,
    workDir: '/w',
    outputDir: '/o',
    logPath: '/l',
    gpus: [],
    interpreter,
  };
}

describe('the run interpreter', () => {
  it('prefers python: (relative to the code), then VIRTUAL_ENV, then CONDA_PREFIX, then PATH', () => {
    const active = venv();
    const code = path.dirname(active);
    const explicit = resolveInterpreter({ python: '.venv/bin/python', baseDir: code, host: { PATH: HOST_PATH } })!;
    expect(explicit).toMatchObject({
      bin: path.join(active, 'bin/python'),
      binDir: path.join(active, 'bin'),
      prefix: active,
      source: 'environment.yaml',
    });
    // The venv's python links to a base installation, which a sandbox hiding the host must also show.
    const base = path.dirname(path.dirname(realpathSync(path.join(active, 'bin/python'))));
    expect(explicit.readOnlyDirs).toEqual(expect.arrayContaining([active]));
    expect(explicit.readOnlyDirs.some((dir) => base === dir || base.startsWith(`${dir}/`))).toBe(true);

    expect(resolveInterpreter({ host: { VIRTUAL_ENV: active, CONDA_PREFIX: '/nonexistent', PATH: HOST_PATH } })).toMatchObject({
      source: 'VIRTUAL_ENV',
      prefix: active,
    });
    expect(resolveInterpreter({ host: { CONDA_PREFIX: active, PATH: HOST_PATH } })).toMatchObject({ source: 'CONDA_PREFIX' });
    const fromPath = resolveInterpreter({ host: { PATH: path.join(active, 'bin') } })!;
    expect(fromPath).toMatchObject({ source: 'PATH', bin: path.join(active, 'bin/python3') });
    expect(describeInterpreter(fromPath)).toMatch(/\(the first python3 on PATH; no venv or conda environment was active\)$/);
    expect(resolveInterpreter({ host: { PATH: tempDir() } })).toBeNull();
  });

  it('refuses a python: that is not an executable, saying where it looked', () => {
    const code = tempDir();
    expect(() => resolveInterpreter({ python: '.venv/bin/python', baseDir: code, host: {} })).toThrow(
      `python: ".venv/bin/python" is not an executable (resolved to ${path.join(code, '.venv/bin/python')})`,
    );
    writeFileSync(path.join(code, 'not-executable'), '');
    expect(() => resolveInterpreter({ python: './not-executable', baseDir: code, host: {} })).toThrow(/is not an executable/);
  });

  it("puts only the interpreter's folder first on the run's PATH, and no other variable of the researcher", () => {
    const active = venv();
    const interpreter = resolveInterpreter({ python: path.join(active, 'bin/python') });
    const host = { PATH: HOST_PATH, VIRTUAL_ENV: '/elsewhere', OPENAI_API_KEY: 'sk-secret', CONDA_PREFIX: '/conda' };
    const env = sandboxEnvironment(request(interpreter), { workDir: '/w', outputDir: '/o', home: '/h' }, host);
    expect(env.PATH).toBe(`${path.join(active, 'bin')}:${HOST_PATH}`);
    expect(env).not.toHaveProperty('VIRTUAL_ENV');
    expect(env).not.toHaveProperty('CONDA_PREFIX');
    expect(JSON.stringify(env)).not.toContain('sk-secret');
    // No interpreter named on the request: the researcher's active venv, when it has a python.
    expect(
      sandboxEnvironment(request(), { workDir: '/w', outputDir: '/o', home: '/h' }, { PATH: HOST_PATH, VIRTUAL_ENV: active }).PATH,
    ).toBe(`${path.join(active, 'bin')}:${HOST_PATH}`);
    // A python found on PATH is already first where it is found: PATH stays as it was.
    const system = resolveInterpreter({ host: { PATH: path.join(active, 'bin') } });
    expect(sandboxEnvironment(request(system), { workDir: '/w', outputDir: '/o', home: '/h' }, { PATH: HOST_PATH }).PATH).toBe(HOST_PATH);
  });
});

describe('reading a failed log', () => {
  it("finds the traceback's exception line, not a test runner's banner", () => {
    const log = [
      'iter 0: loss 3.2',
      'Traceback (most recent call last):',
      '  File "train.py", line 9, in <module>',
      '    import torch',
      "ModuleNotFoundError: No module named 'torch'",
      '----------------------------------------------------------------------',
      'Ran 1 test in 0.001s',
      'FAILED (errors=1)',
    ].join('\n');
    const { cause, before } = crashCause(log);
    expect(cause).toBe("ModuleNotFoundError: No module named 'torch'");
    expect(before).toEqual([
      'iter 0: loss 3.2',
      'Traceback (most recent call last):',
      '  File "train.py", line 9, in <module>',
      '    import torch',
    ]);
    expect(missingModule(cause)).toBe('torch');
    expect(crashCause('line\nbash: line 1: pythn: command not found\n').cause).toBe('bash: line 1: pythn: command not found');
    expect(crashCause('just\nprinting\n').cause).toBeNull();
  });

  it('names the lines that nearly matched a reward pattern', () => {
    const log = 'epoch 1 loss: 2.0\nval acc 0.5\ntest score: 472/500 = 94.40% correct\n';
    expect(nearMatches('test accuracy=(\\S+)', log)).toEqual(['test score: 472/500 = 94.40% correct']);
    expect(nearMatches('zzz=(\\S+)', log)).toEqual(['epoch 1 loss: 2.0', 'val acc 0.5', 'test score: 472/500 = 94.40% correct']);
  });

  it('turns a count over a total into a ratio', () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, 'o'));
    const logPath = path.join(dir, 'run.log');
    writeFileSync(logPath, 'train score: 498/500\ntest score: 472/500 = 94.40% correct\n');
    const reward = { source: 'regex', pattern: 'test\\s+score\\s*:\\s*(\\d+)\\s*/\\s*(\\d+)', ratio: true, goal: 'maximize' } as const;
    expect(extractMetric(reward, { dir, logPath })).toEqual({ ok: true, reward: 0.944 });
    writeFileSync(logPath, 'test score: 3/0\n');
    expect(extractMetric(reward, { dir, logPath })).toMatchObject({ ok: false, failure: { reason: 'bad-metric' } });
  });
});
