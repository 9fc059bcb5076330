/**
 * `researcher env check`: everything a user wants to know before leaving an environment to an
 * overnight sweep. Validates the file, confirms the editable / protected split, runs the baseline
 * under a few seeds, checks that the value function fails loudly on a broken run, and ends with
 * a verdict.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeError } from '../core/errors.ts';
import type { Sandbox, SandboxRequest, SandboxResult } from '../core/interfaces.ts';
import { readKnob } from '../agents/knobs.ts';
import { crashCause, missingModule, nearMatches, printable, readLogTail } from '../reward/log-cause.ts';
import { describeInterpreter } from './interpreter.ts';
import { compileRules } from '../patch/guard.ts';
import { scoreRun, stepFailure } from '../reward/evaluate.ts';
import { mean, std } from '../core/statistics.ts';
import { GitWorkspace } from '../workspace/git.ts';
import { curveCheckLine, seedCurve } from './check-curve.ts';
import { smokeStep } from '../core/sweep/smoke.ts';
import type { Environment } from './load.ts';

export interface CheckLine {
  ok: boolean;
  /** Warnings do not fail the check but deserve a look. */
  warning?: boolean;
  message: string;
  /** Lines shown under the message: what led to a failure, where its full log is, how to fix it. */
  details?: string[];
}

export interface CheckReport {
  lines: CheckLine[];
  rewards: number[];
  mean: number | null;
  spread: number | null;
  passed: boolean;
  verdict: string;
}

export interface CheckOptions {
  seeds: number;
  sandbox: Sandbox;
  gpus?: string[];
  /** Called with each line as soon as it is known (long baselines). */
  onLine?(line: CheckLine): void;
}

/** Values left as TODO by `env init` that the user still has to fill in. */
export function unresolvedTodos(value: unknown, at = ''): string[] {
  if (typeof value === 'string') return /^TODO\b/.test(value.trim()) ? [at || '(top level)'] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => unresolvedTodos(v, `${at}[${i}]`));
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => unresolvedTodos(v, at ? `${at}.${k}` : k));
  }
  return [];
}

export async function checkEnvironment(environment: Environment, options: CheckOptions): Promise<CheckReport> {
  const lines: CheckLine[] = [];
  const say = (line: CheckLine) => {
    lines.push(line);
    options.onLine?.(line);
  };
  const { config } = environment;
  const relative = path.relative(process.cwd(), environment.file);
  const shown = relative && !relative.startsWith('..') ? relative : environment.file;
  say({ ok: true, message: `${shown} is valid` });

  const todos = unresolvedTodos(config);
  if (todos.length) {
    say({ ok: false, message: `still TODO: ${todos.join(', ')} — fill these in (env init could not decide them)` });
    return finish(lines, []);
  }

  const scratch = mkdtempSync(path.join(os.tmpdir(), 'researcher-check-'));
  // The baseline's logs outlive the check when it fails: the user is pointed at them.
  const logsDir = mkdtempSync(path.join(os.tmpdir(), `researcher-check-${config.name}-logs-`));
  let keepLogs = false;
  try {
    const workspace = await GitWorkspace.create(environment, scratch);
    const files = await workspace.listFiles(workspace.baseCommit);
    checkSplit(environment, files, say);
    await checkKnobs(environment, workspace, say);
    if (lines.some((line) => !line.ok)) return finish(lines, []);

    const evaluatorDir = environment.evaluatorDir ? path.join(scratch, 'evaluator') : undefined;
    if (environment.evaluatorDir && evaluatorDir) cpSync(environment.evaluatorDir, evaluatorDir, { recursive: true });
    const dir = await workspace.checkout(0, workspace.baseCommit);
    const usesHostPython = options.sandbox.name !== 'docker';
    say({
      ok: true,
      message: usesHostPython
        ? `interpreter: ${describeInterpreter(environment.interpreter)}`
        : `interpreter: the image's (${config.image ?? 'the default image'}); python: in environment.yaml applies to local and Slurm runs`,
    });

    const rewards: number[] = [];
    const curves: { step: number; value: number }[][] = [];
    for (let seed = 0; seed < options.seeds; seed++) {
      const folder = path.join(logsDir, `seed-${seed}`);
      const request = runRequest(environment, dir, folder, seed, options.gpus ?? []);
      const result = await options.sandbox.run(request);
      const scored = await scoreRun({
        config,
        sandbox: options.sandbox,
        run: request,
        runResult: result,
        evaluatorDir,
        evalDir: path.join(folder, 'eval'),
      });
      if (!scored.ok) {
        keepLogs = true;
        say(
          explainFailure(
            environment,
            seed,
            scored.failure,
            request.logPath,
            usesHostPython,
            config.evaluate ? path.join(folder, 'eval', 'evaluate.log') : undefined,
          ),
        );
        return finish(lines, rewards);
      }
      rewards.push(scored.reward);
      say({ ok: true, message: `baseline seed ${seed}: reward ${scored.reward} (${(result.durationMs / 1000).toFixed(1)}s)` });
      if (config.progress) curves.push(seedCurve(config.progress, request.logPath, request.outputDir));
    }
    if (config.progress) {
      const curveLine = curveCheckLine(config.progress, curves);
      keepLogs ||= !curveLine.ok; // the user will want to see what the run printed
      say(curveLine.ok ? curveLine : { ...curveLine, message: `${curveLine.message} (logs: ${logsDir})` });
    }

    if (config.smoke) {
      // The smoke step runs before every idea's full run: it must pass on the unmodified code
      // (checked after the baseline, whose failure, if any, is explained in full above).
      const folder = path.join(logsDir, 'smoke');
      const request = {
        ...runRequest(environment, dir, folder, 0, options.gpus ?? []),
        step: smokeStep(config)!,
        logPath: path.join(folder, 'smoke.log'),
      };
      mkdirSync(request.outputDir, { recursive: true });
      const result = await options.sandbox.run(request);
      const failure = stepFailure(result, 'run', config.smoke.timeout);
      if (failure) {
        keepLogs = true;
        const { cause } = crashCause(readLogTail(request.logPath));
        say({
          ok: false,
          message: `smoke step (\`${config.smoke.command}\`): ${failure.reason}: ${failure.message.replace(/^the run\b/, 'it')}`,
          details: [
            ...(cause ? [`cause: ${cause}`] : []),
            `full log: ${request.logPath}`,
            'fix smoke: in environment.yaml (it must pass on the unmodified code), or remove it',
          ],
        });
        return finish(lines, []);
      }
      say({
        ok: true,
        message: `smoke step passed on the unmodified code (${(result.durationMs / 1000).toFixed(1)}s, limit ${Math.round(config.smoke.timeout / 1000)}s)`,
      });
      await workspace.reset(dir);
    }

    // The value function must refuse a run that produced nothing, not score it.
    const broken = runRequest(environment, dir, path.join(scratch, 'broken'), 0, []);
    const brokenResult = { exitCode: 0, timedOut: false, oomKilled: false, interrupted: false, durationMs: 0, logPath: broken.logPath };
    mkdirSync(broken.outputDir, { recursive: true });
    writeFileSync(broken.logPath, '');
    const brokenScore = await scoreRun({
      config,
      sandbox: options.sandbox,
      run: broken,
      runResult: brokenResult,
      evaluatorDir,
      evalDir: path.join(scratch, 'broken', 'eval'),
    });
    if (brokenScore.ok) {
      say({
        ok: false,
        message: `the value function gave reward ${brokenScore.reward} to a run that wrote no output and printed nothing: it must fail loudly instead`,
      });
    } else {
      say({ ok: true, message: `a broken run (no output) is refused: ${brokenScore.failure.reason}` });
    }
    return finish(lines, rewards);
  } catch (error) {
    say({ ok: false, message: describeError(error) });
    return finish(lines, []);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    if (!keepLogs) rmSync(logsDir, { recursive: true, force: true });
  }
}

/**
 * A failed baseline seed as the user needs it: the cause (the exception line, not the log's last
 * line), what led to it, the full log's path, and for a missing module which interpreter ran and
 * how to choose another; for a reward that did not parse, the lines that nearly matched.
 */
function explainFailure(
  environment: Environment,
  seed: number,
  failure: { reason: string; message: string },
  runLog: string,
  usesHostPython: boolean,
  evaluateLog?: string,
): CheckLine {
  const { config } = environment;
  // The evaluate step only runs after the run step succeeded: when it ran, the failure is its own.
  const log = evaluateLog ?? runLog;
  const text = readLogTail(log);
  const details: string[] = [];
  let message = `baseline seed ${seed}: ${failure.reason}: ${failure.message}`;
  if (failure.reason === 'crashed' || failure.reason === 'evaluator-failed' || failure.reason === 'oom' || failure.reason === 'timed-out') {
    const { cause, before } = crashCause(text);
    if (before.length) details.push(cause ? 'the lines before it:' : 'the last lines of the log:', ...before.map((line) => `  ${line}`));
    const module = missingModule(cause);
    if (module) {
      message = `baseline seed ${seed}: ${failure.reason}: ${cause}`;
      details.push(
        usesHostPython
          ? `the run used ${describeInterpreter(environment.interpreter)}, which has no module '${module}'. Choose the interpreter that has it: set python: in environment.yaml (e.g. python: .venv/bin/python), or activate its venv or conda environment before running researcher`
          : `the image's python has no module '${module}': install it in the image (the recipes are under sandboxes/, e.g. sandboxes/cpu/README.md) or name another image with image: in environment.yaml`,
      );
    }
  }
  if ((failure.reason === 'no-metric' || failure.reason === 'bad-metric') && config.reward.source === 'regex') {
    const near = nearMatches(config.reward.pattern, text);
    details.push(
      near.length ? `lines that nearly matched /${config.reward.pattern}/:` : `no line looks like a metric; the last lines of the log:`,
      ...(near.length
        ? near
        : text
            .split('\n')
            .map((line) => printable(line))
            .filter((line) => line.trim())
            .slice(-3)
      ).map((line) => `  ${line}`),
      'fix reward.pattern so its first group captures the number (try it on the full log named below)',
    );
  }
  details.push(existsSync(log) ? `full log: ${log}` : `no log was written (expected at ${log})`);
  return { ok: false, message, details };
}

export interface SingleRun {
  result: SandboxResult;
  /** The run's log, kept (in a folder of its own under the temp folder) for the user to read. */
  logPath: string;
}

/**
 * Runs the unmodified code's run step once, as a sweep would (its own git snapshot, the sandbox,
 * the environment's interpreter), and keeps the log: `env init --run` reads the real output.
 */
export async function runOnce(environment: Environment, sandbox: Sandbox): Promise<SingleRun> {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'researcher-init-'));
  const logsDir = mkdtempSync(path.join(os.tmpdir(), `researcher-init-${environment.config.name}-logs-`));
  try {
    const workspace = await GitWorkspace.create(environment, scratch);
    const dir = await workspace.checkout(0, workspace.baseCommit);
    const request = runRequest(environment, dir, logsDir, 0, []);
    mkdirSync(request.outputDir, { recursive: true });
    return { result: await sandbox.run(request), logPath: request.logPath };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function runRequest(environment: Environment, workDir: string, folder: string, seed: number, gpus: string[]): SandboxRequest {
  const { run } = environment.config;
  return {
    runId: 'env-check',
    ideaId: 0,
    seed,
    kind: 'run',
    step: run,
    resources: run.resources,
    network: run.network,
    workDir,
    outputDir: path.join(folder, 'outputs'),
    logPath: path.join(folder, 'run.log'),
    gpus: gpus.slice(0, run.resources.gpus),
    image: environment.config.image,
    interpreter: environment.interpreter,
  };
}

function checkSplit(environment: Environment, files: string[], say: (line: CheckLine) => void): void {
  const { config } = environment;
  const rules = compileRules({ editable: config.editable, protected: config.protected });
  const editable = files.filter((f) => rules.isEditable(f) && !rules.isProtected(f));
  const protectedFiles = files.filter((f) => rules.isProtected(f));
  if (editable.length === 0) {
    say({ ok: false, message: `no file matches editable (${config.editable.join(', ')}): a diff could change nothing` });
  } else {
    say({
      ok: true,
      message: `${editable.length} editable file(s) (${preview(editable)}), ${protectedFiles.length} protected, ${files.length - editable.length - protectedFiles.length} other read-only`,
    });
  }
  for (const glob of config.protected) {
    if (!files.some((f) => compileRules({ editable: [], protected: [glob] }).isProtected(f))) {
      say({ ok: true, warning: true, message: `protected glob "${glob}" matches no file` });
    }
  }
  if (config.evaluate) {
    say({
      ok: true,
      message: `the evaluator (${config.evaluate.dir}) is outside the code: no diff can reach it, and it is frozen per run`,
    });
  } else {
    say({
      ok: true,
      warning: true,
      message: `no evaluate step: the reward is read from the run's own ${config.reward.source === 'json' ? 'output file' : 'output'}, which the idea's code writes — prefer an evaluator outside the code`,
    });
  }
}

async function checkKnobs(environment: Environment, workspace: GitWorkspace, say: (line: CheckLine) => void): Promise<void> {
  const { knobs, editable, protected: protectedGlobs } = environment.config;
  if (knobs.length === 0) {
    say({ ok: true, warning: true, message: 'no knobs: the offline agent has nothing to search (LLM agents still work)' });
    return;
  }
  const rules = compileRules({ editable, protected: protectedGlobs });
  const values: string[] = [];
  for (const knob of knobs) {
    const text = await workspace.readFile(workspace.baseCommit, knob.file);
    const value = text === null ? null : readKnob(knob, text);
    if (value === null) {
      say({ ok: false, message: `knob ${knob.name}: /${knob.pattern}/ matches nothing in ${knob.file}` });
    } else if (!rules.isEditable(knob.file) || rules.isProtected(knob.file)) {
      say({ ok: false, message: `knob ${knob.name}: ${knob.file} is not editable, so the knob cannot be changed` });
    } else {
      values.push(`${knob.name}=${value}`);
    }
  }
  if (values.length === knobs.length) say({ ok: true, message: `knobs found: ${values.join(', ')}` });
}

function finish(lines: CheckLine[], rewards: number[]): CheckReport {
  const passed = lines.every((line) => line.ok) && rewards.length > 0;
  const m = rewards.length ? mean(rewards) : null;
  const spread = rewards.length ? std(rewards) : null;
  const failure = lines.find((line) => !line.ok);
  const verdict = passed
    ? `PASS: ready for a sweep — baseline reward ${format(m!)}${rewards.length > 1 ? ` ± ${format(spread!)} (std over ${rewards.length} seeds; range ${format(Math.min(...rewards))}–${format(Math.max(...rewards))})` : ' (1 seed: use --seeds 3 to measure the noise)'}`
    : `FAIL: ${failure?.message ?? 'the baseline produced no reward'}`;
  return { lines, rewards, mean: m, spread, passed, verdict };
}

function format(x: number): string {
  return String(Number(x.toPrecision(4)));
}

function preview(files: string[]): string {
  return files.length <= 4 ? files.join(', ') : `${files.slice(0, 3).join(', ')}, …`;
}
