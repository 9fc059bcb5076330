/**
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
 */
import {
  accessSync,
  closeSync,
  constants,
  cpSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { z } from 'zod';
import { ConfigError, SandboxError, UsageError, describeError } from '../core/errors.ts';
import type { Sandbox, SandboxHandle, SandboxRequest, SandboxResult } from '../core/interfaces.ts';
import type { Environment } from '../environment/load.ts';
import type { Resources, SlurmSettings } from '../environment/schema.ts';
import { sandboxResult } from './result.ts';
import { readFileNoFollow } from '../reward/safe-read.ts';
import { snapshotOutputs } from '../reward/snapshot.ts';
import { sleep } from '../core/sleep.ts';
import { sandboxEnvironment } from './environment-variables.ts';

/** `--sandbox slurm` options from the command line (stored in the run's sandboxOptions). */
export const SlurmOptions = z.object({
  /** A folder every node of the cluster sees at the same path. */
  sharedDir: z.string().min(1).optional(),
  partition: z.string().min(1).optional(),
  account: z.string().min(1).optional(),
  qos: z.string().min(1).optional(),
  /** How often job states are polled while jobs are young (ms); polls slow down 5× after 30 s. */
  pollMs: z.number().int().positive().optional(),
});
export type SlurmOptions = z.output<typeof SlurmOptions>;

/** Where the stage of every run lives inside the shared folder. */
export const STAGE_FOLDER = 'researcher-jobs';

/** Job states after which a job never runs again. Anything else (PENDING, RUNNING, COMPLETING, …) is live. */
const TERMINAL_STATES = new Set([
  'BOOT_FAIL',
  'CANCELLED',
  'COMPLETED',
  'DEADLINE',
  'FAILED',
  'NODE_FAIL',
  'OUT_OF_MEMORY',
  'PREEMPTED',
  'REVOKED',
  'SPECIAL_EXIT',
  'TIMEOUT',
]);

/** sbatch options the sandbox sets itself; an environment's `slurm.sbatchArgs` may not. */
const RESERVED_OPTIONS = ['--export', '--output', '--error', '--chdir', '--job-name', '--wrap', '--parsable', '--time', '--requeue', '--no-requeue'];

/** Errors after which an sbatch/scancel call is worth retrying. */
const TRANSIENT = /socket timed out|unable to contact slurm controller|temporarily unable|resource temporarily unavailable|connection refused|zero bytes were transmitted|try again/i;

const SLOW_POLL_AFTER_MS = 30_000;
/** How long to wait for a cancelled job to leave the queue (KillWait is 30 s by default). */
const CANCEL_WAIT_MS = 120_000;
/** How long to wait for an exit file that a shared file system has not shown us yet. */
const EXIT_FILE_WAIT_MS = 30_000;

// ─── the slurm commands ─────────────────────────────────────────────────────────────────────

interface CommandResult {
  ok: boolean;
  stdout: string;
  stderr: string;
  /** The command is not installed. */
  missing: boolean;
}

/**
 * The environment the Slurm client commands see: enough to find the cluster and the user's
 * sbatch defaults (SBATCH_ACCOUNT, …), nothing else of the researcher's.
 */
function clientEnvironment(host: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(host)) {
    if (value === undefined) continue;
    const basic = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'TZ'].includes(name);
    const slurm = name === 'SLURM_CONF' || name === 'SLURM_CLUSTERS' || (name.startsWith('SBATCH_') && !/KEY|TOKEN|SECRET|PASSWORD/i.test(name));
    if (basic || slurm) env[name] = value;
  }
  return env;
}

async function slurm(command: string, args: string[], timeoutMs = 60_000): Promise<CommandResult> {
  const result = await execa(command, args, {
    env: clientEnvironment(),
    extendEnv: false,
    stdin: 'ignore',
    reject: false,
    timeout: timeoutMs,
  });
  const missing = (result as { code?: string }).code === 'ENOENT';
  return {
    ok: !result.failed && result.exitCode === 0,
    stdout: String(result.stdout ?? ''),
    stderr: missing ? `${command}: command not found` : String(result.stderr ?? '').trim() || String(result.message ?? ''),
    missing,
  };
}

/** Whether an executable of this name is on PATH (without running it: Slurm clients wait a minute for a missing slurm.conf). */
function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => {
    try {
      accessSync(path.join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function firstLine(text: string): string {
  return text.split('\n').find((line) => line.trim())?.trim() ?? '';
}


export interface JobInfo {
  id: string;
  /** First word of the state: RUNNING, COMPLETED, CANCELLED, … */
  state: string;
  name: string;
  reason: string;
}

function isLive(state: string): boolean {
  return !TERMINAL_STATES.has(state);
}

function parseQueue(stdout: string): JobInfo[] {
  const jobs: JobInfo[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.trim()) continue;
    const [id, state, reason, ...name] = line.trim().split('|');
    jobs.push({ id, state: state.split(/\s+/)[0], reason, name: name.join('|') });
  }
  return jobs;
}

const QUEUE_FORMAT = '%i|%T|%r|%j';

/** The user's live jobs with these exact names. */
async function liveJobsNamed(names: string[]): Promise<JobInfo[]> {
  let error = '';
  for (let attempt = 0; attempt < 4; attempt++) {
    if (attempt > 0) await sleep(1000 * 2 ** attempt);
    const result = await slurm('squeue', ['--me', '--noheader', `--name=${names.join(',')}`, `--format=${QUEUE_FORMAT}`]);
    if (result.ok) return parseQueue(result.stdout).filter((job) => names.includes(job.name) && isLive(job.state));
    error = firstLine(result.stderr);
  }
  throw new SandboxError(`squeue failed: ${error}`);
}

async function cancelJob(jobId: string): Promise<boolean> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const result = await slurm('scancel', [jobId]);
    if (result.ok) return true;
    if (!TRANSIENT.test(result.stderr)) return false;
    await sleep(1000 * 2 ** attempt);
  }
  return false;
}

/**
 * One poller for every job this process follows: a single `squeue -t all -j <ids>` per tick,
 * however many ideas are in flight, so a big sweep does not hammer the controller.
 */
class JobBoard {
  private readonly ids = new Set<string>();
  private readonly latest = new Map<string, JobInfo>();
  private waiters: (() => void)[] = [];
  private timer: NodeJS.Timeout | null = null;
  private polling = false;
  private lastWatchAt = 0;
  /** Why the last poll failed (controller unreachable), or null. */
  unreachable: string | null = null;

  constructor(private readonly pollMs: number) {}

  watch(jobId: string): void {
    this.ids.add(jobId);
    this.lastWatchAt = Date.now();
    this.schedule(0);
  }

  unwatch(jobId: string): void {
    this.ids.delete(jobId);
    this.latest.delete(jobId);
  }

  /** The job as the last poll saw it; undefined when squeue no longer knows it. */
  info(jobId: string): JobInfo | undefined {
    return this.latest.get(jobId);
  }

  /** Resolves after the next poll (or when `signal` fires). */
  nextPoll(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.push(done);
      signal?.addEventListener('abort', done, { once: true });
      this.schedule(this.interval());
    });
  }

  private interval(): number {
    return Date.now() - this.lastWatchAt < SLOW_POLL_AFTER_MS ? this.pollMs : this.pollMs * 5;
  }

  private schedule(delayMs: number): void {
    if (this.timer || this.polling) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.poll();
    }, delayMs);
  }

  private async poll(): Promise<void> {
    this.polling = true;
    // Only callers waiting before this poll began get its answer; later ones wait for the next.
    const waiters = this.waiters;
    this.waiters = [];
    try {
      const ids = [...this.ids];
      if (ids.length) {
        const result = await slurm('squeue', ['--noheader', '--states=all', `--jobs=${ids.join(',')}`, `--format=${QUEUE_FORMAT}`]);
        // Every id unknown (purged after MinJobAge) makes squeue fail with this message.
        if (result.ok || /invalid job id/i.test(result.stderr)) {
          this.unreachable = null;
          const seen = new Map(parseQueue(result.ok ? result.stdout : '').map((job) => [job.id, job]));
          for (const id of ids) {
            const job = seen.get(id);
            if (job) this.latest.set(id, job);
            else this.latest.delete(id);
          }
        } else {
          this.unreachable = firstLine(result.stderr) || 'squeue failed';
        }
      }
    } finally {
      this.polling = false;
      for (const resolve of waiters) resolve();
      if (this.waiters.length) this.schedule(this.interval());
    }
  }
}

// ─── staging on the shared folder ──────────────────────────────────────────────────────────

interface StepFiles {
  /** The idea-and-seed folder: outputs are shared by its run and evaluate steps. */
  seedDir: string;
  /** The step's own folder (run/ or evaluate/). */
  dir: string;
  work: string;
  home: string;
  outputs: string;
  /** $EVAL_DIR of the evaluate step. */
  evalOut: string;
  script: string;
  stepScript: string;
  log: string;
  jobId: string;
  started: string;
  ended: string;
  exit: string;
  result: string;
}

function stepFiles(seedDir: string, kind: SandboxRequest['kind']): StepFiles {
  const dir = path.join(seedDir, kind);
  return {
    seedDir,
    dir,
    work: path.join(dir, 'work'),
    home: path.join(dir, 'home'),
    outputs: path.join(seedDir, 'outputs'),
    evalOut: path.join(dir, 'eval'),
    script: path.join(dir, 'job.sh'),
    stepScript: path.join(dir, 'step.sh'),
    log: path.join(dir, 'job.log'),
    jobId: path.join(dir, 'job-id'),
    started: path.join(dir, 'started'),
    ended: path.join(dir, 'ended'),
    exit: path.join(dir, 'exit'),
    result: path.join(dir, 'result.json'),
  };
}

/** A small stage file (job id, exit status, times): never through a link, from a fifo, or whole when huge. */
function readText(file: string): string | null {
  const read = readFileNoFollow(file, { maxBytes: 64 * 1024 });
  return read.ok ? read.text.trim() : null;
}

function readNumber(file: string): number | null {
  const text = readText(file);
  if (text === null || !/^-?\d+$/.test(text)) return null;
  return Number(text);
}

/** Copies a folder's contents (not a worktree's `.git` link, which points off the shared folder). */
function copyContents(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  if (!existsSync(from)) return;
  cpSync(from, to, {
    recursive: true,
    force: true,
    filter: (source) => !(path.basename(source) === '.git' && path.dirname(source) === from),
  });
}

/** Appends what a job wrote to its staged log since the last call to the idea's log. */
class LogMirror {
  private offset = 0;
  constructor(
    private readonly from: string,
    private readonly to: string,
  ) {}

  sync(): void {
    let source: number;
    try {
      source = openSync(this.from, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK); // the job could swap in a link or fifo
    } catch {
      return; // the job has not started writing yet
    }
    try {
      const size = fstatSync(source).size;
      if (size <= this.offset) return;
      const target = openSync(this.to, 'a');
      try {
        const buffer = Buffer.alloc(Math.min(size - this.offset, 1 << 20));
        while (this.offset < size) {
          const read = readSync(source, buffer, 0, Math.min(buffer.length, size - this.offset), this.offset);
          if (read <= 0) break;
          writeSync(target, buffer, 0, read);
          this.offset += read;
        }
      } finally {
        closeSync(target);
      }
    } finally {
      closeSync(source);
    }
  }
}

// ─── the batch script ──────────────────────────────────────────────────────────────────────

/** A string as one bash word. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

export type ContainerRuntime = 'apptainer' | 'pyxis';

/** Apptainer for .sif files and apptainer URIs; pyxis (enroot) for .sqsh files and registry names. */
export function containerRuntime(container: string, explicit?: ContainerRuntime): ContainerRuntime {
  if (explicit) return explicit;
  if (/\.(sif|simg)$/i.test(container) || /^(docker|docker-archive|oras|library|shub|oci-archive):\/\//.test(container)) return 'apptainer';
  return 'pyxis';
}

export interface ScriptInput {
  /** What the script's comment says it is. */
  title: string;
  files: Pick<StepFiles, 'started' | 'ended' | 'exit' | 'stepScript' | 'work'>;
  /** The step's variables, from the sandbox environment builder. */
  env: Record<string, string>;
  setup: string[];
  command: string;
  container?: { image: string; runtime: ContainerRuntime; gpus: boolean; bind: string };
}

/** Variables of the job's own environment that reach the step: Slurm's, and the GPUs it picked. */
const KEPT_FROM_JOB = 'SLURM_*=*|SLURMD_*=*|CUDA_VISIBLE_DEVICES=*|GPU_DEVICE_ORDINAL=*|ROCR_VISIBLE_DEVICES=*|TMPDIR=*';

/**
 * The batch script (job.sh) and the step script it runs (step.sh). job.sh records when the step
 * started and ended and its exit status on the shared folder, so the researcher can tell a
 * job's outcome without accounting storage, and after a restart.
 */
export function batchScripts(input: ScriptInput): { job: string; step: string } {
  const { files } = input;
  const exports = Object.entries(input.env)
    .map(([name, value]) => `  ${shellQuote(`${name}=${value}`)} \\`)
    .join('\n');
  const job = `#!/bin/bash
# ${input.title}
# Written by ai-researcher. The step runs under env -i: only the variables listed here and
# Slurm's own reach it, never the login environment the job was started in.
keep=()
while IFS= read -r -d '' entry; do
  case "$entry" in
    SLURM_EXPORT_ENV=*|SLURM_GET_USER_ENV=*) ;;
    ${KEPT_FROM_JOB}) keep+=("$entry") ;;
  esac
done < <(env -0)
date +%s%3N > ${shellQuote(files.started)}
env -i "\${keep[@]}" \\
${exports}
  /bin/bash --noprofile --norc ${shellQuote(files.stepScript)}
status=$?
date +%s%3N > ${shellQuote(files.ended)}
printf '%s\\n' "$status" > ${shellQuote(`${files.exit}.tmp`)} && mv -f ${shellQuote(`${files.exit}.tmp`)} ${shellQuote(files.exit)}
exit "$status"
`;

  const lines = ['set -e', `cd ${shellQuote(files.work)}`];
  if (input.setup.length) lines.push('# set-up lines from environment.yaml (slurm.setup)', ...input.setup);
  lines.push('set +e');
  const command = shellQuote(input.command);
  const container = input.container;
  if (!container) {
    lines.push(`exec /bin/bash -c ${command}`);
  } else if (container.runtime === 'apptainer') {
    lines.push(
      'runtime="$(command -v apptainer || command -v singularity)" || {',
      `  echo "ai-researcher: neither apptainer nor singularity is on PATH on $(hostname); add a set-up line such as 'module load apptainer'" >&2`,
      '  exit 127',
      '}',
      `exec "$runtime" exec${container.gpus ? ' --nv' : ''} --bind ${shellQuote(container.bind)} --pwd ${shellQuote(files.work)} ${shellQuote(container.image)} /bin/bash -c ${command}`,
    );
  } else {
    // pyxis lives in srun. The step gets this (clean) environment: no --export=NONE inherited.
    lines.push(
      `exec srun --ntasks=1 --export=ALL --container-image=${shellQuote(container.image)} --container-mounts=${shellQuote(`${container.bind}:${container.bind}`)} --container-workdir=${shellQuote(files.work)} --no-container-mount-home /bin/bash -c ${command}`,
    );
  }
  return { job, step: `${lines.join('\n')}\n` };
}

/** The step's variables inside the job, with paths on the shared folder. */
export function jobEnvironment(
  request: SandboxRequest,
  files: Pick<StepFiles, 'work' | 'outputs' | 'evalOut' | 'home'>,
  host: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const env = sandboxEnvironment(
    request,
    { workDir: files.work, outputDir: files.outputs, evalDir: request.kind === 'evaluate' ? files.evalOut : undefined, home: files.home },
    host,
  );
  if (request.resources.gpus > 0) {
    // Slurm chose the GPUs (--gres) and set CUDA_VISIBLE_DEVICES in the job; the loop's empty
    // list would hide them. Without GPUs, the empty list stays: it hides any the node has.
    delete env.CUDA_VISIBLE_DEVICES;
    delete env.NVIDIA_VISIBLE_DEVICES;
  }
  return env;
}

// ─── sbatch options ────────────────────────────────────────────────────────────────────────

export interface Placement {
  partition?: string;
  account?: string;
  qos?: string;
  extra: string[];
}

/** `--time` in whole minutes: Slurm's limit is the backstop, our timer the exact one. */
export function timeLimitMinutes(timeoutMs: number): number {
  return Math.ceil(timeoutMs / 60_000) + 1;
}

/** The sbatch options for a step's resources and placement (what `--test-only` also checks). */
export function resourceOptions(resources: Resources, timeoutMs: number, placement: Placement): string[] {
  const options = ['--nodes=1', '--ntasks=1', `--time=${timeLimitMinutes(timeoutMs)}`];
  if (resources.cpus !== undefined) options.push(`--cpus-per-task=${Math.ceil(resources.cpus)}`);
  if (resources.memory !== undefined) options.push(`--mem=${Math.ceil(resources.memory / 2 ** 20)}M`);
  if (resources.gpus > 0) options.push(`--gres=gpu:${resources.gpus}`);
  if (placement.partition) options.push(`--partition=${placement.partition}`);
  if (placement.account) options.push(`--account=${placement.account}`);
  if (placement.qos) options.push(`--qos=${placement.qos}`);
  return [...options, ...placement.extra];
}

// ─── the sandbox ───────────────────────────────────────────────────────────────────────────

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
  private readonly placement: Placement;
  private readonly settings: SlurmSettings | undefined;
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
      const isFile = !/^[a-z-]+:\/\//.test(settings.container) && (/\.(sif|simg|sqsh)$/i.test(settings.container) || settings.container.startsWith('.'));
      const image = isFile && environment ? path.resolve(environment.dir, settings.container) : settings.container;
      this.container = { image, runtime };
    }
    this.board = new JobBoard(pollMs ?? 1000);
  }

  async preflight(request: { resources: Resources; gpus: string[]; image?: string }): Promise<void> {
    const sharedDir = this.sharedDir;
    if (!sharedDir) {
      throw new SandboxError(
        '--sandbox slurm needs --shared-dir DIR: a folder every node of the cluster sees at the same path (ideas\' code, outputs and logs are staged there)',
      );
    }
    if (!existsSync(sharedDir) || !statSync(sharedDir).isDirectory()) {
      throw new SandboxError(`--shared-dir ${sharedDir} is not a folder; create it on storage the cluster's nodes share`);
    }
    const probe = path.join(sharedDir, `.researcher-probe-${process.pid}`);
    try {
      writeFileSync(probe, 'probe');
      rmSync(probe, { force: true });
    } catch (error) {
      throw new SandboxError(`--shared-dir ${sharedDir} is not writable (${describeError(error)}); pick a folder you can write to`);
    }

    for (const command of ['sbatch', 'squeue', 'scancel']) {
      if (!onPath(command)) {
        throw new SandboxError(`Slurm's ${command} is not on PATH: run the researcher on a login node of the cluster (or install slurm-client)`);
      }
    }
    const ping = await slurm('squeue', ['--me', '--noheader', '--format=%i'], 20_000);
    if (!ping.ok) throw new SandboxError(`the Slurm controller does not answer (squeue: ${firstLine(ping.stderr)}); check the cluster, or SLURM_CONF`);

    if (this.placement.partition) {
      const partitions = await slurm('sinfo', ['--noheader', '--format=%R']);
      const known = partitions.stdout.split('\n').map((line) => line.trim()).filter(Boolean);
      if (partitions.ok && !known.includes(this.placement.partition)) {
        throw new SandboxError(`Slurm has no partition "${this.placement.partition}"; partitions: ${known.join(', ') || '(none)'}`);
      }
    }
    if (request.resources.gpus > 0) {
      const args = ['--noheader', '--format=%G', ...(this.placement.partition ? [`--partition=${this.placement.partition}`] : [])];
      const gres = await slurm('sinfo', args);
      if (gres.ok && !/gpu/i.test(gres.stdout)) {
        throw new SandboxError(
          `the environment needs ${request.resources.gpus} GPU(s) per run but no node${this.placement.partition ? ` of partition ${this.placement.partition}` : ''} offers a "gpu" gres; pick a GPU partition with --slurm-partition`,
        );
      }
    }
    if (this.container && (this.container.image.startsWith('/') || /\.(sif|simg|sqsh)$/i.test(this.container.image)) && !existsSync(this.container.image)) {
      throw new SandboxError(`slurm.container: ${this.container.image} does not exist; it must be on storage the cluster's nodes share`);
    }
    // Lets the controller judge the whole request (account, QOS, partition, limits) without queueing anything.
    const test = await slurm('sbatch', [
      '--test-only',
      '--export=NONE',
      `--chdir=${sharedDir}`,
      ...resourceOptions(request.resources, 60_000, this.placement),
      '--wrap=true',
    ]);
    if (!test.ok) {
      const message = test.stderr.split('\n').map((line) => line.replace(/^sbatch: error: /, '').trim()).filter(Boolean).join('; ');
      throw new SandboxError(`Slurm refuses the job settings (${message}); check --slurm-partition, --slurm-account, --slurm-qos and run.resources`);
    }
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
    const mirror = new LogMirror(files.log, request.logPath);

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
    const mine = live.filter((job) => job.name === name).sort((a, b) => Number(a.id) - Number(b.id));
    if (mine.length) {
      // Two live jobs for one step would be a double submission: keep the oldest.
      for (const duplicate of mine.slice(1)) await cancelJob(duplicate.id);
      this.inherited.delete(mine[0].id);
      return { kind: 'live', jobId: mine[0].id };
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
    let error = '';
    for (let attempt = 0; attempt < 5; attempt++) {
      if (attempt > 0) {
        await sleep(1000 * 2 ** attempt, request.signal);
        // A timed-out sbatch may have reached the controller after all.
        const already = await liveJobsNamed([name]).catch(() => []);
        if (already.length) return this.recordSubmission(files, already[0].id);
      }
      const result = await slurm('sbatch', args);
      if (result.ok) {
        const jobId = firstLine(result.stdout).split(';')[0];
        if (/^\d+(_\d+)?$/.test(jobId)) return this.recordSubmission(files, jobId);
        error = `unexpected sbatch output "${firstLine(result.stdout)}"`;
        break;
      }
      error = result.stderr.split('\n').map((line) => line.replace(/^sbatch: error: /, '').trim()).filter(Boolean).join('; ');
      if (!TRANSIENT.test(error) || request.signal?.aborted) break;
    }
    return { error };
  }

  private recordSubmission(files: StepFiles, jobId: string): { jobId: string } {
    writeFileSync(files.jobId, `${jobId}\n`);
    return { jobId };
  }

  /** Waits for the job to end, cancelling it on Ctrl-C or when it passes its time limit. */
  private async follow(jobId: string, request: SandboxRequest, files: StepFiles, mirror: LogMirror): Promise<Outcome> {
    const { signal } = request;
    let cancelled: 'interrupt' | 'timeout' | null = null;
    let cancelledAt = 0;
    let unknownSince: number | null = null;
    let last: JobInfo | undefined;
    this.following.add(jobId);
    this.board.watch(jobId);
    try {
      for (;;) {
        if (!cancelled && signal?.aborted) {
          cancelled = 'interrupt';
          cancelledAt = Date.now();
          await cancelJob(jobId);
        }
        const begin = readNumber(files.started);
        if (!cancelled && begin !== null && Date.now() - begin > request.step.timeout && readNumber(files.exit) === null) {
          cancelled = 'timeout';
          cancelledAt = Date.now();
          await cancelJob(jobId);
        }
        await this.board.nextPoll(cancelled ? undefined : signal);
        mirror.sync();
        if (this.board.unreachable) {
          // The controller is away; the job may well be running. Keep asking, unless we are
          // only waiting for a cancellation that cannot be confirmed.
          if (cancelled && Date.now() - cancelledAt > CANCEL_WAIT_MS) break;
          continue;
        }
        const info = this.board.info(jobId);
        if (info) {
          last = info;
          unknownSince = null;
          if (!isLive(info.state)) break;
          if (cancelled && Date.now() - cancelledAt > CANCEL_WAIT_MS) break;
          continue;
        }
        // squeue has forgotten the job (MinJobAge passed, or it never saw it finish).
        unknownSince ??= Date.now();
        if (readNumber(files.exit) !== null || Date.now() - unknownSince > EXIT_FILE_WAIT_MS) break;
      }
    } finally {
      this.board.unwatch(jobId);
      this.following.delete(jobId);
    }

    let state = last && !isLive(last.state) ? last.state : null;
    state ??= await this.accountingState(jobId);
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
    const why = state === 'CANCELLED' ? 'was cancelled outside the researcher (scancel, or an administrator)' : `ended ${state ?? 'in an unknown state'}${last?.reason && last.reason !== 'None' ? ` (${last.reason})` : ''} without recording an exit status`;
    return { ...outcome, infrastructureError: `Slurm job ${jobId} ${why}; see ${files.log}` };
  }

  /** The final state from sacct, when the cluster keeps accounting; null otherwise. */
  private async accountingState(jobId: string): Promise<string | null> {
    const result = await slurm('sacct', ['--noheader', '--parsable2', '--allocations', `--jobs=${jobId}`, '--format=State']);
    if (!result.ok) return null; // no accounting storage: the exit file decides
    const state = firstLine(result.stdout).split(/\s+/)[0];
    return state && TERMINAL_STATES.has(state) ? state : null;
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
      pending = parseQueue(queue.ok ? queue.stdout : '').filter((job) => isLive(job.state)).map((job) => job.id);
      if (pending.length) await sleep(500);
    }
  }
}

/** `--shared-dir`, `--slurm-partition`, `--slurm-account`, `--slurm-qos` → the run's sandboxOptions. */
export function slurmOptionsFromFlags(
  sandbox: string,
  flags: { sharedDir?: string; partition?: string; account?: string; qos?: string },
): Record<string, string> {
  const given = Object.entries(flags).filter((entry): entry is [string, string] => entry[1] !== undefined);
  if (given.length && sandbox !== 'slurm') {
    throw new UsageError('--shared-dir and --slurm-* only apply to --sandbox slurm');
  }
  return Object.fromEntries(given.map(([name, value]) => [name, name === 'sharedDir' ? path.resolve(value) : value]));
}
