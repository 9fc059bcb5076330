/**
 * A sweep on in-memory doubles: the real scheduler, idea pipeline, search strategies and SQLite
 * store, with the scripted agents, the scripted sandbox and the memory workspace in place of
 * models, processes and git. It runs in milliseconds.
 */
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { asCoder } from '../../src/agents/one-shot.ts';
import type { Coder, EditWriter, SandboxRequest, Thinker } from '../../src/core/interfaces.ts';
import type { SweepEvent } from '../../src/core/progress.ts';
import { RunConfig, type RunConfigInput } from '../../src/core/run-config.ts';
import { runSweep, type SweepSummary } from '../../src/core/sweep/index.ts';
import type { Environment } from '../../src/environment/load.ts';
import { EnvironmentConfig } from '../../src/environment/schema.ts';
import { GpuPool } from '../../src/sandbox/gpu-pool.ts';
import { createStrategy } from '../../src/search/index.ts';
import { RunStore } from '../../src/store/run-store.ts';
import { knobCoder, ScriptedThinker } from './agents.ts';
import { ScriptedSandbox, type RunOutcome } from './sandbox.ts';
import { MemoryWorkspace } from './workspace.ts';

/** The code the memory workspace starts from: one knob, X, in config.py. */
export const BASE_CODE = { 'config.py': 'X = 0.5\n', 'train.py': 'from config import X\nprint(f"score={-(X - 3) ** 2}")\n' };

/** An environment read from no file: the reward is `score=<number>` in the run's log. */
export function memoryEnvironment(dir: string, extra: Record<string, unknown> = {}): Environment {
  const config = EnvironmentConfig.parse({
    name: 'memory',
    description: 'Choose X in config.py; the score is -(X - 3)^2.',
    code: { path: './code' },
    editable: ['*.py'],
    protected: ['data/**'],
    run: { command: 'python3 train.py', timeout: '20s' },
    reward: { source: 'regex', pattern: 'score=(\\S+)', goal: 'maximize' },
    ...extra,
  });
  return { config, dir, file: path.join(dir, 'environment.yaml'), code: { kind: 'path', path: path.join(dir, 'code') } };
}

/** X as the run's worktree holds it. */
export function knobValue(request: SandboxRequest): number {
  return Number(/^X = (\S+)/m.exec(readFileSync(path.join(request.workDir, 'config.py'), 'utf8'))?.[1]);
}

/** What train.py would print: runs finish at once with this reward unless a test scripts otherwise. */
export function quadraticScore(request: SandboxRequest): RunOutcome {
  return { reward: -((knobValue(request) - 3) ** 2) };
}

export interface MemorySweep {
  store: RunStore;
  environment: Environment;
  workspace: MemoryWorkspace;
  events: SweepEvent[];
  /** Runs (or resumes) the sweep; every double may be replaced, e.g. by fresh ones for a resume. */
  sweep(parts?: {
    thinker?: Thinker;
    coder?: Coder | EditWriter;
    sandbox?: ScriptedSandbox;
    signal?: AbortSignal;
    debugRounds?: number;
  }): Promise<SweepSummary>;
}

/** `environment`: fields of environment.yaml to set or replace (a `smoke:` step, say). */
export function memorySweep(config: Partial<RunConfigInput> = {}, environmentFields: Record<string, unknown> = {}): MemorySweep {
  const runDir = path.join(mkdtempSync(path.join(os.tmpdir(), 'researcher-memory-run-')), 'run');
  mkdirSync(runDir); // GitWorkspace.create makes it for a real run
  const environment = memoryEnvironment(path.dirname(runDir), environmentFields);
  const workspace = new MemoryWorkspace(BASE_CODE);
  const store = RunStore.create(
    runDir,
    RunConfig.parse({
      runId: 'memory',
      createdAt: new Date().toISOString(),
      environmentDir: environment.dir,
      environmentName: environment.config.name,
      goal: environment.config.reward.goal,
      agent: 'scripted',
      ideas: 3,
      ...config,
    }),
  );
  const events: SweepEvent[] = [];
  return {
    store,
    environment,
    workspace,
    events,
    sweep: (parts = {}) =>
      runSweep({
        store,
        environment,
        workspace,
        sandbox: parts.sandbox ?? new ScriptedSandbox(quadraticScore),
        thinker: parts.thinker ?? new ScriptedThinker([(context) => ({ title: `x=${(context.ideaId % 7) + 1}` })]),
        coder: asCoder(parts.coder ?? knobCoder()),
        debugRounds: parts.debugRounds ?? 0,
        strategy: createStrategy(store.config),
        gpuPool: new GpuPool(store.config.gpus),
        progress: { report: (event) => events.push(event) },
        signal: parts.signal ?? new AbortController().signal,
      }),
  };
}

/** Waits (a macrotask at a time, so every pending step of the sweep gets to run) until `condition` holds. */
export async function until(condition: () => boolean, what = 'the condition'): Promise<void> {
  for (let turn = 0; turn < 10_000; turn++) {
    if (condition()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`${what} never held`);
}

/** Lets the sweep run until nothing changes any more (every task waits on a double). */
export async function settled(): Promise<void> {
  for (let turn = 0; turn < 50; turn++) await new Promise((resolve) => setImmediate(resolve));
}
