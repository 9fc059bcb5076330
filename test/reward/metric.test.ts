/**
 * Reading rewards strictly, from real files: JSON numbers only, plain decimals only, finite,
 * inside reward.range; and never through a link, from a fifo, or whole when huge.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Scored } from '../../src/core/interfaces.ts';
import type { Reward } from '../../src/environment/schema.ts';
import { extractMetric, logTail } from '../../src/reward/metric.ts';
import { tempDir } from '../helpers/sweep.ts';

const JSON_REWARD: Reward = { source: 'json', file: 'metrics.json', key: 'eval.score', goal: 'maximize' };
const REGEX_REWARD: Reward = { source: 'regex', pattern: 'score=(\\S+)', goal: 'maximize' };

function fromJson(text: string, reward: Reward = JSON_REWARD): Scored {
  const dir = tempDir();
  writeFileSync(path.join(dir, 'metrics.json'), text);
  return extractMetric(reward, { dir, logPath: path.join(dir, 'none.log') });
}

function fromLog(text: string, reward: Reward = REGEX_REWARD): Scored {
  const dir = tempDir();
  writeFileSync(path.join(dir, 'run.log'), text);
  return extractMetric(reward, { dir, logPath: path.join(dir, 'run.log') });
}

const failure = (scored: Scored) => (scored.ok ? null : scored.failure);

describe('a JSON reward', () => {
  it('is a finite JSON number', () => {
    expect(fromJson('{"eval": {"score": 0.25}}')).toEqual({ ok: true, reward: 0.25 });
    expect(fromJson('{"eval": {"score": -1.79e308}}')).toEqual({ ok: true, reward: -1.79e308 });
    expect(fromJson('{"eval": {"score": 5e-324}}')).toEqual({ ok: true, reward: 5e-324 });
  });

  it('is bad-metric when it is a string, a boolean, null, an object or 1e999', () => {
    const cases: [string, string][] = [
      ['"0x10"', 'metrics.json → eval.score is "0x10", not a JSON number'],
      ['"16"', 'metrics.json → eval.score is "16", not a JSON number'],
      ['true', 'metrics.json → eval.score is true, not a JSON number'],
      ['null', 'metrics.json → eval.score is null, not a JSON number'],
      ['{"mean": 1}', 'metrics.json → eval.score is an object, not a JSON number'],
      ['1e999', 'metrics.json → eval.score is Infinity, not a finite number'],
    ];
    for (const [value, message] of cases)
      expect(failure(fromJson(`{"eval": {"score": ${value}}}`))).toEqual({ reason: 'bad-metric', message });
  });

  it('does not find keys on the prototype, and never quotes the file when it is not JSON', () => {
    expect(failure(fromJson('{"eval": {}}', { ...JSON_REWARD, key: 'eval.constructor' }))).toMatchObject({ reason: 'no-metric' });
    expect(failure(fromJson('root:x:0:0:MARKER-8d1f:/root:/bin/bash\n'))).toEqual({
      reason: 'bad-metric',
      message: 'metrics.json is not valid JSON',
    });
  });

  it('must lie inside reward.range when one is given', () => {
    const ranged: Reward = { ...JSON_REWARD, range: [0, 1] };
    expect(fromJson('{"eval": {"score": 1}}', ranged)).toEqual({ ok: true, reward: 1 });
    expect(failure(fromJson('{"eval": {"score": 1.5}}', ranged))).toEqual({
      reason: 'bad-metric',
      message: 'metrics.json → eval.score is 1.5, outside reward.range [0, 1]',
    });
    expect(failure(fromLog('score=-0.01\n', { ...REGEX_REWARD, range: [0, 1] }))).toEqual({
      reason: 'bad-metric',
      message: '/score=(\\S+)/ is -0.01, outside reward.range [0, 1]',
    });
  });
});

describe('a regex reward', () => {
  it('is the last plain decimal the log printed', () => {
    expect(fromLog('score=1\nscore=+2.5e-3\n')).toEqual({ ok: true, reward: 0.0025 });
    expect(fromLog('score=.5\n')).toEqual({ ok: true, reward: 0.5 });
    expect(fromLog('score=-7.\n')).toEqual({ ok: true, reward: -7 });
  });

  it('is bad-metric for hex, Infinity, underscores, nan and overflow', () => {
    for (const text of ['0x10', 'Infinity', '1_000', 'nan', '0b11', '1e999', '']) {
      const scored = fromLog(`score=${text} \n`, { ...REGEX_REWARD, pattern: 'score=(\\S*)' });
      expect(failure(scored)?.reason, text).toBe('bad-metric');
    }
    expect(failure(fromLog('score=0x10\n'))?.message).toBe('/score=(\\S+)/ captured "0x10", not a decimal number');
    expect(failure(fromLog('score=1e999\n'))?.message).toBe('/score=(\\S+)/ is Infinity, not a finite number');
  });
});

describe('files a run left', () => {
  it('refuses a symlinked metrics.json without reading its target', () => {
    const dir = tempDir();
    const secret = path.join(tempDir(), 'secret.json');
    writeFileSync(secret, '{"eval": {"score": 1e9}, "marker": "MARKER-3b7c"}');
    symlinkSync(secret, path.join(dir, 'metrics.json'));
    const scored = extractMetric(JSON_REWARD, { dir, logPath: path.join(dir, 'x.log') });
    expect(failure(scored)).toEqual({ reason: 'bad-metric', message: 'metrics.json is a symbolic link; refused' });
  });

  it('refuses a metrics file under a symlinked folder', () => {
    const dir = tempDir();
    const elsewhere = tempDir();
    writeFileSync(path.join(elsewhere, 'metrics.json'), '{"eval": {"score": 1}}');
    symlinkSync(elsewhere, path.join(dir, 'sub'));
    const scored = extractMetric({ ...JSON_REWARD, file: 'sub/metrics.json' }, { dir, logPath: path.join(dir, 'x.log') });
    expect(failure(scored)).toEqual({ reason: 'bad-metric', message: 'sub (on the way to sub/metrics.json) is a symbolic link; refused' });
  });

  it('refuses a fifo at once instead of waiting for a writer', () => {
    const dir = tempDir();
    execFileSync('mkfifo', [path.join(dir, 'metrics.json')]);
    expect(failure(extractMetric(JSON_REWARD, { dir, logPath: path.join(dir, 'x.log') }))).toEqual({
      reason: 'bad-metric',
      message: 'metrics.json is not a regular file; refused',
    });
  });

  it('does not read a 10 GB metrics.json', () => {
    const dir = tempDir();
    const file = path.join(dir, 'metrics.json');
    writeFileSync(file, '{"eval": {"score": 1}}');
    truncateSync(file, 10 * 2 ** 30); // sparse: no disk used
    expect(failure(extractMetric(JSON_REWARD, { dir, logPath: path.join(dir, 'x.log') }))).toEqual({
      reason: 'bad-metric',
      message: `metrics.json is ${10 * 2 ** 30} bytes, more than the ${16 * 2 ** 20} read from it; refused`,
    });
  });

  it('reads only the end of a huge log, and not through a symlink', () => {
    const dir = tempDir();
    const log = path.join(dir, 'run.log');
    writeFileSync(log, 'score=1\n');
    truncateSync(log, 2 * 2 ** 30);
    writeFileSync(log, '\nscore=3\n', { flag: 'a' });
    expect(extractMetric(REGEX_REWARD, { dir, logPath: log })).toEqual({ ok: true, reward: 3 });
    expect(logTail(log, 1)).toBe('score=3');

    const linked = path.join(dir, 'linked.log');
    mkdirSync(path.join(dir, 'host'));
    writeFileSync(path.join(dir, 'host', 'file'), 'score=99\n');
    symlinkSync(path.join(dir, 'host', 'file'), linked);
    expect(failure(extractMetric(REGEX_REWARD, { dir, logPath: linked }))?.reason).toBe('no-metric');
    expect(logTail(linked)).toBe('');
  });
});
