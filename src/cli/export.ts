/**
 * `researcher export <run-dir> [<run-dir> …] [--format jsonl|parquet] [--out FILE]`: one record per idea
 * of each run (prompts, replies, diffs, per-seed rewards, cost) as training or analysis data.
 * Fields: docs/export.md.
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../core/errors.ts';
import { recordLine, trajectoryRecords, type TrajectoryRecord } from '../report/trajectory.ts';
import { RunStore } from '../store/run-store.ts';
import { parseCommand } from './args.ts';

const FORMATS = ['jsonl', 'parquet'] as const;
type Format = (typeof FORMATS)[number];

const HELP = `usage: researcher export <run-dir> [<run-dir> …] [--format jsonl|parquet] [--out FILE]

  One record per idea (the baseline included) of each run, in the order given: the environment,
  the thinker's prompt and reply, the coder's edit and diff, per-seed rewards, status and failure
  reason, models, tokens and cost. Fields: docs/export.md.

  --format F       jsonl: JSON lines (the default, or when FILE ends in .jsonl)
                   parquet: a Parquet file (needs --out; the default when FILE ends in .parquet)
  --out FILE       write to FILE instead of standard output`;

export async function exportCommand(args: string[]): Promise<number> {
  const parsed = parseCommand(args, { format: { type: 'string' }, out: { type: 'string' } }, HELP);
  if (!parsed) return 0;
  if (parsed.positionals.length === 0) throw new UsageError(`expected at least one run folder\n${HELP}`);
  const out = parsed.values.out;
  const format = parseFormat(parsed.values.format, out);
  if (format === 'parquet' && out === undefined) throw new UsageError('--format parquet writes a binary file: give --out FILE');
  // Every run is read before anything is written: a wrong folder leaves no partial file behind.
  const records = parsed.positionals.flatMap((dir) => recordsOf(path.resolve(dir)));
  if (format === 'parquet') {
    const { trajectoryParquet } = await import('../report/trajectory-parquet.ts');
    writeAtomically(path.resolve(out!), trajectoryParquet(records));
  } else {
    const text = records.map(recordLine).join('\n');
    if (out === undefined) {
      if (text) console.log(text);
      return 0;
    }
    writeAtomically(path.resolve(out), text ? `${text}\n` : '');
  }
  console.error(`wrote ${records.length} record(s) from ${parsed.positionals.length} run(s) to ${out} (${format})`);
  return 0;
}

function parseFormat(value: string | undefined, out: string | undefined): Format {
  if (value === undefined) return out?.toLowerCase().endsWith('.parquet') ? 'parquet' : 'jsonl';
  if (!(FORMATS as readonly string[]).includes(value))
    throw new UsageError(`--format expects one of ${FORMATS.join(', ')}, got "${value}"`);
  return value as Format;
}

function recordsOf(runDir: string): TrajectoryRecord[] {
  const store = RunStore.open(runDir);
  try {
    return trajectoryRecords(store);
  } finally {
    store.close();
  }
}

/** Written beside the target and renamed over it, so a reader never sees half a file. */
function writeAtomically(file: string, data: string | Uint8Array): void {
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, data);
    renameSync(temporary, file);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw new UsageError(`cannot write ${file}: ${(error as Error).message}`);
  }
}
