/**
 * Reading the reward out of what a step left behind: a JSON file or a regex over its log.
 *
 * Strict on purpose: the reward decides what the search keeps, and a model that wants a high one
 * will try whatever a loose parser accepts. A JSON reward is a JSON number (not "16", not true);
 * a regex reward is a plain decimal ("0x10", "Infinity", "1_000" are not); both must be finite and,
 * when the environment gives `reward.range`, inside it. Files are read without following links
 * and only up to a cap (see safe-read.ts); messages never quote a file's contents beyond the
 * offending value, since they reach the thinker's prompt.
 */
import type { Scored } from '../core/interfaces.ts';
import type { Reward } from '../environment/schema.ts';
import { readFileNoFollow, readRunFile } from './safe-read.ts';

/** A metrics file is a few numbers; anything bigger than this is not one. */
export const MAX_METRICS_BYTES = 16 * 2 ** 20;
/** How much of a log's end the regex reward is looked for in (the final value is the one that counts). */
export const MAX_LOG_SCAN_BYTES = 32 * 2 ** 20;

/** Optional sign, digits with an optional fraction (or a fraction alone), optional exponent. */
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

export function extractMetric(reward: Reward, where: { dir: string; logPath: string }): Scored {
  if (reward.source === 'json') {
    const read = readRunFile(where.dir, reward.file, { maxBytes: MAX_METRICS_BYTES });
    if (!read.ok) return fail(read.why === 'missing' ? 'no-metric' : 'bad-metric', read.message);
    let data: unknown;
    try {
      data = JSON.parse(read.text);
    } catch {
      return fail('bad-metric', `${reward.file} is not valid JSON`);
    }
    const value = reward.key
      .split('.')
      .reduce<unknown>(
        (node, key) =>
          node !== null && typeof node === 'object' && Object.hasOwn(node, key) ? (node as Record<string, unknown>)[key] : undefined,
        data,
      );
    if (value === undefined) return fail('no-metric', `${reward.file} has no "${reward.key}"`);
    const at = `${reward.file} → ${reward.key}`;
    // JSON.parse turns 1e999 into Infinity: a number, but not a finite one.
    if (typeof value !== 'number') return fail('bad-metric', `${at} is ${describe(value)}, not a JSON number`);
    return checked(value, at, reward.range);
  }
  const log = readFileNoFollow(where.logPath, { maxBytes: MAX_LOG_SCAN_BYTES, overflow: 'tail' }, 'the log');
  const text = log.ok ? log.text : '';
  const pattern = new RegExp(reward.pattern, 'gm');
  let last: RegExpExecArray | null = null;
  for (const match of text.matchAll(pattern)) last = match;
  if (!last)
    return fail(
      'no-metric',
      `the output never matched /${reward.pattern}/${log.ok && log.dropped > 0 ? ` (in its last ${MAX_LOG_SCAN_BYTES} bytes)` : ''}`,
    );
  // Training scripts print a metric many times; the final value is the one that counts.
  const at = `/${reward.pattern}/`;
  if (reward.ratio) {
    // "472/500": a count over a total, both plain decimals.
    if (last[2] === undefined) return fail('bad-metric', `${at} has ratio: true but no second group (the total) matched`);
    const [count, total] = [last[1].trim(), last[2].trim()];
    if (!DECIMAL.test(count) || !DECIMAL.test(total) || Number(total) === 0) {
      return fail('bad-metric', `${at} matched ${describe(`${count}/${total}`)}, not a count over a non-zero total`);
    }
    return checked(Number(count) / Number(total), at, reward.range);
  }
  const captured = (last[1] ?? last[0]).trim();
  if (!DECIMAL.test(captured)) return fail('bad-metric', `${at} captured ${describe(captured)}, not a decimal number`);
  return checked(Number(captured), at, reward.range);
}

function checked(value: number, at: string, range: readonly [number, number] | undefined): Scored {
  if (!Number.isFinite(value)) return fail('bad-metric', `${at} is ${describe(value)}, not a finite number`);
  if (range && !(value >= range[0] && value <= range[1])) {
    return fail('bad-metric', `${at} is ${value}, outside reward.range [${range[0]}, ${range[1]}]`);
  }
  return { ok: true, reward: value };
}

/** A value as a message shows it: short, whatever its size. */
function describe(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value === null || typeof value === 'boolean') return String(value);
  return Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : typeof value;
}

function fail(reason: 'no-metric' | 'bad-metric', message: string): Scored {
  return { ok: false, failure: { reason, message } };
}

/** The last `lines` non-empty lines of a log file, for failure messages and reports. */
export function logTail(logPath: string, lines = 20): string {
  const read = readFileNoFollow(logPath, { maxBytes: 64 * 1024, overflow: 'tail' });
  if (!read.ok) return '';
  // Past the cap the first line read is a partial one: drop it, unless it is the only one.
  const cut = read.text.indexOf('\n');
  const text = read.dropped > 0 && cut >= 0 && cut < read.text.length - 1 ? read.text.slice(cut + 1) : read.text;
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .slice(-lines)
    .join('\n');
}
