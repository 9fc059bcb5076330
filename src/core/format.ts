/**
 * Formatting for people: numbers, rewards, durations, sizes and one-line texts, in one place so
 * the CLI, the report, summary.md and error messages say things the same way.
 */
import { describeError } from './errors.ts';

/** A reward or other measured number: 4 significant digits, exponent form when very large or small. */
export function formatNumber(x: number): string {
  if (x === 0) return '0';
  const abs = Math.abs(x);
  return abs >= 1000 || abs < 0.001 ? x.toExponential(3) : String(Number(x.toPrecision(4)));
}

/** A difference with its sign (+0.12, −0.3), or — when there is none. */
export function signed(delta: number | null): string {
  if (delta === null) return '—';
  return `${delta >= 0 ? '+' : '−'}${formatNumber(Math.abs(delta))}`;
}

/** Text on one line (whitespace runs collapsed), cut to `max` characters with an ellipsis. */
export function truncate(text: string, max: number): string {
  const oneLine = text.replace(/\s+/g, ' ');
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}

/** The first non-blank line of a text, trimmed ('' when there is none). */
export function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .find((line) => line.trim())
      ?.trim() ?? ''
  );
}

/** The first line of an error's message: for one-line messages about a failed tool. */
export function errorLine(error: unknown): string {
  return describeError(error).trim().split('\n')[0];
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** A time limit, compactly: 1500ms, 90s, 5m, 2.5h. */
export function formatLimit(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 120_000) return `${+(ms / 1000).toFixed(1)}s`;
  if (ms < 7_200_000) return `${+(ms / 60_000).toFixed(1)}m`;
  return `${+(ms / 3_600_000).toFixed(1)}h`;
}

/** Elapsed time as a clock for progress lines: 42s, 3m05s, 2h07m. */
export function formatClock(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** A duration in words for reports: 850 ms, 4.2 s, 3 min 5 s, 2 h 7 min. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  const h = Math.floor(m / 60);
  return `${h} h ${m % 60} min`;
}

export function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 20) return `${+(bytes / 2 ** 20).toFixed(1)} MiB`;
  if (bytes >= 2 ** 10) return `${+(bytes / 2 ** 10).toFixed(1)} KiB`;
  return `${bytes} B`;
}

/** A string as one bash word, always quoted. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
