/**
 * Test helpers: build a real sweep (real git repo, SQLite store, local sandbox, python) on a
 * fixture environment, with the offline agent or a scripted thinker/coder.
 */
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OfflineCoder, OfflineThinker } from '../../src/agents/offline.ts';
import { asCoder } from '../../src/agents/one-shot.ts';
import type { AgentResult, Coder, EditWriter, ResearchContext, Sandbox, Thinker } from '../../src/core/interfaces.ts';
import { runSweep, type SweepSummary } from '../../src/core/sweep/index.ts';
import type { SweepEvent } from '../../src/core/progress.ts';
import { RunConfig, type RunConfigInput } from '../../src/core/run-config.ts';
import { ZERO_USAGE, type Edit, type IdeaDraft } from '../../src/core/types.ts';
import { loadEnvironment, type Environment } from '../../src/environment/load.ts';
import { GpuPool } from '../../src/sandbox/gpu-pool.ts';
import { LocalSandbox } from '../../src/sandbox/local.ts';
import { createStrategy } from '../../src/search/index.ts';
import { RunStore } from '../../src/store/run-store.ts';
import { freezeEvaluator } from '../../src/reward/frozen-evaluator.ts';
import { GitWorkspace } from '../../src/workspace/git.ts';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
export const QUADRATIC = path.join(REPO_ROOT, 'test/fixtures/quadratic');

export function tempDir(prefix = 'researcher-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A private copy of a fixture environment that a test may change. */
export function copyEnvironment(source: string = QUADRATIC): string {
  const dir = path.join(tempDir('researcher-env-'), path.basename(source));
  cpSync(source, dir, { recursive: true });
  return dir;
}

export function writeFile(file: string, text: string): void {
  writeFileSync(file, text);
}

export interface TestRun {
  store: RunStore;
  environment: Environment;
  workspace: GitWorkspace;
  runDir: string;
  events: SweepEvent[];
  /** Runs the sweep; in the local sandbox unless another is given (e.g. a DockerSandbox). */
  sweep(options?: { thinker?: Thinker; coder?: Coder | EditWriter; signal?: AbortSignal; sandbox?: Sandbox }): Promise<SweepSummary>;
}

export async function createTestRun(environmentDir: string, config: Partial<RunConfigInput> = {}): Promise<TestRun> {
  const environment = loadEnvironment(environmentDir);
  const runDir = path.join(tempDir('researcher-run-'), 'run');
  const workspace = await GitWorkspace.create(environment, runDir);
  const evaluatorHash = environment.evaluatorDir ? freezeEvaluator(environment.evaluatorDir, path.join(runDir, 'evaluator')) : null;
  const testEvaluatorHash = environment.testEvaluatorDir
    ? freezeEvaluator(environment.testEvaluatorDir, path.join(runDir, 'test-evaluator'))
    : null;
  const store = RunStore.create(
    runDir,
    RunConfig.parse({
      runId: 'test',
      createdAt: new Date().toISOString(),
      environmentDir: environment.dir,
      environmentName: environment.config.name,
      goal: environment.config.reward.goal,
      rewardRange: environment.config.reward.range ?? null,
      agent: 'offline',
      ideas: 3,
      evaluatorHash,
      testEvaluatorHash,
      ...config,
    }),
  );
  const events: SweepEvent[] = [];
  return {
    store,
    environment,
    workspace,
    runDir,
    events,
    sweep: (options = {}) =>
      runSweep({
        store,
        environment,
        workspace,
        sandbox: options.sandbox ?? new LocalSandbox(),
        thinker: options.thinker ?? new OfflineThinker(),
        coder: asCoder(options.coder ?? new OfflineCoder()),
        strategy: createStrategy(store.config),
        gpuPool: new GpuPool(store.config.gpus),
        evaluatorDir: environment.evaluatorDir ? path.join(runDir, 'evaluator') : undefined,
        testEvaluatorDir: environment.testEvaluatorDir ? path.join(runDir, 'test-evaluator') : undefined,
        progress: { report: (event) => events.push(event) },
        signal: options.signal ?? new AbortController().signal,
      }),
  };
}

/** A thinker that proposes the given ideas in order (a test double of our own interface). */
export function scriptedThinker(ideas: Partial<IdeaDraft>[]): Thinker {
  let next = 0;
  return {
    name: 'scripted',
    async propose(): Promise<AgentResult<IdeaDraft>> {
      const idea = ideas[next++ % ideas.length];
      return { value: { title: `idea ${next}`, hypothesis: 'scripted', plan: '', expectedEffect: '', ...idea }, usage: ZERO_USAGE };
    },
  };
}

/** A coder that returns the given edits in order, one per call (repair rounds included). */
export function scriptedCoder(edits: (Edit | ((context: ResearchContext) => Edit))[]): EditWriter & { calls: number } {
  const coder = {
    name: 'scripted',
    calls: 0,
    async implement(_idea: IdeaDraft, context: ResearchContext): Promise<AgentResult<Edit>> {
      const edit = edits[coder.calls++ % edits.length];
      return { value: typeof edit === 'function' ? edit(context) : edit, usage: ZERO_USAGE };
    },
  };
  return coder;
}

export function setX(value: string): Edit {
  return { kind: 'search-replace', blocks: [{ path: 'config.py', search: 'X = 0.5', replace: `X = ${value}` }] };
}
