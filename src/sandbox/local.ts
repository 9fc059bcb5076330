/**
 * The local sandbox: runs a step as a process on this machine.
 *
 * Isolated (the default on Linux): the step runs under bubblewrap (see bubblewrap.ts) in the
 * idea's worktree (exactly its commit, its `.git` file masked), with its outputs folder, a private /tmp and HOME, its own PID
 * and network namespaces, as an unprivileged user, inside a cgroup that enforces `memory:` and
 * a process cap. It never sees the run folder, the run's database or repository, the evaluator
 * (unless it is the evaluate step, which gets it read-only) or any other idea.
 *
 * Unisolated (`--unisolated`, or the offline agent on a machine without bubblewrap): a plain
 * process in its own process group. Generated code then runs with the researcher's powers over
 * the file system; see the README's threat model.
 *
 * Either way:
 * - a clean environment (no API keys, no host variables unless named);
 * - a wall-clock limit that kills the whole process tree;
 * - output goes to a size-capped log (capped-log.ts), and the step ends when its process exits,
 *   never when its output pipe closes, so a stray background process cannot hold it open.
 */
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SandboxError } from '../core/errors.ts';
import type { Sandbox, SandboxHandle, SandboxRequest, SandboxResult } from '../core/interfaces.ts';
import { resolveInterpreter, sandboxInterpreter } from '../environment/interpreter.ts';
import type { Resources } from '../environment/schema.ts';
import { INSTALL_BUBBLEWRAP, SANDBOX_PATHS, bubblewrapArgs, bubblewrapStatus, type Mount } from './bubblewrap.ts';
import { CappedLog, DEFAULT_LOG_LIMIT_BYTES } from './capped-log.ts';
import { sandboxEnvironment } from './environment-variables.ts';
import { isSameProcess, killProcessGroup, processStartTime } from './processes.ts';
import { limitStep } from './resource-limits.ts';
import { sandboxResult } from './result.ts';
import { stepDeadline } from './step-deadline.ts';

/** How long a timed-out process group gets between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 2_000;

export type LocalIsolation = 'bubblewrap' | 'none';

export interface LocalSandboxOptions {
  /** 'bubblewrap' (default where it works) or 'none' (`--unisolated`). */
  isolation?: LocalIsolation;
  /** Log size cap in bytes. */
  logLimitBytes?: number;
}

/** System folders that exist inside the sandbox; PATH entries elsewhere are dropped there. */
const SANDBOX_PATH_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

export class LocalSandbox implements Sandbox {
  readonly name = 'local';
  readonly isolation: LocalIsolation;
  private readonly logLimitBytes: number;

  constructor(options: LocalSandboxOptions = {}) {
    this.isolation = options.isolation ?? (bubblewrapStatus().ok ? 'bubblewrap' : 'none');
    this.logLimitBytes = options.logLimitBytes ?? DEFAULT_LOG_LIMIT_BYTES;
  }

  async preflight(request: { resources: Resources; gpus: string[] }): Promise<void> {
    if (request.gpus.length === 0 && request.resources.gpus > 0) {
      throw new SandboxError(
        `the environment needs ${request.resources.gpus} GPU(s) per run but none were found; pass --gpus 0,1,… or run on a GPU machine`,
      );
    }
    if (this.isolation === 'bubblewrap') {
      const status = bubblewrapStatus();
      if (!status.ok) {
        throw new SandboxError(`this run isolates its steps with bubblewrap, but ${status.reason}: ${INSTALL_BUBBLEWRAP}`);
      }
    }
  }

  async run(request: SandboxRequest): Promise<SandboxResult> {
    mkdirSync(path.dirname(request.logPath), { recursive: true });
    mkdirSync(request.outputDir, { recursive: true });
    if (request.evalDir) mkdirSync(request.evalDir, { recursive: true });
    const scratch = mkdtempSync(path.join(os.tmpdir(), 'researcher-step-'));
    const log = new CappedLog(request.logPath, this.logLimitBytes); // the log exists even if the command never starts
    const limits = limitStep({ memoryBytes: request.resources.memory, pids: request.resources.pids });
    try {
      const { argv, env } = this.isolation === 'bubblewrap' ? this.isolated(request, scratch) : this.unisolated(request, scratch);
      return await this.execute(request, [...limits.prefix, ...argv], env, log, limits);
    } finally {
      log.close();
      limits.release();
      rmSync(scratch, { recursive: true, force: true });
    }
  }

  /** The bwrap command line: the step sees only what its layout binds. */
  private isolated(request: SandboxRequest, scratch: string): { argv: string[]; env: Record<string, string> } {
    const status = bubblewrapStatus();
    if (!status.ok) throw new SandboxError(`${status.reason}: ${INSTALL_BUBBLEWRAP}`);
    const mounts: Mount[] = [];
    if (request.kind === 'run') {
      // The idea's own worktree, exactly its commit (the workspace cleans it after the commit and
      // resets it between seeds), writable so the run may write next to its code. Its `.git`
      // file, the one path into the run's repository, is masked. (A private copy per seed was
      // measured: 13 s an idea on a 20,000-file repository; `npm run bench -- overhead`.)
      mounts.push({ host: request.workDir, inside: SANDBOX_PATHS.code, writable: true });
      if (existsSync(path.join(request.workDir, '.git'))) {
        const empty = path.join(scratch, 'empty');
        writeFileSync(empty, '');
        mounts.push({ host: empty, inside: `${SANDBOX_PATHS.code}/.git`, writable: false });
      }
      mounts.push({ host: request.outputDir, inside: SANDBOX_PATHS.outputs, writable: true });
    } else {
      // The evaluator reads the frozen evaluator and the run's outputs, and writes only its own folder.
      mounts.push({ host: request.workDir, inside: SANDBOX_PATHS.code, writable: false });
      mounts.push({ host: request.outputDir, inside: SANDBOX_PATHS.outputs, writable: false });
      if (request.evalDir) mounts.push({ host: request.evalDir, inside: SANDBOX_PATHS.eval, writable: true });
    }
    const env = sandboxEnvironment(request, {
      workDir: SANDBOX_PATHS.code,
      outputDir: SANDBOX_PATHS.outputs,
      evalDir: request.evalDir ? SANDBOX_PATHS.eval : undefined,
      home: SANDBOX_PATHS.home,
    });
    // The interpreter the researcher means (python: in environment.yaml, the active venv or conda,
    // else python3 on PATH resolved to its real installation): its folders are shown read-only and
    // its bin comes first; nothing else of the host's PATH exists inside.
    const interpreter = sandboxInterpreter(request.interpreter === undefined ? resolveInterpreter() : request.interpreter);
    env.PATH = [...(interpreter ? [interpreter.binDir] : []), ...SANDBOX_PATH_DIRS].join(':');
    env.TMPDIR = '/tmp';
    const args = bubblewrapArgs({
      mounts,
      chdir: SANDBOX_PATHS.code,
      network: request.network,
      gpus: request.gpus.length > 0,
      readOnlyPaths: [...(interpreter?.readOnlyDirs ?? []), ...(request.kind === 'run' ? (request.readOnly ?? []) : [])],
    });
    return { argv: [status.path, ...args, '/bin/bash', '-c', request.step.command], env };
  }

  private unisolated(request: SandboxRequest, scratch: string): { argv: string[]; env: Record<string, string> } {
    const home = path.join(scratch, 'home');
    mkdirSync(home);
    const env = sandboxEnvironment(request, { workDir: request.workDir, outputDir: request.outputDir, evalDir: request.evalDir, home });
    return { argv: ['bash', '-c', request.step.command], env };
  }

  private async execute(
    request: SandboxRequest,
    argv: string[],
    env: Record<string, string>,
    log: CappedLog,
    limits: { oomKilled(): boolean; mechanism: string },
  ): Promise<SandboxResult> {
    const started = Date.now();
    const child = spawn(argv[0], argv.slice(1), {
      cwd: this.isolation === 'bubblewrap' ? os.tmpdir() : request.workDir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so the whole tree can be killed at once
    });
    const output = (chunk: Buffer) => {
      log.write(chunk);
      request.onOutput?.(chunk); // before the cap: a curve's points are not lost in the log's dropped middle
    };
    child.stdout.on('data', output);
    child.stderr.on('data', output);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
      child.once('error', (error) => resolve({ code: null, signal: null, error }));
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    const pid = child.pid;
    if (pid === undefined) {
      const { error } = await exited;
      return sandboxResult(request.logPath, started, {
        exitCode: null,
        infrastructureError: `could not start ${argv[0]}: ${error?.message ?? 'unknown error'}`,
      });
    }
    request.onStarted?.({ sandbox: this.name, pid, pidStart: processStartTime(pid) ?? undefined });

    const killGroup = (signal: NodeJS.Signals) => killProcessGroup(pid, signal);
    const deadline = stepDeadline({
      timeoutMs: request.step.timeout,
      signal: request.signal,
      onStop: () => killGroup('SIGTERM'),
      escalation: { graceMs: KILL_GRACE_MS, onEscalate: () => killGroup('SIGKILL') },
    });

    const result = await exited;
    deadline.dispose();
    const { timedOut, interrupted } = deadline;
    // The step is its process: anything it left behind in its group goes now (under bubblewrap
    // the PID namespace is gone already), and output still in flight is not waited for.
    killGroup('SIGKILL');
    await drain(child.stdout, child.stderr);

    const oomKilled =
      !timedOut &&
      !interrupted &&
      (limits.oomKilled() ||
        (limits.mechanism === 'none' && result.signal === 'SIGKILL') ||
        (limits.mechanism === 'rlimit' && result.code !== 0 && outOfMemoryInLog(request.logPath)));
    return sandboxResult(request.logPath, started, {
      exitCode: result.code ?? (result.signal ? 128 + (os.constants.signals[result.signal] ?? 0) : null),
      timedOut,
      interrupted,
      oomKilled,
    });
  }

  async reap(handles: SandboxHandle[]): Promise<void> {
    for (const handle of handles) {
      if (handle.sandbox !== this.name || !handle.pid) continue;
      // Only kill the group if the pid still belongs to the process we started (pids get reused).
      if (isSameProcess(handle.pid, handle.pidStart)) {
        killProcessGroup(handle.pid, 'SIGKILL');
      }
    }
  }
}

/** Reads what is already in the pipes for a moment, then lets go of them. */
async function drain(...streams: Readable[]): Promise<void> {
  const ended = streams.map((stream) =>
    stream.readableEnded ? Promise.resolve() : new Promise<void>((resolve) => stream.once('end', resolve)),
  );
  await Promise.race([Promise.all(ended), new Promise<void>((resolve) => setTimeout(resolve, 200).unref())]);
  for (const stream of streams) stream.destroy();
}

function outOfMemoryInLog(logPath: string): boolean {
  try {
    const text = readFileSync(logPath, 'utf8').slice(-20_000);
    return /MemoryError|std::bad_alloc|Cannot allocate memory|out of memory/i.test(text);
  } catch {
    return false;
  }
}
