/**
 * The store at scale: a run of 10,000 finished ideas (rows written straight into a real run
 * store, with an evaluation and two model calls each, as a long sweep leaves them), then the
 * commands a user runs on it, as separate processes through the real CLI:
 *
 * - `researcher show --json` (the run as data), and `researcher report` (report.html + summary.md);
 * - `researcher resume` with a raised budget: time until it dispatches its first new idea (the
 *   first "idea N/M:" line), from a fresh copy of the run each time.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { RunConfig } from '../src/core/run-config.ts';
import { loadEnvironment } from '../src/environment/load.ts';
import { RunStore } from '../src/store/run-store.ts';
import { GitWorkspace } from '../src/workspace/git.ts';
import { benchDir, repeatMs, summarize, type Summary } from './stats.ts';

const CLI = path.resolve(import.meta.dirname, '../bin/researcher.js');

export interface StoreResult {
  ideas: number;
  databaseMegabytes: number;
  commands: { command: string; ms: Summary }[];
}

function environment(dir: string): string {
  const code = path.join(dir, 'code');
  mkdirSync(code, { recursive: true });
  writeFileSync(path.join(code, 'config.py'), 'X = 0.5\n');
  writeFileSync(path.join(code, 'train.py'), 'from config import X\nprint(f"score={-(X - 3) ** 2}")\n');
  writeFileSync(
    path.join(dir, 'environment.yaml'),
    [
      'name: store-bench',
      'description: A tiny environment behind a very long run.',
      'code:\n  path: ./code',
      'editable: ["*.py"]',
      'run:\n  command: python3 train.py\n  timeout: 60s',
      "reward:\n  source: regex\n  pattern: 'score=(\\S+)'\n  goal: maximize",
      "knobs:\n  - name: x\n    file: config.py\n    pattern: '^X = (\\S+)'\n    type: float\n    min: 0.1\n    max: 10\n    scale: log",
    ].join('\n'),
  );
  return dir;
}

/** A run directory with `count` finished ideas, written through the store's own operations. */
async function bigRun(count: number): Promise<string> {
  const env = loadEnvironment(environment(benchDir('store-env')));
  const runDir = path.join(benchDir('store-run'), 'run');
  const workspace = await GitWorkspace.create(env, runDir);
  const config = RunConfig.parse({
    runId: 'store-bench',
    createdAt: new Date().toISOString(),
    environmentDir: env.dir,
    environmentName: env.config.name,
    agent: 'offline',
    search: 'evolve',
    ideas: count,
  });
  const store = RunStore.create(runDir, config);
  const diff = '--- a/config.py\n+++ b/config.py\n@@ -1 +1 @@\n-X = 0.5\n+X = 2.5\n';
  const edit = { kind: 'search-replace' as const, blocks: [{ path: 'config.py', search: 'X = 0.5', replace: 'X = 2.5' }] };
  const usage = { inputTokens: 3000, cachedTokens: 2500, cacheWriteTokens: 0, outputTokens: 400, costUsd: 0.002 };
  const call = (ideaId: number, role: string, response: string) =>
    store.recordModelCall({
      ideaId,
      role,
      provider: 'openai',
      model: 'gpt-bench',
      cacheKey: `${role}-${ideaId}`,
      usage,
      latencyMs: 4000,
      response,
    });
  // The store's own write operations, as a sweep makes them, in one transaction for speed.
  store.transaction(() => {
    for (let id = 0; id <= count; id++) {
      const failed = id > 0 && id % 7 === 0;
      const reward = failed ? null : -((((id * 7919) % 1000) / 100 - 3) ** 2);
      const parent = id > 10 ? ((id * 31) % (id - 1)) + 1 : null;
      const title = id === 0 ? 'baseline' : `x → ${(((id * 7919) % 1000) / 100).toFixed(2)} (idea ${id})`;
      const hypothesis = `Hypothesis of idea ${id}: a longer paragraph of reasoning about why this change should help the reward. `.repeat(
        3,
      );
      store.insertIdea(
        { title, hypothesis, plan: `set x = ${id}`, expectedEffect: '' },
        parent,
        { island: id % 2, generation: id % 9 },
        id,
      );
      store.setIdeaCode(id, { edit, diff: id === 0 ? '' : diff, commit: workspace.baseCommit });
      const evaluation = store.startEvaluation(id, 0, 'local', path.join(runDir, 'ideas', String(id), 'seed-0', 'run.log'), []);
      store.finishEvaluation(evaluation, {
        reward,
        failure: failed ? { reason: 'crashed', message: 'the run crashed (exit code 1): Traceback …' } : null,
        exitCode: failed ? 1 : 0,
        timedOut: false,
        oomKilled: false,
        durationMs: 3000,
      });
      store.finishIdea(id);
      if (id > 0) {
        call(id, 'thinker', `{"title": "idea ${id}", "hypothesis": "…"}`);
        call(id, 'coder', `<<<<<<< SEARCH\nX = 0.5\n=======\nX = 2.5\n>>>>>>> REPLACE`);
      }
    }
  });
  store.setMeta('searchState', {
    islands: [
      { members: [1, 2, 3], seeded: 2 },
      { members: [4, 5], seeded: 2 },
    ],
    nextIsland: 0,
    children: {},
    finished: count,
    migrations: 0,
  });
  store.close();
  return runDir;
}

/** Milliseconds until `resume` prints its first "idea N/M:" line (it is then killed). */
function timeToDispatch(runDir: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(process.execPath, [CLI, 'resume', runDir, '--ideas', '1000000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`resume did not dispatch within 120 s: ${out.slice(-500)}`));
    }, 120_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (/\bidea \d+\/\d+:/.test(out)) {
        clearTimeout(timer);
        const ms = performance.now() - start;
        child.kill('SIGKILL');
        child.once('exit', () => resolve(ms));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      if (!/\bidea \d+\/\d+:/.test(out)) {
        clearTimeout(timer);
        reject(new Error(`resume exited (${code}) before dispatching: ${out.slice(-500)}`));
      }
    });
  });
}

export async function storeBench(options: { quick: boolean; log: (line: string) => void }): Promise<StoreResult> {
  const count = 10_000;
  const repeats = options.quick ? 1 : 3;
  options.log(`store: writing a run of ${count} ideas…`);
  const runDir = await bigRun(count);
  const { size } = await import('node:fs').then((fs) => fs.statSync(path.join(runDir, 'run.db')));
  const commands: StoreResult['commands'] = [];
  commands.push({
    command: 'show --json',
    ms: await repeatMs(repeats, () => execa(process.execPath, [CLI, 'show', runDir, '--json'], { stdout: 'ignore' })),
  });
  if (!options.quick)
    commands.push({
      command: 'show',
      ms: await repeatMs(repeats, () => execa(process.execPath, [CLI, 'show', runDir], { stdout: 'ignore' })),
    });
  const report = await execa(process.execPath, [CLI, 'report', '--help'], { reject: false });
  if (report.exitCode === 0) {
    commands.push({
      command: 'report',
      ms: await repeatMs(repeats, () => execa(process.execPath, [CLI, 'report', runDir], { stdout: 'ignore' })),
    });
  }
  const dispatch: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const copy = path.join(benchDir('store-resume'), 'run');
    cpSync(runDir, copy, { recursive: true });
    dispatch.push(await timeToDispatch(copy));
    rmSync(copy, { recursive: true, force: true });
  }
  commands.push({ command: 'resume → first idea dispatched', ms: summarize(dispatch) });
  // A floor for all of them: the CLI starting and printing its help.
  commands.push({
    command: '(floor: researcher --help)',
    ms: await repeatMs(repeats, () => execa(process.execPath, [CLI, '--help'], { stdout: 'ignore', reject: false })),
  });
  return { ideas: count, databaseMegabytes: size / 1e6, commands };
}
