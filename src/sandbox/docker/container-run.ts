/**
 * One attempt at a step in a container on one host: create it from the run's code image, copy in
 * what the idea changed, start it leashed to this process, stop it at its time limit or on Ctrl-C,
 * watch its host's health, and bring back what it wrote. A host that goes away is reported as
 * HostLostError, so the sandbox can run the step once more elsewhere.
 *
 * (About 400 lines on purpose: one container's life from create to remove, whose cleanup on every
 * path — time limit, Ctrl-C, a lost host — is only checkable when it is read in one place.)
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, chownSync, createWriteStream, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { SandboxError } from '../../core/errors.ts';
import type { SandboxRequest, SandboxResult } from '../../core/interfaces.ts';
import {
  CONTAINER_PATHS,
  changedFilesArchive,
  extractArchive,
  readOnlyOutputsArchive,
  type CodeSnapshot,
  type Owner,
} from '../code-transfer.ts';
import { sandboxEnvironment } from '../environment-variables.ts';
import { gpuDevice } from '../gpu-pool.ts';
import { sandboxResult } from '../result.ts';
import { stepDeadline, type StepDeadline } from '../step-deadline.ts';
import { HostLostError, SHORT_CALL_MS, shortMessage, statusOf, removeQuietly } from './connection.ts';
import { LABELS, type DockerEngine } from './engine.ts';
import type { ImageSpec } from './images.ts';
import type { Placement } from './placement.ts';

/**
 * PID 1 of every step container. Arguments: the step's command, then files to delete (an idea's
 * deletions relative to the base image). The command runs in the background with stdin closed;
 * a watchdog waits for EOF on the container's stdin, which the researcher holds open through an
 * attach: when the researcher dies, the watchdog kills every process of the container's user.
 * SIGTERM (`docker stop`, an engine shutting down) is passed on to the command, which PID 1
 * would otherwise ignore; the exit status is the command's.
 */
const LEASHED_COMMAND = [
  'exec 3<&0',
  'cmd=$1; shift',
  'if [ $# -gt 0 ]; then rm -rf -- "$@"; fi',
  'if command -v bash >/dev/null 2>&1; then shell=bash; else shell=sh; fi',
  '"$shell" -c "$cmd" </dev/null 3<&- &',
  'child=$!',
  '{ if cat <&3 >/dev/null; then kill -KILL -1; fi; } &',
  'exec 3<&-',
  'trap \'kill -TERM "$child" 2>/dev/null\' TERM INT',
  'wait "$child"; status=$?',
  'while kill -0 "$child" 2>/dev/null; do wait "$child"; status=$?; done',
  'exit "$status"',
].join('\n');

/** How often a running step checks that its host still answers, and how many misses mean lost. */
const HEALTH_CHECK_MS = 30_000;
const HEALTH_MISSES = 2;

/** The unprivileged user containers run as: the researcher's own uid:gid, or 1000:1000 when it runs as root. */
export function containerUser(): Owner {
  const uid = process.getuid?.() ?? 1000;
  const gid = process.getgid?.() ?? 1000;
  return uid === 0 ? { uid: 1000, gid: 1000 } : { uid, gid };
}

/** What a container run needs of its sandbox. */
export interface ContainerRunContext {
  /** The sandbox's name, as recorded in step handles. */
  sandboxName: string;
  /** The unprivileged user the container runs as. */
  user: Owner;
  /** The environment's image (each engine has made sure it has it). */
  image: ImageSpec;
  /** Containers created and not yet removed, by id: the sandbox removes them at close. */
  live: Map<string, DockerEngine>;
}

/** Runs the step once on the placement's host. Throws HostLostError when the host went away, SandboxError for our own errors. */
export async function runInContainer(
  context: ContainerRunContext,
  placement: Placement,
  request: SandboxRequest,
  snapshot: CodeSnapshot,
): Promise<SandboxResult> {
  const { engine } = placement;
  const lost = async (error: unknown, started: boolean): Promise<never> => {
    if (error instanceof HostLostError || error instanceof SandboxError) throw error;
    if (!(await engine.reachable())) throw new HostLostError(`the Docker host ${engine.label} went away (${shortMessage(error)})`, started);
    throw error;
  };

  let container: Docker.Container | undefined;
  try {
    const baseImage = await engine.ensureImage(context.image);
    for (let attempt = 0; !container; attempt++) {
      const codeImage = await engine.codeImage(request.runId, baseImage, snapshot, context.user, request.kind);
      try {
        container = await engine.docker.createContainer(createOptions(context.user, placement, request, snapshot, codeImage));
      } catch (error) {
        // The run's code image was removed under us (`sandbox prune`, a reset engine): make it again, once.
        if (statusOf(error) !== 404 || attempt > 0) throw error;
        engine.forgetCodeImage(codeImage);
      }
    }
  } catch (error) {
    return lost(error, false);
  }
  context.live.set(container.id, engine);
  request.onStarted?.({ sandbox: context.sandboxName, containerId: container.id, host: engine.spec.url });

  let leash: NodeJS.ReadWriteStream | undefined;
  let logs: { done(): Promise<void>; stop(): void } | undefined;
  const timers: NodeJS.Timeout[] = [];
  let deadline: StepDeadline | undefined;
  try {
    try {
      await copyIn(context.user, engine, container, request, snapshot);
      leash = await container.attach({ stream: true, stdin: true, hijack: true });
      leash.on('error', () => {}); // a broken leash is seen through wait() and the health checks
    } catch (error) {
      return await lost(error, false);
    }

    let hostSilent = false;
    const stopWaiting = new AbortController();
    const exited = container.wait({ condition: 'next-exit', abortSignal: stopWaiting.signal } as Docker.ContainerWaitOptions);
    exited.catch(() => {}); // awaited below
    let startedAt: number;
    try {
      await container.start();
      startedAt = Date.now();
    } catch (error) {
      return await lost(error, false);
    }

    const kill = () => {
      container.kill({ signal: 'SIGKILL', abortSignal: AbortSignal.timeout(SHORT_CALL_MS) } as object).catch(() => {});
    };
    // The limit counts from the container's start. Either stop kills it outright: its processes
    // die with PID 1, and the wait below returns.
    const watch = stepDeadline({ timeoutMs: request.step.timeout, signal: request.signal, onStop: kill });
    deadline = watch;
    let misses = 0;
    timers.push(
      setInterval(() => {
        engine.reachable(10_000).then((ok) => {
          misses = ok ? 0 : misses + 1;
          if (misses >= HEALTH_MISSES) {
            hostSilent = true;
            stopWaiting.abort();
          }
        });
      }, HEALTH_CHECK_MS),
    );
    logs = await followLogs(container, request.logPath, request.onOutput);

    let state: Docker.ContainerInspectInfo['State'];
    try {
      await exited;
      if (hostSilent) throw new Error(`no answer for ${(HEALTH_CHECK_MS * HEALTH_MISSES) / 1000}s`);
      await logs.done();
      state = (await container.inspect({ abortSignal: AbortSignal.timeout(SHORT_CALL_MS) } as object)).State;
    } catch (error) {
      if (watch.interrupted) return stepResult(request, startedAt, { interrupted: true });
      return await lost(hostSilent ? new Error(`no answer for ${(HEALTH_CHECK_MS * HEALTH_MISSES) / 1000}s`) : error, true);
    }
    const durationMs = Date.now() - startedAt;
    if (watch.interrupted) return stepResult(request, startedAt, { interrupted: true, durationMs });

    const oomKilled = !watch.timedOut && state.OOMKilled;
    if (!watch.timedOut && !oomKilled && state.ExitCode !== 0 && (await killedFromOutside(engine, container.id, state))) {
      // Someone else stopped it: the engine shutting down (the host then goes away), or an operator.
      if (await goesAway(engine)) throw new HostLostError(`the Docker host ${engine.label} stopped the container and went away`, true);
      return stepResult(request, startedAt, {
        exitCode: state.ExitCode,
        durationMs,
        infrastructureError: `the container was stopped from outside the researcher (docker stop/kill/rm on ${engine.label})`,
      });
    }
    try {
      await copyOut(engine, container, request);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOSPC') {
        return stepResult(request, startedAt, {
          exitCode: state.ExitCode,
          durationMs,
          infrastructureError: `this machine's disk is full: could not copy the ${request.kind} step's files back to ${request.kind === 'run' ? request.outputDir : request.evalDir}; free space and resume`,
        });
      }
      return await lost(error, true);
    }
    return stepResult(request, startedAt, { exitCode: state.ExitCode, timedOut: watch.timedOut, oomKilled, durationMs });
  } finally {
    for (const timer of timers) clearTimeout(timer);
    deadline?.dispose();
    logs?.stop();
    (leash as { destroy?: () => void } | undefined)?.destroy?.();
    await removeQuietly(container);
    context.live.delete(container.id);
  }
}

function stepResult(request: SandboxRequest, startedAt: number, fields: Partial<SandboxResult>): SandboxResult {
  return sandboxResult(request.logPath, startedAt, fields);
}

function createOptions(
  user: Owner,
  placement: Placement,
  request: SandboxRequest,
  snapshot: CodeSnapshot,
  image: string,
): Docker.ContainerCreateOptions {
  const { engine, gpus } = placement;
  const devices = gpus.map(gpuDevice);
  // Only variables the environment names reach the container; never secrets (see
  // environment-variables.ts), which matters doubly here: dockerode also sends Env in the URL.
  const named: NodeJS.ProcessEnv = {};
  for (const name of request.step.passEnv) if (process.env[name] !== undefined) named[name] = process.env[name];
  const env = sandboxEnvironment(
    request,
    {
      workDir: CONTAINER_PATHS.code,
      outputDir: CONTAINER_PATHS.outputs,
      evalDir: request.evalDir ? CONTAINER_PATHS.eval : undefined,
      home: CONTAINER_PATHS.home,
    },
    named,
  );
  if (!request.step.passEnv.includes('PATH')) delete env.PATH; // the image knows where its tools are
  // The container sees its GPUs as 0..n-1; the runtime picks the devices from DeviceRequests.
  env.CUDA_VISIBLE_DEVICES = devices.map((_, i) => String(i)).join(',');
  env.NVIDIA_VISIBLE_DEVICES = devices.length ? devices.join(',') : 'void';

  const { resources } = request;
  const mounts: Docker.MountSettings[] = [];
  if (engine.spec.transfer === 'mount') {
    const writable = request.kind === 'run' ? request.outputDir : request.evalDir;
    if (writable) giveToContainerUser(user, writable);
    mounts.push({
      Type: 'bind',
      Source: path.resolve(request.outputDir),
      Target: CONTAINER_PATHS.outputs,
      ReadOnly: request.kind !== 'run',
    });
    if (request.evalDir)
      mounts.push({ Type: 'bind', Source: path.resolve(request.evalDir), Target: CONTAINER_PATHS.eval, ReadOnly: false });
  }
  const deleted = snapshot.kind === 'git' ? snapshot.deleted : [];
  return {
    name: containerName(request),
    Image: image,
    Cmd: ['sh', '-c', LEASHED_COMMAND, 'ai-researcher-step', request.step.command, ...deleted],
    WorkingDir: CONTAINER_PATHS.code,
    User: `${user.uid}:${user.gid}`,
    Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
    Labels: {
      [LABELS.run]: request.runId,
      [LABELS.idea]: String(request.ideaId),
      [LABELS.seed]: String(request.seed),
      [LABELS.kind]: request.kind,
      [LABELS.owner]: `${os.hostname()}:${process.pid}`,
    },
    Tty: false,
    OpenStdin: true,
    StdinOnce: true,
    AttachStdin: true,
    AttachStdout: false,
    AttachStderr: false,
    HostConfig: {
      ...(request.network ? {} : { NetworkMode: 'none' }),
      Memory: resources.memory,
      MemorySwap: resources.memory, // no swap beyond the limit
      NanoCpus: resources.cpus ? Math.round(resources.cpus * 1e9) : undefined,
      ShmSize: resources.shm ?? (devices.length ? 2 * 2 ** 30 : undefined), // PyTorch data loaders need more than 64 MB
      PidsLimit: resources.pids ?? 4096,
      DeviceRequests: devices.length ? [{ Driver: 'nvidia', DeviceIDs: devices, Capabilities: [['gpu']] }] : undefined,
      Mounts: mounts.length ? mounts : undefined,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      AutoRemove: false,
    },
  };
}

/** Files the container needs beyond its image: the idea's changed files, the run's outputs (copy mode). */
async function copyIn(
  user: Owner,
  engine: DockerEngine,
  container: Docker.Container,
  request: SandboxRequest,
  snapshot: CodeSnapshot,
): Promise<void> {
  if (snapshot.kind === 'git' && snapshot.changed.length) {
    await container.putArchive(changedFilesArchive(snapshot.gitDir, snapshot.changed, user) as unknown as NodeJS.ReadableStream, {
      path: '/',
    });
  }
  if (engine.spec.transfer === 'copy' && request.kind === 'evaluate') {
    await container.putArchive(readOnlyOutputsArchive(request.outputDir) as unknown as NodeJS.ReadableStream, { path: '/' });
  }
}

/** What the step wrote, back to this machine (copy mode): the run's outputs, or the evaluator's metrics. */
async function copyOut(engine: DockerEngine, container: Docker.Container, request: SandboxRequest): Promise<void> {
  if (engine.spec.transfer !== 'copy') return;
  const [from, to] = request.kind === 'run' ? [CONTAINER_PATHS.outputs, request.outputDir] : [CONTAINER_PATHS.eval, request.evalDir];
  if (!to) return;
  await extractArchive(await container.getArchive({ path: from }), to);
}

/** When the researcher runs as root, the container's user must be able to write the mounted folder. */
function giveToContainerUser(user: Owner, dir: string): void {
  mkdirSync(dir, { recursive: true });
  if (process.getuid?.() === 0) chownSync(dir, user.uid, user.gid);
}

/**
 * Streams a container's stdout and stderr, demultiplexed, into the log file (and `onOutput`) as
 * they come. `done()`, called once the container exited, waits for the stream's end (at most
 * 10 s from then) and closes the file.
 */
async function followLogs(
  container: Docker.Container,
  logPath: string,
  onOutput?: (chunk: Buffer) => void,
): Promise<{ done(): Promise<void>; stop(): void }> {
  const file = createWriteStream(logPath, { flags: 'a' });
  file.on('error', () => {}); // a log that cannot be written must not end the sweep
  let stream: Readable;
  try {
    stream = (await container.logs({ follow: true, stdout: true, stderr: true })) as unknown as Readable;
  } catch {
    return { done: () => new Promise((resolve) => file.end(resolve)), stop: () => {} };
  }
  let closed = false;
  // demuxStream only ever calls write() on its sinks: a tee needs no stream machinery.
  const sink = {
    write: (chunk: Buffer) => {
      if (closed) return true;
      onOutput?.(chunk);
      return file.write(chunk);
    },
  };
  container.modem.demuxStream(stream, sink as unknown as NodeJS.WritableStream, sink as unknown as NodeJS.WritableStream);
  const ended = new Promise<void>((resolve) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', () => resolve());
  });
  // The stream ends when the container stops; demuxStream never ends its sinks, so close the file
  // here. The grace counts from the container's exit: counted from the start, it would cut the
  // log of every run longer than it (and the curve read from it).
  const done = () =>
    Promise.race([ended, new Promise<void>((resolve) => setTimeout(resolve, 10_000).unref())]).then(
      () =>
        new Promise<void>((resolve) => {
          closed = true;
          file.end(resolve);
        }),
    );
  const stop = () => {
    stream.destroy();
    if (closed) return;
    closed = true;
    file.end();
  };
  return { done, stop };
}

/**
 * Whether something other than the idea's code, the OOM killer or us stopped the container: a
 * `kill` event we did not send between its start and its exit, by the engine's own clock.
 */
async function killedFromOutside(engine: DockerEngine, containerId: string, state: Docker.ContainerInspectInfo['State']): Promise<boolean> {
  const seconds = (timestamp: string, shiftMs: number) => ((Date.parse(timestamp) + shiftMs) / 1000).toFixed(3);
  try {
    const events = await engine.docker.getEvents({
      since: seconds(state.StartedAt, -1000),
      until: seconds(state.FinishedAt, 50),
      filters: { container: [containerId], event: ['kill'] },
      abortSignal: AbortSignal.timeout(SHORT_CALL_MS),
    } as unknown as Docker.GetEventsOptions);
    let text = '';
    for await (const chunk of events as AsyncIterable<Buffer>) text += chunk.toString();
    return text.trim().length > 0;
  } catch {
    return !(await engine.reachable());
  }
}

/** Whether an engine stops answering within a while (an engine shutting down stops its containers first). */
async function goesAway(engine: DockerEngine, withinMs = 15_000): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (!(await engine.reachable(2_000))) return true;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return false;
}

export function note(logPath: string, message: string): void {
  appendFileSync(logPath, `\n[ai-researcher] ${message}\n`);
}

function containerName(request: SandboxRequest): string {
  const run =
    request.runId
      .replace(/[^A-Za-z0-9_.-]+/g, '-')
      .replace(/^[^A-Za-z0-9]+/, '')
      .slice(0, 60) || 'run';
  return `ai-researcher-${run}-${request.ideaId}-${request.seed}-${request.kind}-${randomBytes(3).toString('hex')}`;
}
