/**
 * Flag parsing on node's own util.parseArgs, with errors a user can act on.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../core/errors.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseCommand<O extends Options>(args: string[], options: O, help: string) {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(help);
    return null;
  }
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    const code = (error as { code?: string }).code;
    const flag = /'(-{1,2}[^']+)'/.exec((error as Error).message)?.[1];
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && flag) {
      const known = Object.keys(options).map((name) => `--${name}`);
      const guess = closest(flag.split('=')[0], known);
      throw new UsageError(
        `unknown option ${flag}${guess ? `; did you mean ${guess}?` : `; the options are ${known.join(', ')}`}\n${help}`,
      );
    }
    throw new UsageError(`${(error as Error).message}\n${help}`);
  }
}

/** The known name nearest to a mistyped one (a typo, a missing or extra letter, a wrong separator), if any is near. */
export function closest(typed: string, known: string[]): string | null {
  const normal = (name: string) => name.replace(/^-+/, '').toLowerCase().replace(/_/g, '-');
  let best: { name: string; distance: number } | null = null;
  for (const name of known) {
    const a = normal(typed);
    const b = normal(name);
    const distance = a === b ? 0 : b.startsWith(a) || a.startsWith(b) ? 1 : editDistance(a, b);
    if (!best || distance < best.distance) best = { name, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(normal(typed).length / 3)) ? best.name : null;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

export function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${flag} expects a positive whole number, got "${value}"`);
  return n;
}

export function positiveNumber(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} expects a positive number, got "${value}"`);
  return n;
}

export function requirePositional(positionals: string[], what: string, help: string): string {
  if (positionals.length !== 1) throw new UsageError(`expected one ${what}\n${help}`);
  return positionals[0];
}
