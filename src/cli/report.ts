/**
 * `researcher report <run-dir>`: writes report.html (self-contained: open it from disk, no
 * network) and summary.md into the run folder.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { RunStore } from '../store/run-store.ts';
import { writeReport } from '../report/write-report.ts';
import { parseCommand, requirePositional } from './args.ts';
import { formatNumber } from '../core/format.ts';
import { isWin } from '../core/noise.ts';

const HELP = `usage: researcher report <run-dir> [--out DIR]

  Writes report.html (reward over time, leaderboard, lineage, every idea's diff and log) and
  summary.md (for a lab notebook or a pull request) into the run folder. Works while the run is
  still going; \`researcher watch <run-dir>\` serves a page that keeps itself up to date.

  --out DIR   write the two files to DIR instead of the run folder`;

export async function reportCommand(args: string[]): Promise<number> {
  const parsed = parseCommand(args, { out: { type: 'string' } }, HELP);
  if (!parsed) return 0;
  const store = RunStore.open(path.resolve(requirePositional(parsed.positionals, 'run folder', HELP)));
  try {
    const outDir = parsed.values.out ? path.resolve(parsed.values.out) : store.runDir;
    if (!existsSync(outDir)) mkdirSync(outDir, { recursive: true });
    const written = writeReport(store, outDir);
    const { totals, best } = written.model;
    console.log(`wrote ${shown(written.html)} and ${shown(written.markdown)}`);
    console.log(
      `${totals.tried} ideas, ${totals.succeeded} succeeded, ${totals.failed} failed${best && best.id !== 0 ? ` · ${isWin(best.noise) ? 'best' : 'top idea (within noise, no win)'}: idea ${best.id} (${formatNumber(best.reward!)})` : ''} · open it: file://${written.html}`,
    );
  } finally {
    store.close();
  }
  return 0;
}

function shown(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative.startsWith('..') ? file : relative;
}
