/**
 * The value function: from an idea's run to a reward, or to the reason there is none.
 *
 * When the environment has an evaluate step, the reward comes from the evaluator frozen at the
 * start of the run (never from the idea's code), reading the run's outputs and writing its metric
 * to a folder the run never saw. Otherwise the metric is read from the run's own outputs or log.
 */
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import type { Sandbox, SandboxRequest, SandboxResult, Scored } from '../core/interfaces.ts';
import type { Failure } from '../core/types.ts';
import type { EnvironmentConfig } from '../environment/schema.ts';
import { checkEvaluator } from './frozen-evaluator.ts';
import { crashCause, readLogTail } from './log-cause.ts';
import { extractMetric, logTail } from './metric.ts';
import { describeSkipped, snapshotOutputs } from './snapshot.ts';
import { formatLimit } from '../core/format.ts';

/** Classifies a finished step; null when it succeeded. */
export function stepFailure(result: SandboxResult, step: 'run' | 'evaluator', timeoutMs: number): Failure | null {
  const tail = () => lastLines(result.logPath);
  if (result.interrupted) return { reason: 'interrupted', message: `the ${step} was stopped because the sweep stopped` };
  if (result.infrastructureError) return { reason: 'infrastructure', message: result.infrastructureError };
  if (result.timedOut) {
    return { reason: 'timed-out', message: `the ${step} passed its ${formatLimit(timeoutMs)} time limit and was killed` };
  }
  if (result.oomKilled) return { reason: 'oom', message: `the ${step} was killed for running out of memory` };
  if (result.exitCode !== 0) {
    const reason = step === 'run' ? 'crashed' : 'no-metric';
    const what = step === 'run' ? 'the run crashed' : "the evaluator rejected the run's outputs";
    // The exception line says why; the last lines printed (a test runner's banner, a progress bar) rarely do.
    const { cause } = crashCause(readLogTail(result.logPath));
    return { reason, message: `${what} (exit code ${result.exitCode}): ${cause ?? tail()}` };
  }
  return null;
}

export interface EvaluateRequest {
  config: EnvironmentConfig;
  sandbox: Sandbox;
  /** The run step's request and result. */
  run: SandboxRequest;
  runResult: SandboxResult;
  /** Frozen copy of the evaluator (required when the environment has an evaluate step). */
  evaluatorDir?: string;
  /** Its content hash when the run was created: checked before the idea is scored. */
  evaluatorHash?: string | null;
  /** Folder for this evaluation's evaluator files (metrics, log). */
  evalDir: string;
  signal?: AbortSignal;
}

export async function scoreRun(request: EvaluateRequest): Promise<Scored> {
  const { config, run, runResult } = request;
  // A changed judge stops the sweep (EvaluatorChanged) before it scores anything.
  if (request.evaluatorDir && request.evaluatorHash) checkEvaluator(request.evaluatorDir, request.evaluatorHash);
  const runFailure = stepFailure(runResult, 'run', run.step.timeout);
  if (runFailure) return { ok: false, failure: runFailure };

  if (!config.evaluate || !request.evaluatorDir) {
    return extractMetric(config.reward, { dir: run.outputDir, logPath: run.logPath });
  }
  // The evaluator reads a clean copy of the outputs, never the run's own folder: no link the run
  // left there (predictions.json -> the held-out answers) can reach it, in any sandbox.
  const outputs = snapshotOutputs(run.outputDir, path.join(request.evalDir, 'outputs'));
  const leftOut = describeSkipped(outputs);
  const evaluateRequest: SandboxRequest = {
    ...run,
    kind: 'evaluate',
    step: config.evaluate,
    // The evaluator may use some of the GPUs the idea holds (a checkpoint's inference), never
    // more; one that does gets the run's memory and cores too (on Slurm its step is a job of its
    // own, which would otherwise get the partition's defaults).
    resources: config.evaluate.gpus > 0 ? { ...run.resources, gpus: config.evaluate.gpus, shareGpus: true } : { gpus: 0, shareGpus: true },
    network: false,
    workDir: request.evaluatorDir,
    outputDir: path.join(request.evalDir, 'outputs'),
    evalDir: path.join(request.evalDir, 'out'),
    logPath: path.join(request.evalDir, 'evaluate.log'),
    gpus: run.gpus.slice(0, config.evaluate.gpus),
    signal: request.signal,
  };
  const evaluateResult = await request.sandbox.run(evaluateRequest);
  const withLeftOut = <T extends { message: string }>(failure: T): T =>
    leftOut ? { ...failure, message: `${failure.message} (${leftOut})` } : failure;
  const evaluateFailure = stepFailure(evaluateResult, 'evaluator', config.evaluate.timeout);
  if (evaluateFailure) {
    const failure = evaluateFailure.reason === 'timed-out' ? { ...evaluateFailure, reason: 'evaluator-failed' as const } : evaluateFailure;
    if (leftOut) appendFileSync(evaluateRequest.logPath, `\n[ai-researcher] ${leftOut}\n`);
    return { ok: false, failure: withLeftOut(failure) };
  }
  const scored = extractMetric(config.reward, { dir: evaluateRequest.evalDir!, logPath: evaluateRequest.logPath });
  // Noted in the log only once the reward is read: the names are the run's, and a regex reward
  // must never match a file name the run chose.
  if (leftOut) appendFileSync(evaluateRequest.logPath, `\n[ai-researcher] ${leftOut}\n`);
  return scored.ok ? scored : { ok: false, failure: withLeftOut(scored.failure) };
}

function lastLines(logPath: string): string {
  const tail = logTail(logPath, 3);
  return tail ? tail.replace(/\n/g, ' ⏎ ').slice(-400) : '(no output)';
}
