/**
 * Reading the reward out of what a step left behind: a JSON file or a regex over its log.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Scored } from '../core/interfaces.ts';
import type { Reward } from '../environment/schema.ts';

export function extractMetric(reward: Reward, where: { dir: string; logPath: string }): Scored {
  if (reward.source === 'json') {
    const file = path.join(where.dir, reward.file);
    if (!existsSync(file)) {
      return fail('no-metric', `${reward.file} was not written`);
    }
    let data: unknown;
    try {
      data = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      return fail('bad-metric', `${reward.file} is not valid JSON: ${(error as Error).message}`);
    }
    const value = reward.key.split('.').reduce<unknown>(
      (node, key) => (node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined),
      data,
    );
    if (value === undefined) return fail('no-metric', `${reward.file} has no "${reward.key}"`);
    return toReward(value, `${reward.file} → ${reward.key}`);
  }
  const log = existsSync(where.logPath) ? readFileSync(where.logPath, 'utf8') : '';
  const pattern = new RegExp(reward.pattern, 'gm');
  const matches = [...log.matchAll(pattern)];
  if (matches.length === 0) return fail('no-metric', `the output never matched /${reward.pattern}/`);
  // Training scripts print a metric many times; the final value is the one that counts.
  const last = matches[matches.length - 1];
  if (reward.ratio) {
    const count = Number(last[1]);
    const total = Number(last[2]);
    if (last[2] === undefined) return fail('bad-metric', `/${reward.pattern}/ has ratio: true but no second group (the total) matched`);
    if (!Number.isFinite(count) || !Number.isFinite(total) || total === 0) {
      return fail('bad-metric', `/${reward.pattern}/ matched "${last[1]}/${last[2]}", not a count over a non-zero total`);
    }
    return { ok: true, reward: count / total };
  }
  return toReward(last[1] ?? last[0], `/${reward.pattern}/`);
}

function toReward(value: unknown, where: string): Scored {
  const number = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  if (!Number.isFinite(number)) {
    return fail('bad-metric', `${where} is ${JSON.stringify(value)}, not a finite number`);
  }
  return { ok: true, reward: number };
}

function fail(reason: 'no-metric' | 'bad-metric', message: string): Scored {
  return { ok: false, failure: { reason, message } };
}

/** The last `lines` non-empty lines of a log file, for failure messages and reports. */
export function logTail(logPath: string, lines = 20): string {
  if (!existsSync(logPath)) return '';
  const text = readFileSync(logPath, 'utf8');
  return text.split('\n').filter((line) => line.trim() !== '').slice(-lines).join('\n');
}
