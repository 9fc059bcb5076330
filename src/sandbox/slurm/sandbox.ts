/**
 * (About 400 lines: the Sandbox contract for Slurm — submit, follow, re-attach, finish — in the
 * order a step lives; commands, staging, scripts and preflight are in the files beside it.)
 *
 * The Slurm sandbox: each step of an idea (its run, and the frozen evaluator scoring it) is a
 * batch job submitted with `sbatch`. Nothing of ours runs on the cluster but the batch script.
 *
 * Files. A job can only see what the cluster shares, so every step is staged under
 * `<shared-dir>/researcher-jobs/<run-id>/idea-<id>/seed-<seed>/`: a copy of the code (or of the
 * frozen evaluator), the outputs folder, the job's log, and small files the batch script writes
 * itself (`started`, `ended`, `exit`). The staged copy, not the run's worktree, is what the job
 * runs in, so `resume` cleaning worktrees never pulls files from under a job it re-attaches to.
 * The log is mirrored into the idea's log path while the job runs; outputs (and evaluator
 * metrics) are copied back when it ends.
 *
 * Environment. `--export=NONE` keeps the submitting shell (API keys included) out of the job.
 * Under NONE, Slurm starts the batch script in the user's *login* environment on the node, which
 * may hold secrets of its own (dotfiles), so the script runs the step under `env -i` with only the
 * variables the sandbox environment builder gives, plus Slurm's own (SLURM_*, the GPUs it chose).
 *
 * State. A single poller asks `squeue -t all` about every job this process follows; a job that
 * squeue has forgotten is looked up in `sacct` when accounting storage exists, and otherwise is
 * judged by the exit file its batch script wrote. The step's time limit becomes `--time` (rounded
 * up to whole minutes, plus one for the job's start-up) and our own timer, counted from when the
 * command really started, cancels the job at the exact limit. Ctrl-C cancels with `scancel`.
 *
 * Resume. A researcher killed mid-sweep leaves its jobs queued or running. On resume the loop
 * hands their handles to `reap`, which keeps them instead of cancelling; when the loop asks for
 * the same step again, `run` re-attaches to the live job with that step's name (same job id, no
 * second submission), or takes the result of one that finished meanwhile. Jobs nobody asked for
 * are cancelled at `close`.
 *
 * The folder: commands.ts (the Slurm client commands; Slurm as a BatchScheduler), staging.ts
 * (the shared folder), batch-script.ts (job.sh, step.sh, sbatch options); the submit / poll /
 * re-attach pattern itself is in ../batch/, for the next cluster backend to reuse.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError, describeError } from '../../core/errors.ts';
import type { Sandbox, SandboxHandle, SandboxRequest, SandboxResult } from '../../core/interfaces.ts';
import { sleep } from '../../core/sleep.ts';
import type { Environment } from '../../environment/load.ts';
import type { Resources, SlurmSettings } from '../../environment/schema.ts';
import { CANCEL_WAIT_MS, followJob } from '../batch/follow-job.ts';
import { JobBoard } from '../batch/job-board.ts';
import { claimOldest, submitOnce } from '../batch/scheduler.ts';
import { sandboxResult } from '../result.ts';
import {
  RESERVED_OPTIONS,
  batchScripts,
  stepIsolation,
  containerRuntime,
  jobEnvironment,
  resourceOptions,
  type ContainerRuntime,
  type SbatchPlacement,
} from './batch-script.ts';
import { QUEUE_FORMAT, TRANSIENT, cancelJob, isLive, liveJobsNamed, parseQueue, slurm, slurmScheduler } from './commands.ts';
import { firstLine } from '../../core/format.ts';
import { snapshotOutputs } from '../../reward/snapshot.ts';
import { checkCluster } from './preflight.ts';
import { STAGE_FOLDER, stepMirror, copyContents, readNumber, readText, stepFiles, type StepFiles } from './staging.ts';

/** `--sandbox slurm` options from the command line (stored in the run's sandboxOptions). */
export const SlurmOptions = z.object({
  /** A folder every node of the cluster sees at the same path. */
  sharedDir: z.string().min(1).optional(),
  partition: z.string().min(1).optional(),
  account: z.string().min(1).optional(),
  qos: z.string().min(1).optional(),
  /** How often job states are polled while jobs are young (ms); polls slow down 5× after 30 s. */
  pollMs: z.number().int().positive().optional(),
  /** `--slurm-isolation`: bubblewrap on the nodes (overrides environment.yaml's slurm.isolation). */
  isolation: z.enum(['auto', 'required', 'off']).optional(),
});
export type SlurmOptions = z.output<typeof SlurmOptions>;

/** How long to wait for an exit file that a shared file system has not shown us yet. */
const EXIT_FILE_WAIT_MS = 30_000;

type Reattached = { kind: 'live'; jobId: string } | { kind: 'finished'; jobId: string; result: SandboxResult };

interface Outcome {
  exitCode: number | null;
  timedOut: boolean;
  oomKilled: boolean;
  interrupted: boolean;
  infrastructureError?: string;
}

export class SlurmSandbox implements Sandbox {
  readonly name = 'slurm';
  /** Slurm places GPUs itself (--gres): the loop hands out no device ids. */
  readonly allocatesGpus = true;

  private readonly sharedDir: string | undefined;
  private readonly placement: SbatchPlacement;
  private readonly settings: SlurmSettings | undefined;
  private readonly isolation: 'auto' | 'required' | 'off';
  private readonly container: { image: string; runtime: ContainerRuntime } | undefined;
  private readonly board: JobBoard;
  /** Job ids a killed researcher left, handed over by `reap`; unclaimed ones are cancelled at close. */
  private readonly inherited = new Set<string>();
  /** Jobs this process follows right now. */
  private readonly following = new Set<string>();
  private readonly stageRoots = new Set<string>();
  /** Whether an evaluate step may follow a run step (it reads the run's staged outputs). */
  private readonly evaluatorFollows: boolean;

  constructor(options: Record<string, unknown> = {}, environment?: Environment) {
    const parsed = SlurmOptions.safeParse(options);
    if (!parsed.success) throw new ConfigError(`slurm sandbox options: ${z.prettifyError(parsed.error)}`);
    const { sharedDir, partition, account, qos, pollMs } = parsed.data;
    this.sharedDir = sharedDir ? path.resolve(sharedDir) : undefined;
    this.settings = environment?.config.slurm;
    this.isolation = parsed.data.isolation ?? this.settings?.isolation ?? 'auto';
    this.evaluatorFollows = environment ? environment.config.evaluate !== undefined : true;
    const settings = this.settings;
    for (const option of settings?.sbatchArgs ?? []) {
      const flag = option.split('=')[0];
      if (RESERVED_OPTIONS.includes(flag)) {
        throw new ConfigError(`${environment!.file}: slurm.sbatchArgs: ${flag} is set by the researcher itself; remove it`);
      }
    }
    this.placement = {
      partition: partition ?? settings?.partition,
      account: account ?? settings?.account,
      qos: qos ?? settings?.qos,
      extra: settings?.sbatchArgs ?? [],
    };
    if (settings?.container) {
      const runtime = containerRuntime(settings.container, settings.containerRuntime);
      // A relative image file is relative to the environment folder, like every path in it.
      const isFile =
        !/^[a-z-]+:\/\//.test(settings.container) && (/\.(sif|simg|sqsh)$/i.test(settings.container) || settings.container.startsWith('.'));
      const image = isFile && environment ? path.resolve(environment.dir, settings.container) : settings.container;
      this.container = { image, runtime };
    }
    this.board = new JobBoard(slurmScheduler, pollMs ?? 1000);
  }

  async preflight(request: { resources: Resources; gpus: string[]; image?: string }): Promise<void> {
    await checkCluster({ sharedDir: this.sharedDir, placement: this.placement, container: this.container, resources: request.resources });
  }

  async run(request: SandboxRequest): Promise<SandboxResult> {
    const started = Date.now();
    const result = (fields: Partial<SandboxResult> & { exitCode: number | null }): SandboxResult =>
      sandboxResult(request.logPath, started, fields);
    mkdirSync(path.dirname(request.logPath), { recursive: true });
    mkdirSync(request.outputDir, { recursive: true });
    if (request.evalDir) mkdirSync(request.evalDir, { recursive: true });
    // The idea's log mirrors the job's: it starts empty, like the job's own.
    writeFileSync(request.logPath, '');
    if (request.signal?.aborted) return result({ exitCode: null, interrupted: true });
    if (!this.sharedDir) return result({ exitCode: null, infrastructureError: 'the slurm sandbox has no --shared-dir' });

    const root = path.join(this.sharedDir, STAGE_FOLDER, request.runId);
    this.stageRoots.add(root);
    const files = stepFiles(path.join(root, `idea-${request.ideaId}`, `seed-${request.seed}`), request.kind);
    const mirror = stepMirror(files, request);

    let jobId: string;
    try {
      const reattached = await this.reattach(request, files);
      if (reattached?.kind === 'finished') {
        request.onStarted?.({ sandbox: this.name, jobId: reattached.jobId });
        mirror.sync();
        this.finish(request, files, reattached.result);
        return reattached.result;
      }
      if (reattached) {
        jobId = reattached.jobId;
      } else {
        const submitted = await this.submit(request, files);
        if ('error' in submitted) {
          writeFileSync(request.logPath, `ai-researcher: sbatch failed: ${submitted.error}\n`);
          return result({ exitCode: null, infrastructureError: `sbatch failed: ${submitted.error}` });
        }
        jobId = submitted.jobId;
      }
    } catch (error) {
      return result({ exitCode: null, infrastructureError: describeError(error) });
    }
    request.onStarted?.({ sandbox: this.name, jobId });

    const outcome = await this.follow(jobId, request, files, mirror);
    mirror.sync();
    const begin = readNumber(files.started);
    const end = readNumber(files.ended);
    const final = result({
      ...outcome,
      // The command's own time, not the time it spent queued.
      durationMs: begin !== null && end !== null && end >= begin ? end - begin : Date.now() - (begin ?? started),
    });
    this.finish(request, files, final);
    return final;
  }

  async reap(handles: SandboxHandle[]): Promise<void> {
    // Kept, not cancelled: `run` re-attaches to them when the loop asks for the same steps again.
    for (const handle of handles) {
      if (handle.sandbox === this.name && handle.jobId) this.inherited.add(handle.jobId);
    }
  }

  async close(): Promise<void> {
    const leftover = [...this.inherited, ...this.following];
    this.inherited.clear();
    if (leftover.length) {
      const queue = await slurm('squeue', ['--noheader', `--jobs=${leftover.join(',')}`, `--format=${QUEUE_FORMAT}`]);
      const live = parseQueue(queue.ok ? queue.stdout : '').filter((job) => isLive(job.state));
      for (const job of live) await cancelJob(job.id);
      await this.waitUntilGone(live.map((job) => job.id));
    }
    for (const root of this.stageRoots) rmSync(root, { recursive: true, force: true });
    this.stageRoots.clear();
  }

  // ─── steps ───────────────────────────────────────────────────────────────────────────────

  /** Slurm job name of a step: the key a restarted researcher finds its jobs by. */
  jobName(request: Pick<SandboxRequest, 'runId' | 'ideaId' | 'seed'>, kind: SandboxRequest['kind']): string {
    return `researcher-${request.runId}-i${request.ideaId}-s${request.seed}-${kind}`;
  }

  /**
   * A job of a killed researcher for this very step: still live (attach to it), or finished while
   * nobody watched (take its result). Null when the step must be submitted.
   */
  private async reattach(request: SandboxRequest, files: StepFiles): Promise<Reattached | null> {
    const name = this.jobName(request, request.kind);
    const evaluateName = this.jobName(request, 'evaluate');
    const live = await liveJobsNamed(request.kind === 'run' ? [name, evaluateName] : [name]);
    const mine = await claimOldest(
      slurmScheduler,
      live.filter((job) => job.name === name),
    );
    if (mine) {
      this.inherited.delete(mine.id);
      return { kind: 'live', jobId: mine.id };
    }
    const recorded = readText(files.jobId);
    if (request.kind === 'run') {
      // The evaluator of this seed was running: the run step had finished, its result is staged.
      const evaluating = live.find((job) => job.name === evaluateName);
      const evaluatorId = readText(stepFiles(files.seedDir, 'evaluate').jobId);
      const staged = readText(files.result);
      if (staged && recorded && (evaluating || (evaluatorId && this.inherited.has(evaluatorId)))) {
        return { kind: 'finished', jobId: recorded, result: { ...JSON.parse(staged), logPath: request.logPath } };
      }
      // An evaluator without its run's result cannot be trusted; the stage is about to be redone.
      if (evaluating) await cancelJob(evaluating.id);
    }
    if (recorded && this.inherited.has(recorded)) {
      this.inherited.delete(recorded);
      const exitCode = readNumber(files.exit);
      if (exitCode !== null) {
        const begin = readNumber(files.started);
        const end = readNumber(files.ended);
        return {
          kind: 'finished',
          jobId: recorded,
          result: {
            exitCode,
            timedOut: false,
            oomKilled: false,
            interrupted: false,
            durationMs: begin !== null && end !== null ? Math.max(0, end - begin) : 0,
            logPath: request.logPath,
          },
        };
      }
    }
    return null;
  }

  private async submit(request: SandboxRequest, files: StepFiles): Promise<{ jobId: string } | { error: string }> {
    // A fresh stage: whatever an earlier attempt of this step left is stale.
    if (request.kind === 'run') rmSync(files.seedDir, { recursive: true, force: true });
    else rmSync(files.dir, { recursive: true, force: true });
    for (const dir of [files.dir, files.home, files.outputs]) mkdirSync(dir, { recursive: true });
    copyContents(request.workDir, files.work);
    if (request.kind === 'evaluate') {
      mkdirSync(files.evalOut, { recursive: true });
      // What the run step left here is not what the evaluator may see: stage the clean copy it is given.
      snapshotOutputs(request.outputDir, files.outputs);
    }

    const env = jobEnvironment(request, files);
    const scripts = batchScripts({
      title: `${request.kind} step of idea ${request.ideaId}, seed ${request.seed} (run ${request.runId})`,
      files,
      env,
      setup: this.settings?.setup ?? [],
      command: request.step.command,
      // On the node, the same isolation as the local sandbox, where bubblewrap is installed.
      isolation: this.container || this.isolation === 'off' ? undefined : stepIsolation(request, files, env, this.isolation === 'required'),
      container: this.container && {
        ...this.container,
        gpus: request.resources.gpus > 0,
        bind: path.dirname(path.dirname(files.seedDir)),
      },
    });
    writeFileSync(files.script, scripts.job, { mode: 0o755 });
    writeFileSync(files.stepScript, scripts.step, { mode: 0o755 });

    const name = this.jobName(request, request.kind);
    const args = [
      '--parsable',
      `--job-name=${name}`,
      '--export=NONE',
      `--output=${files.log}`,
      `--chdir=${files.dir}`,
      // A requeued job would run twice into one stage; a node failure is reported instead.
      '--no-requeue',
      ...resourceOptions(request.resources, request.step.timeout, this.placement),
      files.script,
    ];
    const submitted = await submitOnce(slurmScheduler, {
      name,
      attempts: 5,
      backoff: (attempt) => sleep(1000 * 2 ** attempt, request.signal),
      signal: request.signal,
      send: async () => {
        const result = await slurm('sbatch', args);
        if (result.ok) {
          const jobId = firstLine(result.stdout).split(';')[0];
          if (/^\d+(_\d+)?$/.test(jobId)) return { jobId };
          return { error: `unexpected sbatch output "${firstLine(result.stdout)}"`, transient: false };
        }
        const error = result.stderr
          .split('\n')
          .map((line) => line.replace(/^sbatch: error: /, '').trim())
          .filter(Boolean)
          .join('; ');
        return { error, transient: TRANSIENT.test(error) };
      },
    });
    return 'jobId' in submitted ? this.recordSubmission(files, submitted.jobId) : submitted;
  }

  private recordSubmission(files: StepFiles, jobId: string): { jobId: string } {
    writeFileSync(files.jobId, `${jobId}\n`);
    return { jobId };
  }

  /** Waits for the job to end, cancelling it on Ctrl-C or when it passes its time limit. */
  private async follow(jobId: string, request: SandboxRequest, files: StepFiles, mirror: { sync(): void }): Promise<Outcome> {
    this.following.add(jobId);
    const { cancelled, last, state } = await followJob({
      scheduler: slurmScheduler,
      board: this.board,
      jobId,
      signal: request.signal,
      // Counted from when the batch script began the command, not from the submission.
      timeoutMs: request.step.timeout,
      startedAt: () => readNumber(files.started),
      exitRecorded: () => readNumber(files.exit) !== null,
      afterPoll: () => mirror.sync(),
    }).finally(() => this.following.delete(jobId));
    let exitCode = readNumber(files.exit);
    if (exitCode === null && !cancelled && (state === 'COMPLETED' || state === 'FAILED')) {
      // The job ended by itself: its exit file may still be on its way through the shared file system.
      const deadline = Date.now() + EXIT_FILE_WAIT_MS;
      while (exitCode === null && Date.now() < deadline) {
        await sleep(1000);
        exitCode = readNumber(files.exit);
      }
    }

    const outcome: Outcome = { exitCode, timedOut: false, oomKilled: false, interrupted: false };
    if (cancelled === 'interrupt') return { ...outcome, interrupted: true };
    if (cancelled === 'timeout' || state === 'TIMEOUT') return { ...outcome, timedOut: true };
    if (state === 'OUT_OF_MEMORY') return { ...outcome, oomKilled: true };
    if (exitCode !== null) return outcome;
    const why =
      state === 'CANCELLED'
        ? 'was cancelled outside the researcher (scancel, or an administrator)'
        : `ended ${state ?? 'in an unknown state'}${last?.reason && last.reason !== 'None' ? ` (${last.reason})` : ''} without recording an exit status`;
    return { ...outcome, infrastructureError: `Slurm job ${jobId} ${why}; see ${files.log}` };
  }

  /** Copies the step's outputs back next to the idea and tidies its stage. */
  private finish(request: SandboxRequest, files: StepFiles, result: SandboxResult): void {
    try {
      // Regular files and folders only: no link a job left is followed or recreated on this machine.
      if (request.kind === 'run') snapshotOutputs(files.outputs, request.outputDir);
      else if (request.evalDir) snapshotOutputs(files.evalOut, request.evalDir);
      if (!result.interrupted && !result.infrastructureError) {
        const { logPath: _logPath, ...kept } = result;
        writeFileSync(files.result, JSON.stringify(kept));
      }
      // The code copies go. The run step's outputs stay while its evaluator may still read them
      // (they are back in the run folder already); a stopped step's stage is left for resume.
      rmSync(files.work, { recursive: true, force: true });
      rmSync(files.home, { recursive: true, force: true });
      const succeeded = result.exitCode === 0 && !result.timedOut && !result.oomKilled && !result.infrastructureError;
      const evaluatorNext = request.kind === 'run' && succeeded && this.evaluatorFollows;
      if (!result.interrupted && !evaluatorNext) rmSync(files.seedDir, { recursive: true, force: true });
    } catch (error) {
      // Tidying is best effort; the result stands.
      process.emitWarning(`slurm sandbox: could not tidy ${files.dir}: ${describeError(error)}`);
    }
  }

  private async waitUntilGone(jobIds: string[]): Promise<void> {
    const deadline = Date.now() + CANCEL_WAIT_MS;
    let pending = jobIds;
    while (pending.length && Date.now() < deadline) {
      const queue = await slurm('squeue', ['--noheader', `--jobs=${pending.join(',')}`, `--format=${QUEUE_FORMAT}`]);
      if (!queue.ok && !/invalid job id/i.test(queue.stderr)) return;
      pending = parseQueue(queue.ok ? queue.stdout : '')
        .filter((job) => isLive(job.state))
        .map((job) => job.id);
      if (pending.length) await sleep(500);
    }
  }
}
