/**
 * Scheduler slot utilisation: busy time / (K × makespan) on K fake GPU slots, for
 *
 * - pipelined: the real sweep (runSweep, src/core/sweep/) with the evolve strategy, a real SQLite run store
 *   and real patch application, where only the model calls and the runs are stand-ins: a thinker
 *   and a coder that take a fixed latency, and a sandbox whose "run" sleeps for a length drawn from
 *   a heavy-tailed distribution;
 * - naive: the think → code → run loop, one per slot, with the same stand-ins and the same draws.
 *
 * Both get a time box (the overnight case: `--max-hours` with `--hard-stop`) and the same run
 * lengths in dispatch order. Time is scaled down 1:50 so that a repeat takes seconds.
 */
import { OneShotCoder } from '../src/agents/one-shot.ts';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import type {
  AgentResult,
  Coder,
  ResearchContext,
  Sandbox,
  SandboxRequest,
  SandboxResult,
  Thinker,
  Workspace,
} from '../src/core/interfaces.ts';
import { runSweep } from '../src/core/sweep/index.ts';
import { isFinished } from '../src/core/ideas.ts';
import { SILENT } from '../src/core/progress.ts';
import { gaussian, mixSeed, seededRandom } from '../src/core/random.ts';
import { RunConfig } from '../src/core/run-config.ts';
import { ZERO_USAGE, type Edit, type IdeaDraft } from '../src/core/types.ts';
import type { Environment } from '../src/environment/load.ts';
import { EnvironmentConfig } from '../src/environment/schema.ts';
import { GpuPool } from '../src/sandbox/gpu-pool.ts';
import { createStrategy } from '../src/search/index.ts';
import { RunStore } from '../src/store/run-store.ts';
import { benchDir, sleep, summarize, type Summary } from './stats.ts';

/** Real-world settings, before scaling. */
export const SCHEDULER_SETTINGS = {
  /** Bench seconds per real second. */
  timeScale: 1 / 50,
  thinkerSeconds: 8,
  coderSeconds: 6,
  /** Run length: log-normal with this median and sigma (heavy right tail), cut at the time limit. */
  runMedianSeconds: 60,
  runSigma: 1,
  runTimeoutSeconds: 900,
};

export interface SchedulerRow {
  slots: number;
  scheduler: 'pipelined' | 'naive';
  utilisation: Summary;
  ideasFinished: Summary;
  /** Event-loop busy time per finished idea (pipelined only): the framework's own work. */
  loopMsPerIdea: Summary | null;
}

export interface SchedulerResult {
  settings: typeof SCHEDULER_SETTINGS & { timeBoxSeconds: Record<string, number>; repeats: number };
  rows: SchedulerRow[];
}

/** Run lengths in bench milliseconds, in dispatch order, the same for both schedulers. */
function runLengths(seed: number): (index: number) => number {
  const random = seededRandom(seed);
  const cache: number[] = [];
  const s = SCHEDULER_SETTINGS;
  return (index) => {
    while (cache.length <= index) {
      const seconds = Math.min(s.runTimeoutSeconds, s.runMedianSeconds * Math.exp(s.runSigma * gaussian(random)));
      cache.push(seconds * 1000 * s.timeScale);
    }
    return cache[index];
  };
}

/** Busy intervals of the fake slots. */
class BusyClock {
  private busyMs = 0;
  /** When the last run ended (performance.now()). */
  lastEnd = 0;
  add(ms: number): void {
    this.busyMs += ms;
    this.lastEnd = Math.max(this.lastEnd, performance.now());
  }
  get total(): number {
    return this.busyMs;
  }
}

/** A sandbox whose run sleeps for the next drawn length and prints a score. */
class SleepingSandbox implements Sandbox {
  readonly name = 'sleep';
  private dispatched = 0;
  constructor(
    private readonly lengths: (index: number) => number,
    private readonly clock: BusyClock,
  ) {}
  async preflight(): Promise<void> {}
  async reap(): Promise<void> {}
  async run(request: SandboxRequest): Promise<SandboxResult> {
    const length = this.lengths(this.dispatched++);
    const start = performance.now();
    await sleep(length, request.signal);
    const durationMs = performance.now() - start;
    this.clock.add(durationMs);
    const interrupted = request.signal?.aborted ?? false;
    mkdirSync(path.dirname(request.logPath), { recursive: true });
    writeFileSync(request.logPath, `score=${(request.ideaId * 7919) % 1000}\n`);
    return { exitCode: interrupted ? null : 0, timedOut: false, oomKilled: false, interrupted, durationMs, logPath: request.logPath };
  }
}

const scaled = (seconds: number) => seconds * 1000 * SCHEDULER_SETTINGS.timeScale;

/** A thinker that takes the thinker latency and proposes a distinct idea (no numbers, so no near-duplicates). */
const latencyThinker: Thinker = {
  name: 'latency',
  async propose(context: ResearchContext): Promise<AgentResult<IdeaDraft>> {
    await sleep(scaled(SCHEDULER_SETTINGS.thinkerSeconds), context.signal);
    const word = Math.floor(context.random() * 2 ** 48).toString(36);
    return { value: { title: `try ${word}`, hypothesis: 'bench', plan: `change ${word}`, expectedEffect: '' }, usage: ZERO_USAGE };
  },
};

const latencyCoder: Coder = new OneShotCoder({
  name: 'latency',
  async implement(_idea: IdeaDraft, context: ResearchContext): Promise<AgentResult<Edit>> {
    await sleep(scaled(SCHEDULER_SETTINGS.coderSeconds), context.signal);
    return {
      value: { kind: 'search-replace', blocks: [{ path: 'idea.txt', search: '', replace: `idea ${context.ideaId}\n` }] },
      usage: ZERO_USAGE,
    };
  },
});

/** Worktrees as plain folders: the scheduler, not git, is measured here (git is in the overhead bench). */
class FolderWorkspace implements Workspace {
  readonly baseCommit = 'base';
  constructor(readonly repoDir: string) {}
  async checkout(ideaId: number): Promise<string> {
    const dir = path.join(this.repoDir, `idea-${ideaId}`);
    await mkdir(dir, { recursive: true });
    return dir;
  }
  async commit(_dir: string, ideaId: number) {
    return { commit: `commit-${ideaId}`, diff: `+idea ${ideaId}\n`, changedFiles: ['idea.txt'] };
  }
  async pendingChanges() {
    return [{ path: 'idea.txt', symlink: false, deleted: false }];
  }
  async reset(): Promise<void> {}
  async release(dir: string): Promise<void> {
    await rm(dir, { recursive: true, force: true });
  }
  async readFile(): Promise<string | null> {
    return null;
  }
  async diff(): Promise<string> {
    return '';
  }
  async listFiles(): Promise<string[]> {
    return [];
  }
  async cleanup(): Promise<void> {}
}

function benchEnvironment(dir: string): Environment {
  const config = EnvironmentConfig.parse({
    name: 'scheduler-bench',
    description: 'fake runs that sleep',
    code: { path: '.' },
    editable: ['*.txt'],
    run: { command: 'sleep', timeout: '1h' },
    reward: { source: 'regex', pattern: 'score=(\\S+)', goal: 'maximize' },
  });
  return { config, dir, file: path.join(dir, 'environment.yaml'), code: { kind: 'path', path: dir } };
}

export async function pipelined(slots: number, timeBoxMs: number, seed: number) {
  const dir = benchDir('scheduler');
  const clock = new BusyClock();
  const config = RunConfig.parse({
    runId: 'scheduler-bench',
    createdAt: new Date().toISOString(),
    environmentDir: dir,
    environmentName: 'scheduler-bench',
    agent: 'latency',
    search: 'evolve',
    ideas: 1_000_000,
    parallel: slots,
    maxHours: timeBoxMs / 3_600_000,
    hardStop: true,
    randomSeed: seed,
  });
  const store = RunStore.create(dir, config);
  const sweep = () =>
    runSweep({
      store,
      environment: benchEnvironment(dir),
      workspace: new FolderWorkspace(path.join(dir, 'worktrees')),
      sandbox: new SleepingSandbox(runLengths(seed), clock),
      thinker: latencyThinker,
      coder: latencyCoder,
      strategy: createStrategy(config),
      gpuPool: new GpuPool([]),
      progress: SILENT,
      signal: new AbortController().signal,
    });
  const start = performance.now();
  const loopBefore = performance.eventLoopUtilization();
  const summary = await sweep();
  const loop = performance.eventLoopUtilization(loopBefore);
  // The sweep holds the slots until its last run ends; the bookkeeping after that holds no GPU.
  const makespan = clock.lastEnd - start;
  const finished = summary.ideas.filter((idea) => idea.id > 0 && isFinished(idea)).length;
  store.close();
  rmSync(dir, { recursive: true, force: true });
  return {
    utilisation: clock.total / (slots * makespan),
    finished,
    // Wall time the event loop was busy, per idea: the framework's own work, as the slots wait on it.
    loopMsPerIdea: loop.active / Math.max(1, finished),
  };
}

async function naive(slots: number, timeBoxMs: number, seed: number) {
  const clock = new BusyClock();
  const lengths = runLengths(seed);
  let dispatched = 0;
  let finished = 0;
  const stop = new AbortController();
  setMaxListeners(Infinity, stop.signal);
  const start = performance.now();
  const timer = setTimeout(() => stop.abort(), timeBoxMs);
  const worker = async () => {
    while (!stop.signal.aborted) {
      await sleep(scaled(SCHEDULER_SETTINGS.thinkerSeconds), stop.signal);
      await sleep(scaled(SCHEDULER_SETTINGS.coderSeconds), stop.signal);
      if (stop.signal.aborted) break;
      const runStart = performance.now();
      await sleep(lengths(dispatched++), stop.signal);
      clock.add(performance.now() - runStart);
      if (!stop.signal.aborted) finished++;
    }
  };
  await Promise.all(Array.from({ length: slots }, worker));
  clearTimeout(timer);
  const makespan = clock.lastEnd - start;
  return { utilisation: clock.total / (slots * makespan), finished };
}

export async function schedulerBench(options: { quick: boolean; log: (line: string) => void }): Promise<SchedulerResult> {
  const repeats = options.quick ? 1 : 3;
  // Long enough that the first idea's thinking time is a small share of the box.
  const timeBoxSeconds: Record<string, number> = options.quick ? { 1: 3, 8: 3, 64: 6 } : { 1: 8, 8: 8, 64: 20 };
  const rows: SchedulerRow[] = [];
  for (const slots of [1, 8, 64]) {
    const results: Record<'pipelined' | 'naive', { utilisation: number[]; finished: number[]; cpu: number[] }> = {
      pipelined: { utilisation: [], finished: [], cpu: [] },
      naive: { utilisation: [], finished: [], cpu: [] },
    };
    for (let repeat = 0; repeat < repeats; repeat++) {
      const seed = mixSeed(slots, repeat);
      const box = timeBoxSeconds[slots] * 1000;
      const p = await pipelined(slots, box, seed);
      results.pipelined.utilisation.push(p.utilisation);
      results.pipelined.finished.push(p.finished);
      results.pipelined.cpu.push(p.loopMsPerIdea);
      const n = await naive(slots, box, seed);
      results.naive.utilisation.push(n.utilisation);
      results.naive.finished.push(n.finished);
      options.log(
        `scheduler K=${slots} repeat ${repeat + 1}/${repeats}: pipelined ${p.utilisation.toFixed(3)}, naive ${n.utilisation.toFixed(3)}`,
      );
    }
    for (const scheduler of ['pipelined', 'naive'] as const) {
      rows.push({
        slots,
        scheduler,
        utilisation: summarize(results[scheduler].utilisation),
        ideasFinished: summarize(results[scheduler].finished),
        loopMsPerIdea: scheduler === 'pipelined' ? summarize(results[scheduler].cpu) : null,
      });
    }
  }
  return { settings: { ...SCHEDULER_SETTINGS, timeBoxSeconds, repeats }, rows };
}
