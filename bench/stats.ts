/**
 * Small helpers every benchmark shares: summaries over repeats (median, min, max), timers, and
 * the temp folders benchmarks work in.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], n: sorted.length };
}

/** Milliseconds `fn` takes (wall clock). */
export async function timeMs(fn: () => unknown | Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Runs `fn` `repeats` times and summarises the milliseconds each took. */
export async function repeatMs(repeats: number, fn: (index: number) => unknown | Promise<unknown>): Promise<Summary> {
  const samples: number[] = [];
  for (let i = 0; i < repeats; i++) samples.push(await timeMs(() => fn(i)));
  return summarize(samples);
}

export { sleep } from '../src/core/sleep.ts';

const made: string[] = [];

/** A temp folder removed when the bench exits. */
export function benchDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `researcher-bench-${prefix}-`));
  made.push(dir);
  return dir;
}

export function removeBenchDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** "12.3" for numbers, with sensible precision for a table. */
export function fmt(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return '—';
  if (x === 0) return '0';
  const abs = Math.abs(x);
  if (abs >= 100) return x.toFixed(0);
  return String(Number(x.toPrecision(digits)));
}

/** "median (min–max)" */
export function fmtSummary(s: Summary, digits = 3): string {
  if (s.n === 0) return '—';
  if (s.n === 1) return fmt(s.median, digits);
  return `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`;
}
