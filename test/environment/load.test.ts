import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.ts';
import { loadEnvironment } from '../../src/environment/load.ts';
import { copyEnvironment, tempDir } from '../helpers/sweep.ts';

function environmentWith(yaml: string): string {
  const dir = tempDir('researcher-env-');
  mkdirSync(path.join(dir, 'code'));
  writeFileSync(path.join(dir, 'environment.yaml'), yaml);
  return dir;
}

const VALID = `name: demo
description: A demo.
code: { path: ./code }
editable: ["*.py"]
run: { command: python3 train.py, timeout: 30s }
reward: { source: regex, pattern: 'score=(\\S+)', goal: maximize }
`;

function errorOf(dir: string): string {
  try {
    loadEnvironment(dir);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('time limits and reward ranges', () => {
  it('loads time limits of days: timeout 30d, and an evaluate step of 36h', () => {
    const dir = environmentWith(
      VALID.replace('timeout: 30s', 'timeout: 30d') + 'evaluate: { command: python3 score.py, dir: ./eval, timeout: 36h }\n',
    );
    mkdirSync(path.join(dir, 'eval'));
    const environment = loadEnvironment(dir);
    // 30 days is past what one Node timer can hold (2^31 − 1 ms, about 24.8 days).
    expect(environment.config.run.timeout).toBe(30 * 86_400_000);
    expect(environment.config.run.timeout).toBeGreaterThan(2 ** 31 - 1);
    expect(environment.config.evaluate!.timeout).toBe(36 * 3_600_000);
  });

  it('refuses absurd time limits with one line naming the file and the field', () => {
    for (const [timeout, shown] of [
      ['400d', '"400d"'],
      ['0s', '"0s"'],
      ['-5', '-5 (seconds)'],
      ['1e12', '1000000000000 (seconds)'],
    ]) {
      const message = errorOf(environmentWith(VALID.replace('timeout: 30s', `timeout: ${timeout}`)));
      expect(message).not.toContain('\n');
      expect(
        message.endsWith(`environment.yaml: run.timeout: a time limit must be more than 0 and at most 30 days ("30d"), got ${shown}`),
      ).toBe(true);
    }
    const dir = environmentWith(VALID + 'evaluate: { command: python3 score.py, dir: ./eval, timeout: 31d }\n');
    mkdirSync(path.join(dir, 'eval'));
    expect(errorOf(dir)).toMatch(/environment\.yaml: evaluate\.timeout: a time limit must be more than 0 and at most 30 days/);
  });

  it('takes reward.range as [lo, hi] with lo < hi, both finite', () => {
    const ranged = loadEnvironment(environmentWith(VALID.replace('goal: maximize }', 'goal: maximize, range: [0, 1] }')));
    expect(ranged.config.reward.range).toEqual([0, 1]);
    expect(errorOf(environmentWith(VALID.replace('goal: maximize }', 'goal: maximize, range: [1, 0] }')))).toMatch(
      /environment\.yaml: reward\.range: expected \[lo, hi\] with lo < hi$/,
    );
    expect(errorOf(environmentWith(VALID.replace('goal: maximize }', 'goal: maximize, range: [0, .inf] }')))).toMatch(
      /environment\.yaml: reward\.range/,
    );
  });
});

describe('loadEnvironment', () => {
  it('loads a valid environment and resolves durations and paths', () => {
    const dir = environmentWith(VALID);
    const environment = loadEnvironment(dir);
    expect(environment.config.run.timeout).toBe(30_000);
    expect(environment.code).toEqual({ kind: 'path', path: path.join(dir, 'code'), ref: undefined });
    expect(environment.config.run.resources.gpus).toBe(0);
  });

  it('names the file and says what an environment is when environment.yaml is missing', () => {
    const message = errorOf(tempDir());
    expect(message).toMatch(/environment\.yaml: not found/);
    expect(message).toMatch(/env init/);
  });

  it('names the file, the field and what is expected for a schema error', () => {
    const message = errorOf(environmentWith(VALID.replace('timeout: 30s', 'timeout: soon')));
    expect(message).toContain('environment.yaml: run.timeout: expected a duration like "90s"');
  });

  it('reports a missing required field by name', () => {
    const message = errorOf(environmentWith(VALID.replace(/^editable:.*\n/m, '')));
    expect(message).toMatch(/environment\.yaml: editable: /);
  });

  it('reports unknown fields, so typos do not pass silently', () => {
    const message = errorOf(environmentWith(`${VALID}evaluater: { command: x }\n`));
    expect(message).toMatch(/environment\.yaml: \(top level\): .*evaluater/);
  });

  it('reports YAML syntax errors with their line', () => {
    const message = errorOf(environmentWith('name: demo\ndescription: [unclosed\n'));
    expect(message).toMatch(/environment\.yaml: line \d+:/);
  });

  it('checks that the code folder exists', () => {
    const message = errorOf(environmentWith(VALID.replace('./code', './nowhere')));
    expect(message).toMatch(/code\.path: "\.\/nowhere" is not a folder/);
  });

  it('refuses an evaluator inside the code folder, where a diff could change it', () => {
    const dir = environmentWith(`${VALID}evaluate: { command: python3 score.py, dir: ./code/eval, timeout: 10s }\n`);
    mkdirSync(path.join(dir, 'code', 'eval'));
    expect(errorOf(dir)).toMatch(/evaluate\.dir: the evaluator must live outside the code folder/);
  });

  it('holds the test evaluator to the same rules: outside the code, an existing folder', () => {
    const inside = environmentWith(`${VALID}test: { command: python3 score.py, dir: ./code/test-eval, timeout: 10s }\n`);
    mkdirSync(path.join(inside, 'code', 'test-eval'));
    expect(errorOf(inside)).toMatch(/test\.dir: the test evaluator must live outside the code folder/);
    const missing = environmentWith(`${VALID}test: { command: python3 score.py, dir: ./hidden, timeout: 10s }\n`);
    expect(errorOf(missing)).toMatch(/test\.dir: "\.\/hidden" is not a folder/);
    const fine = environmentWith(`${VALID}test: { command: python3 score.py, dir: ./hidden, timeout: 10s }\n`);
    mkdirSync(path.join(fine, 'hidden'));
    expect(loadEnvironment(fine).testEvaluatorDir).toBe(path.join(fine, 'hidden'));
  });

  it('validates knob ranges', () => {
    const dir = environmentWith(
      `${VALID}knobs:\n  - { name: lr, file: a.py, pattern: 'LR = (.*)', type: float, min: 0, max: 1, scale: log }\n`,
    );
    expect(errorOf(dir)).toMatch(/knobs\.0\.min: a log-scale knob needs min > 0/);
  });

  it('loads the bundled test fixture', () => {
    const environment = loadEnvironment(copyEnvironment());
    expect(environment.config.knobs.map((k) => k.name)).toEqual(['x']);
    expect(environment.evaluatorDir).toMatch(/evaluator$/);
  });
});
