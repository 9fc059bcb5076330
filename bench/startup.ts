/**
 * Start-up of the `researcher` command: `researcher --help` from the compiled build (dist/, what
 * `npm install` makes) beside the floor it cannot beat, `node -e 0`, and beside the same command
 * run from the TypeScript sources through tsx (what the bin falls back to when dist/ is stale).
 * The three are interleaved in one loop, so a busy moment on the machine hits all of them alike.
 * dist/ is built first when it is not fresh.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { buildState } from '../bin/build-stamp.js';
import { summarize, type Summary } from './stats.ts';

export interface StartupResult {
  repeats: number;
  node: Summary;
  compiled: Summary;
  sources: Summary;
  /** compiled / node, medians: the target is ≤ 2. */
  ratio: number;
  /** sources (tsx) / node, medians. */
  sourcesRatio: number;
}

const REPO_ROOT = path.resolve(import.meta.dirname, '..');
const FROM_SOURCES = `const { register } = await import('tsx/esm/api'); register(); const { main } = await import('./src/cli/main.ts'); process.exitCode = await main(['--help']);`;

function timedRun(args: string[]): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} exited with ${result.status}: ${result.stderr.toString().trim()}`);
  return ms;
}

export async function startupBench({ quick, log }: { quick: boolean; log: (line: string) => void }): Promise<StartupResult> {
  if ((await buildState(REPO_ROOT)) !== 'fresh') {
    log('startup: dist/ is not fresh; building it');
    execFileSync(process.execPath, [path.join(REPO_ROOT, 'scripts/build.js')], { cwd: REPO_ROOT, stdio: 'inherit' });
  }
  const repeats = quick ? 10 : 30;
  const samples = { node: [] as number[], compiled: [] as number[], sources: [] as number[] };
  // One warm-up of each: the first start reads everything from disk.
  for (let i = -1; i < repeats; i++) {
    const node = timedRun(['-e', '0']);
    const compiled = timedRun([path.join(REPO_ROOT, 'bin/researcher.js'), '--help']);
    // tsx takes about a second a start: a third as many samples are enough to see it.
    const sources = i % 3 === 0 || i < 0 ? timedRun(['--input-type=module', '-e', FROM_SOURCES]) : null;
    if (i < 0) continue;
    samples.node.push(node);
    samples.compiled.push(compiled);
    if (sources !== null) samples.sources.push(sources);
  }
  const node = summarize(samples.node);
  const compiled = summarize(samples.compiled);
  const sources = summarize(samples.sources);
  return { repeats, node, compiled, sources, ratio: compiled.median / node.median, sourcesRatio: sources.median / node.median };
}
