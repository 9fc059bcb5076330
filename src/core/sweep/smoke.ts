/**
 * The smoke step (environment.yaml `smoke:`): a short version of the run — a few training
 * steps — run on an idea's code before its full run, in the same sandbox with the run's
 * resources and the idea's GPUs, under its own time limit. Code that crashes fails here in
 * seconds and goes back to the coder as a debug round, without spending the full run.
 *
 * Its $OUTPUT_DIR is a scratch folder nothing reads (the reward never comes from a smoke step),
 * and it runs as SMOKE_SEED, a seed no full run uses, so an engine that keys its jobs by idea
 * and seed (Slurm) never takes a smoke job for a full run's or the other way round.
 */
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { stepFailure } from '../../reward/evaluate.ts';
import type { SandboxHandle, SandboxRequest, SmokeOutcome } from '../interfaces.ts';
import type { EnvironmentConfig, StepConfig } from '../../environment/schema.ts';
import type { Failure } from '../types.ts';
import type { SweepParts } from './dependencies.ts';
import { feedbackLogTail } from './run-failure.ts';
import { Drained } from './scheduler.ts';

export const SMOKE_SEED = 999_999;

/** The smoke step as it runs: in the run's environment (its variables and passed-through host variables), plus its own. */
export function smokeStep(config: EnvironmentConfig): StepConfig | null {
  const { smoke, run } = config;
  if (!smoke) return null;
  return { ...smoke, env: { ...run.env, ...smoke.env }, passEnv: [...new Set([...run.passEnv, ...smoke.passEnv])] };
}

export interface SmokeRun {
  outcome: SmokeOutcome;
  /** The failure as the sweep records it (null when it passed). */
  failure: Failure | null;
  logPath: string;
  durationMs: number;
}

/**
 * Runs the environment's smoke step on `dir` with `gpus`, its log and scratch outputs in
 * `folder`. Null when the environment declares no smoke step; 'stopped' when the sweep stopped it.
 */
export async function runSmokeStep(
  parts: SweepParts,
  request: { ideaId: number; dir: string; gpus: string[]; folder: string; onStarted?: (handle: SandboxHandle) => void },
): Promise<SmokeRun | 'stopped' | null> {
  const { deps, config, scheduler } = parts;
  const { environment, sandbox } = deps;
  const smoke = smokeStep(environment.config);
  if (!smoke) return null;
  const { run } = environment.config;
  const outputDir = path.join(request.folder, 'outputs');
  const logPath = path.join(request.folder, 'smoke.log');
  // A retried smoke step starts from nothing: what an earlier one left is not this one's.
  rmSync(request.folder, { recursive: true, force: true });
  mkdirSync(outputDir, { recursive: true });
  const signal = scheduler.runSignal;
  const sandboxRequest: SandboxRequest = {
    runId: config.runId,
    ideaId: request.ideaId,
    seed: SMOKE_SEED,
    kind: 'run',
    step: smoke,
    resources: run.resources,
    network: run.network,
    readOnly: run.readOnly,
    workDir: request.dir,
    outputDir,
    logPath,
    gpus: request.gpus,
    image: environment.config.image,
    signal,
    onStarted: request.onStarted,
  };
  const result = await sandbox.run(sandboxRequest);
  if (result.interrupted || signal.aborted) return 'stopped';
  const failure = stepFailure(result, 'run', smoke.timeout);
  const recorded = failure && { ...failure, message: failure.message.replace(/^the run\b/, 'the smoke step') };
  return {
    outcome: {
      ok: failure === null,
      exitCode: result.exitCode,
      timedOut: result.timedOut,
      message: recorded?.message ?? '',
      logTail: feedbackLogTail(logPath),
    },
    failure: recorded,
    logPath,
    durationMs: result.durationMs,
  };
}

/**
 * CodingSession.smoke for an idea's tree while a coder works on it: the smoke step on the tree as
 * it is now, with GPUs taken from the pool for as long as it runs (the idea holds none while it
 * is coded; a debug round passes the ones it holds). Each call gets its own folder under the idea's `coder-smoke/`. Absent (undefined)
 * when the environment declares no smoke step.
 */
export function sessionSmoke(
  parts: SweepParts,
  ideaId: number,
  dir: string,
  heldGpus?: string[],
): (() => Promise<SmokeOutcome | null>) | undefined {
  if (!parts.deps.environment.config.smoke) return undefined;
  let calls = 0;
  return async () => {
    const { gpuPool, environment, store } = parts.deps;
    const folder = path.join(store.runDir, 'ideas', String(ideaId), 'coder-smoke', String(++calls));
    // In a debug round the idea holds its GPUs already (taking more from the pool could wait forever).
    const gpus = heldGpus ?? (await gpuPool.acquire(environment.config.run.resources.gpus));
    try {
      const ran = await runSmokeStep(parts, { ideaId, dir, gpus, folder });
      if (ran === 'stopped') throw new Drained();
      return ran?.outcome ?? null;
    } finally {
      if (!heldGpus) gpuPool.release(gpus);
    }
  };
}
