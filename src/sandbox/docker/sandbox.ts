/**
 * The Docker sandbox (dockerode): each step runs in its own container on one of the sweep's
 * Docker hosts, with exactly the GPUs it was given, no network unless the environment opts in,
 * memory/CPU/shm/pids limits, an unprivileged user, and no host environment variable it was
 * not meant to see.
 *
 * How code reaches a container, so that per-idea work does not grow with the repository: the
 * run's base commit is written once per run and host into an image (`git archive` streamed into
 * a container that is committed); an idea's container starts from that image and receives only
 * the files its commit changed (a small tar through the Docker API), and deletes the files it
 * deleted before its command starts. Outputs are bind-mounted when the engine runs on this
 * machine, and copied back as a tar from a remote host, so no shared file system is needed.
 *
 * Nothing outlives the researcher: every container carries labels naming its run, idea, seed and
 * step; it is removed when its step ends (time limit and Ctrl-C included); its command is
 * leashed to the researcher through stdin (when the researcher dies, even by `kill -9`, the
 * connection closes and the container kills its own processes); `resume` removes what a killed
 * researcher left by the ids it recorded, and the first container of a run on a host clears any
 * other container labelled with that run.
 *
 * A host that goes away mid-step (daemon stopped, connection lost) is marked lost and the step
 * runs once more on another host; a second loss is reported as an infrastructure failure.
 */
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, chownSync, closeSync, createWriteStream, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import Docker from 'dockerode';
import { z } from 'zod';
import { SandboxError, describeError } from '../../core/errors.ts';
import type { Sandbox, SandboxHandle, SandboxRequest, SandboxResult } from '../../core/interfaces.ts';
import type { Resources } from '../../environment/schema.ts';
import {
  CONTAINER_PATHS,
  baseCommitArchive,
  changedFilesArchive,
  contextArchive,
  emptyFolder,
  extractArchive,
  folderCodeArchive,
  readOnlyOutputsArchive,
  snapshotCode,
  type CodeSnapshot,
  type Owner,
} from '../code-transfer.ts';
import { sandboxResult } from '../result.ts';
import { DockerHostSpec, defaultDockerHost, displayUrl } from './hosts.ts';
import { sandboxEnvironment } from '../environment-variables.ts';
import { gpuDevice, gpuHost } from '../gpu-pool.ts';
import { isOurTag, resolveImage, runBuildScript, sandboxesDirs, type ImageRecipe, type ImageSpec } from './images.ts';

/** Labels on every container and image the sandbox makes. */
export const LABELS = {
  run: 'ai-researcher.run',
  idea: 'ai-researcher.idea',
  seed: 'ai-researcher.seed',
  kind: 'ai-researcher.kind',
  owner: 'ai-researcher.owner',
} as const;

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

/** Bumped when the layout of code images changes, so old ones are not reused. */
const CODE_IMAGE_VERSION = '1';
/** How long teardown calls (kill, remove, inspect) may take on a sick engine. */
const SHORT_CALL_MS = 30_000;
/** How often a running step checks that its host still answers, and how many misses mean lost. */
const HEALTH_CHECK_MS = 30_000;
const HEALTH_MISSES = 2;
/** A host marked lost is asked again after this long. */
const RETRY_LOST_HOST_MS = 30_000;

/** The unprivileged user containers run as: the researcher's own uid:gid, or 1000:1000 when it runs as root. */
export function containerUser(): Owner {
  const uid = process.getuid?.() ?? 1000;
  const gid = process.getgid?.() ?? 1000;
  return uid === 0 ? { uid: 1000, gid: 1000 } : { uid, gid };
}

/** A host stopped answering, or stopped the container itself: not the idea's fault. */
class HostLostError extends Error {
  constructor(
    message: string,
    /** Whether the step's command had started (a started step counts towards the one retry). */
    readonly started: boolean,
  ) {
    super(message);
  }
}

// ─── one engine ──────────────────────────────────────────────────────────────────────────────

/** One Docker engine and what the sandbox knows about it. */
export class DockerEngine {
  readonly docker: Docker;
  alive = true;
  lostAt = 0;
  /** Steps running on it now. */
  running = 0;
  /** Its GPUs, as GPU-pool ids ("0" on the default host, "gpu1/0" on a named one). */
  readonly gpus: string[] = [];
  private readonly images = new Map<string, Promise<string>>();
  private readonly codeImages = new Map<string, Promise<string>>();
  private readonly runsSwept = new Map<string, Promise<void>>();
  /** Code images this process made or reused, removed when the sandbox closes. */
  readonly codeImagesUsed = new Set<string>();

  constructor(readonly spec: DockerHostSpec) {
    this.docker = new Docker(dockerodeOptions(spec.url));
  }

  /** How the host appears in messages. */
  get label(): string {
    const url = displayUrl(this.spec.url);
    return this.spec.name ? `${this.spec.name} (${url})` : url;
  }

  async ping(timeoutMs = 10_000): Promise<void> {
    await (this.docker.ping as (options: object) => Promise<unknown>)({ abortSignal: AbortSignal.timeout(timeoutMs) });
  }

  async reachable(timeoutMs = 5_000): Promise<boolean> {
    try {
      await this.ping(timeoutMs);
      return true;
    } catch {
      return false;
    }
  }

  /** Pings, turning failure into an error that says which socket and what to do. */
  async checkReachable(): Promise<void> {
    try {
      await this.ping();
    } catch (error) {
      throw new SandboxError(unreachableMessage(this.spec, error));
    }
  }

  async info(): Promise<{ Runtimes?: Record<string, unknown>; DefaultRuntime?: string; ServerVersion?: string }> {
    return (this.docker.info as unknown as (options: object) => Promise<never>)({ abortSignal: AbortSignal.timeout(SHORT_CALL_MS) });
  }

  /** The image's id, or null when the engine does not have it. */
  async imageId(tag: string): Promise<string | null> {
    try {
      return (await this.docker.getImage(tag).inspect()).Id;
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw error;
    }
  }

  /** Makes sure the engine has the image (building or pulling it), once per process. Returns its id. */
  ensureImage(spec: ImageSpec): Promise<string> {
    let pending = this.images.get(spec.tag);
    if (!pending) {
      pending = this.provideImage(spec);
      this.images.set(spec.tag, pending);
      pending.catch(() => this.images.delete(spec.tag)); // let a later step try again
    }
    return pending;
  }

  private async provideImage(spec: ImageSpec): Promise<string> {
    const present = await this.imageId(spec.tag);
    if (present) return present;
    if (spec.recipe) {
      process.stderr.write(`building image ${spec.tag} on ${this.label} from ${path.relative(process.cwd(), spec.recipe.dir) || spec.recipe.dir}\n`);
      await this.build(spec.recipe, spec.tag);
    } else if (isOurTag(spec.tag)) {
      const name = /^ai-researcher\/([^:]+)/.exec(spec.tag)?.[1] ?? spec.tag;
      throw new SandboxError(
        `image ${spec.tag} is not on ${this.label} and there is no recipe to build it (no Dockerfile or build.sh in ${sandboxesDirs().map((dir) => path.join(path.relative(process.cwd(), dir) || '.', name)).join(' or ')})`,
      );
    } else {
      await this.pull(spec.tag);
    }
    const built = await this.imageId(spec.tag);
    if (!built) throw new SandboxError(`building ${spec.tag} on ${this.label} finished but the engine has no such image`);
    return built;
  }

  /** Builds a recipe into `tag` on this engine. */
  async build(recipe: ImageRecipe, tag: string, options: { force?: boolean } = {}): Promise<void> {
    if (recipe.kind === 'script') {
      await runBuildScript(recipe, this.spec.url, tag, options);
      return;
    }
    try {
      const stream = await this.docker.buildImage(contextArchive(recipe.dir) as unknown as NodeJS.ReadableStream, {
        t: tag,
        rm: true,
        forcerm: true,
        nocache: options.force ?? false,
        labels: { 'ai-researcher.recipe': recipe.name },
      });
      await followProgress(this.docker, stream, (line) => process.stderr.write(line));
    } catch (error) {
      throw new SandboxError(`building ${tag} from ${path.join(recipe.dir, 'Dockerfile')} on ${this.label} failed: ${engineMessage(this, error)}`);
    }
  }

  private async pull(tag: string): Promise<void> {
    process.stderr.write(`pulling image ${tag} on ${this.label}\n`);
    try {
      const stream = (await this.docker.pull(tag)) as NodeJS.ReadableStream;
      await followProgress(this.docker, stream);
    } catch (error) {
      throw new SandboxError(
        `image ${tag} is not on ${this.label} and could not be pulled (${engineMessage(this, error)}); load or build it there (docker load, docker build -t ${tag} …) or name a recipe under sandboxes/`,
      );
    }
  }

  /**
   * The image a step's code runs from: the environment's image plus the base commit (or the
   * plain folder) under /sandbox/code. Made once per run, host and code; reused by every idea.
   */
  codeImage(runId: string, baseImageId: string, snapshot: CodeSnapshot, user: Owner, kind: 'run' | 'evaluate'): Promise<string> {
    const source = snapshot.kind === 'git' ? `git ${snapshot.baseCommit}` : `folder ${snapshot.dir} ${snapshot.fingerprint}`;
    const key = createHash('sha256')
      .update([CODE_IMAGE_VERSION, source, baseImageId, `${user.uid}:${user.gid}`, kind].join('\n'))
      .digest('hex')
      .slice(0, 16);
    const tag = `${codeRepository(runId)}:${kind}-${key}`;
    let pending = this.codeImages.get(tag);
    if (!pending) {
      pending = this.makeCodeImage(runId, baseImageId, snapshot, user, kind, tag);
      this.codeImages.set(tag, pending);
      pending.catch(() => this.codeImages.delete(tag));
    }
    return pending;
  }

  private async makeCodeImage(runId: string, baseImageId: string, snapshot: CodeSnapshot, user: Owner, kind: 'run' | 'evaluate', tag: string): Promise<string> {
    await this.sweepRun(runId);
    this.codeImagesUsed.add(tag);
    if (await this.imageId(tag)) return tag;
    const archive =
      snapshot.kind === 'git' ? baseCommitArchive(snapshot.gitDir, snapshot.baseCommit, user, kind) : folderCodeArchive(snapshot.dir, user, kind);
    const prepare = await this.docker.createContainer({
      Image: baseImageId,
      Cmd: ['true'],
      Labels: { [LABELS.run]: runId, [LABELS.kind]: 'prepare', [LABELS.owner]: `${os.hostname()}:${process.pid}` },
      HostConfig: { NetworkMode: 'none' },
    });
    try {
      await prepare.putArchive(archive as unknown as NodeJS.ReadableStream, { path: '/' });
      const [repo, imageTag] = splitTag(tag);
      await prepare.commit({ repo, tag: imageTag, comment: `ai-researcher: ${kind} code of run ${runId}` });
    } finally {
      await removeQuietly(prepare);
    }
    return tag;
  }

  forgetCodeImage(tag: string): void {
    this.codeImages.delete(tag);
  }

  /** Once per run and process: removes containers of this run that an earlier process left. */
  sweepRun(runId: string): Promise<void> {
    let pending = this.runsSwept.get(runId);
    if (!pending) {
      pending = this.removeContainers({ label: [`${LABELS.run}=${runId}`] }).then(() => undefined);
      this.runsSwept.set(runId, pending);
      pending.catch(() => this.runsSwept.delete(runId));
    }
    return pending;
  }

  /** Removes every container matching the filters (running ones included). Returns how many. */
  async removeContainers(filters: Record<string, string[]>): Promise<number> {
    const found = await this.docker.listContainers({ all: true, filters, abortSignal: AbortSignal.timeout(SHORT_CALL_MS) } as object);
    for (const info of found) await removeQuietly(this.docker.getContainer(info.Id));
    return found.length;
  }

  /**
   * Removes what killed sweeps left: containers whose researcher (on this machine) is gone,
   * stopped ones of researchers elsewhere, and per-run code images no container uses.
   */
  async prune(): Promise<{ containers: number; images: number }> {
    const listed = await this.docker.listContainers({ all: true, filters: { label: [LABELS.run] } });
    let containers = 0;
    const inUse = new Set<string>();
    for (const info of listed) {
      const [host, pid] = (info.Labels[LABELS.owner] ?? '').split(':');
      const mine = host === os.hostname();
      const ownerAlive = mine && processExists(Number(pid));
      // A live sweep removes its own containers; one on another machine may still need a stopped one.
      if (!ownerAlive && (mine || info.State !== 'running')) {
        await removeQuietly(this.docker.getContainer(info.Id));
        containers++;
      } else {
        inUse.add(info.ImageID);
      }
    }
    const images = (await this.docker.listImages({ filters: { reference: ['ai-researcher-run/*'] } })).filter((image) => {
      const [host, pid] = (image.Labels?.[LABELS.owner] ?? '').split(':');
      return !inUse.has(image.Id) && !(host === os.hostname() && processExists(Number(pid))); // a live sweep still needs its images
    });
    await this.removeImages(images.flatMap((image) => image.RepoTags ?? [image.Id]));
    return { containers, images: images.length };
  }

  /** Removes images by tag, ignoring ones already gone or still in use. */
  async removeImages(tags: Iterable<string>): Promise<void> {
    for (const tag of tags) {
      try {
        await this.docker.getImage(tag).remove({ force: true, abortSignal: AbortSignal.timeout(SHORT_CALL_MS) } as object);
      } catch {
        // gone already, or the host is unreachable: nothing to free
      }
    }
  }
}

// ─── the sandbox ─────────────────────────────────────────────────────────────────────────────

export interface DockerSandboxOptions {
  /** The engines to run on; by default the one DOCKER_HOST names. */
  hosts?: DockerHostSpec[];
  /** Where image recipes are looked up (default: ./sandboxes and the shipped sandboxes/). */
  sandboxesDirs?: string[];
}

interface Placement {
  engine: DockerEngine;
  /** GPU-pool ids of the devices the step holds. */
  gpus: string[];
}

export class DockerSandbox implements Sandbox {
  readonly name = 'docker';
  readonly engines: DockerEngine[];
  readonly user = containerUser();
  private readonly recipesDirs: string[];
  private readonly imageSpecs = new Map<string, ImageSpec>();
  /** GPUs held by running steps (unless the environment lets runs share). */
  private readonly gpusInUse = new Set<string>();
  private readonly placementWaiters = new Set<() => void>();
  /** Containers this process created and has not removed yet. */
  private readonly live = new Map<string, DockerEngine>();
  /** Runs this process has run steps of (to clear their leftovers from a host that comes back). */
  private readonly runIds = new Set<string>();

  constructor(options: DockerSandboxOptions = {}) {
    const hosts = options.hosts?.length ? options.hosts : [defaultDockerHost()];
    this.engines = hosts.map((spec) => new DockerEngine(DockerHostSpec.parse(spec)));
    this.recipesDirs = options.sandboxesDirs ?? sandboxesDirs();
  }

  async preflight(request: { resources: Resources; gpus: string[]; image?: string }): Promise<void> {
    // Engines: all must answer when there is one; with several, the sweep goes on without the silent ones.
    const failures: string[] = [];
    for (const engine of this.engines) {
      try {
        await engine.checkReachable();
        engine.alive = true;
      } catch (error) {
        failures.push(describeError(error));
        this.markLost(engine);
      }
    }
    if (failures.length === this.engines.length) throw new SandboxError(failures.join('; '));
    for (const failure of failures) process.stderr.write(`warning: ${failure}; the sweep runs on the other hosts\n`);

    // GPUs: each id belongs to a host, and a host that gets GPU work needs the NVIDIA runtime.
    for (const id of request.gpus) this.registerGpu(id);
    if (request.resources.gpus > 0 && request.gpus.length === 0) {
      throw new SandboxError(
        `the environment needs ${request.resources.gpus} GPU(s) per run but no GPU was found: pass --gpus 0,1,… (or --docker-host URL#gpus=0,1), or run where nvidia-smi lists GPUs`,
      );
    }
    if (request.resources.gpus > 0 || request.gpus.length > 0) {
      for (const engine of this.engines) {
        if (!engine.alive || (this.engines.length > 1 && engine.gpus.length === 0)) continue;
        const info = await engine.info();
        if (!info.Runtimes || !('nvidia' in info.Runtimes)) {
          const why = request.resources.gpus > 0 ? `the environment needs ${request.resources.gpus} GPU(s) per run` : `--gpus ${request.gpus.join(',')} was given`;
          throw new SandboxError(
            `${why} but the Docker engine at ${engine.label} has no NVIDIA runtime (runtimes: ${Object.keys(info.Runtimes ?? {}).join(', ') || 'none'}): install the NVIDIA Container Toolkit (apt install nvidia-container-toolkit; nvidia-ctk runtime configure --runtime=docker) and restart dockerd`,
          );
        }
      }
    }

    // The image, on every engine that answers (built or pulled when missing).
    const spec = this.imageFor(request.image);
    for (const engine of this.engines.filter((e) => e.alive)) {
      try {
        await engine.ensureImage(spec);
      } catch (error) {
        if (error instanceof SandboxError) throw error;
        throw new SandboxError(`preparing image ${spec.tag} on ${engine.label}: ${engineMessage(engine, error)}`);
      }
    }
  }

  async run(request: SandboxRequest): Promise<SandboxResult> {
    const began = Date.now();
    mkdirSync(path.dirname(request.logPath), { recursive: true });
    closeSync(openSync(request.logPath, 'a')); // the log exists even if no container starts
    if (request.kind === 'run') emptyFolder(request.outputDir); // outputs are this run's alone
    else mkdirSync(request.outputDir, { recursive: true });
    if (request.evalDir) emptyFolder(request.evalDir);
    const result = (fields: Partial<SandboxResult>): SandboxResult => sandboxResult(request.logPath, began, fields);

    this.runIds.add(request.runId);
    let snapshot: CodeSnapshot;
    try {
      snapshot = await snapshotCode(request.workDir);
    } catch (error) {
      return result({ infrastructureError: `could not read the code in ${request.workDir}: ${describeError(error)}` });
    }

    let lostWhileRunning = false;
    for (;;) {
      if (request.signal?.aborted) return result({ interrupted: true });
      const placement = await this.place(request);
      if (placement === null) return result({ interrupted: true });
      if (typeof placement === 'string') return result({ infrastructureError: placement });
      try {
        return await this.runOn(placement, request, snapshot);
      } catch (error) {
        if (!(error instanceof HostLostError)) return result({ infrastructureError: engineMessage(placement.engine, error) });
        this.markLost(placement.engine);
        if (request.signal?.aborted) return result({ interrupted: true });
        if (error.started) {
          if (lostWhileRunning) return result({ infrastructureError: `${error.message}, for the second time` });
          lostWhileRunning = true;
          note(request.logPath, `${error.message}; running this ${request.kind} step again on another host`);
          if (request.kind === 'run') emptyFolder(request.outputDir);
          if (request.evalDir) emptyFolder(request.evalDir);
        }
      } finally {
        this.release(placement);
      }
    }
  }

  async reap(handles: SandboxHandle[]): Promise<void> {
    for (const handle of handles) {
      if (handle.sandbox !== this.name || !handle.containerId) continue;
      const engine =
        this.engines.find((e) => e.spec.url === handle.host) ??
        new DockerEngine({ url: handle.host ?? defaultDockerHost().url, name: '', transfer: 'copy' });
      try {
        await engine.docker.getContainer(handle.containerId).remove({ force: true, v: true, abortSignal: AbortSignal.timeout(SHORT_CALL_MS) } as object);
      } catch (error) {
        const status = statusOf(error);
        if (status !== 404 && status !== 409) {
          process.stderr.write(`warning: could not remove container ${handle.containerId.slice(0, 12)} on ${engine.label}: ${engineMessage(engine, error)}\n`);
        }
      }
    }
  }

  async close(): Promise<void> {
    for (const [id, engine] of this.live) await removeQuietly(engine.docker.getContainer(id));
    this.live.clear();
    for (const engine of this.engines) {
      if (engine.alive) await engine.removeImages(engine.codeImagesUsed);
      engine.codeImagesUsed.clear();
    }
  }

  // ─── one attempt on one engine ───────────────────────────────────────────────────────────

  private async runOn(placement: Placement, request: SandboxRequest, snapshot: CodeSnapshot): Promise<SandboxResult> {
    const { engine } = placement;
    const lost = async (error: unknown, started: boolean): Promise<never> => {
      if (error instanceof HostLostError || error instanceof SandboxError) throw error;
      if (!(await engine.reachable())) throw new HostLostError(`the Docker host ${engine.label} went away (${shortMessage(error)})`, started);
      throw error;
    };

    let container: Docker.Container | undefined;
    try {
      const baseImage = await engine.ensureImage(this.imageFor(request.image));
      for (let attempt = 0; !container; attempt++) {
        const codeImage = await engine.codeImage(request.runId, baseImage, snapshot, this.user, request.kind);
        try {
          container = await engine.docker.createContainer(this.createOptions(placement, request, snapshot, codeImage));
        } catch (error) {
          // The run's code image was removed under us (`sandbox prune`, a reset engine): make it again, once.
          if (statusOf(error) !== 404 || attempt > 0) throw error;
          engine.forgetCodeImage(codeImage);
        }
      }
    } catch (error) {
      return lost(error, false);
    }
    this.live.set(container.id, engine);
    request.onStarted?.({ sandbox: this.name, containerId: container.id, host: engine.spec.url });

    let leash: NodeJS.ReadWriteStream | undefined;
    let logs: { done: Promise<void>; stop(): void } | undefined;
    const timers: NodeJS.Timeout[] = [];
    let onAbort: (() => void) | undefined;
    try {
      try {
        await this.copyIn(engine, container, request, snapshot);
        leash = await container.attach({ stream: true, stdin: true, hijack: true });
        leash.on('error', () => {}); // a broken leash is seen through wait() and the health checks
      } catch (error) {
        return await lost(error, false);
      }

      let timedOut = false;
      let interrupted = false;
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
      timers.push(
        setTimeout(() => {
          timedOut = true;
          kill();
        }, request.step.timeout),
      );
      onAbort = () => {
        interrupted = true;
        kill();
      };
      request.signal?.addEventListener('abort', onAbort, { once: true });
      if (request.signal?.aborted) onAbort();
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
      logs = await followLogs(container, request.logPath);

      let state: Docker.ContainerInspectInfo['State'];
      try {
        await exited;
        if (hostSilent) throw new Error(`no answer for ${(HEALTH_CHECK_MS * HEALTH_MISSES) / 1000}s`);
        await logs.done;
        state = (await container.inspect({ abortSignal: AbortSignal.timeout(SHORT_CALL_MS) } as object)).State;
      } catch (error) {
        if (interrupted) return this.result(request, startedAt, { interrupted: true });
        return await lost(hostSilent ? new Error(`no answer for ${(HEALTH_CHECK_MS * HEALTH_MISSES) / 1000}s`) : error, true);
      }
      const durationMs = Date.now() - startedAt;
      if (interrupted) return this.result(request, startedAt, { interrupted: true, durationMs });

      const oomKilled = !timedOut && state.OOMKilled;
      if (!timedOut && !oomKilled && state.ExitCode !== 0 && (await killedFromOutside(engine, container.id, state))) {
        // Someone else stopped it: the engine shutting down (the host then goes away), or an operator.
        if (await goesAway(engine)) throw new HostLostError(`the Docker host ${engine.label} stopped the container and went away`, true);
        return this.result(request, startedAt, {
          exitCode: state.ExitCode,
          durationMs,
          infrastructureError: `the container was stopped from outside the researcher (docker stop/kill/rm on ${engine.label})`,
        });
      }
      try {
        await this.copyOut(engine, container, request);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOSPC') {
          return this.result(request, startedAt, {
            exitCode: state.ExitCode,
            durationMs,
            infrastructureError: `this machine's disk is full: could not copy the ${request.kind} step's files back to ${request.kind === 'run' ? request.outputDir : request.evalDir}; free space and resume`,
          });
        }
        return await lost(error, true);
      }
      return this.result(request, startedAt, { exitCode: state.ExitCode, timedOut, oomKilled, durationMs });
    } finally {
      for (const timer of timers) clearTimeout(timer);
      if (onAbort) request.signal?.removeEventListener('abort', onAbort);
      logs?.stop();
      (leash as { destroy?: () => void } | undefined)?.destroy?.();
      await removeQuietly(container);
      this.live.delete(container.id);
    }
  }

  private result(request: SandboxRequest, startedAt: number, fields: Partial<SandboxResult>): SandboxResult {
    return sandboxResult(request.logPath, startedAt, fields);
  }

  private createOptions(placement: Placement, request: SandboxRequest, snapshot: CodeSnapshot, image: string): Docker.ContainerCreateOptions {
    const { engine, gpus } = placement;
    const devices = gpus.map(gpuDevice);
    // Only variables the environment names reach the container; never secrets (see
    // environment-variables.ts), which matters doubly here: dockerode also sends Env in the URL.
    const named: NodeJS.ProcessEnv = {};
    for (const name of request.step.passEnv) if (process.env[name] !== undefined) named[name] = process.env[name];
    const env = sandboxEnvironment(
      request,
      { workDir: CONTAINER_PATHS.code, outputDir: CONTAINER_PATHS.outputs, evalDir: request.evalDir ? CONTAINER_PATHS.eval : undefined, home: CONTAINER_PATHS.home },
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
      if (writable) this.giveToContainerUser(writable);
      mounts.push({ Type: 'bind', Source: path.resolve(request.outputDir), Target: CONTAINER_PATHS.outputs, ReadOnly: request.kind !== 'run' });
      if (request.evalDir) mounts.push({ Type: 'bind', Source: path.resolve(request.evalDir), Target: CONTAINER_PATHS.eval, ReadOnly: false });
    }
    const deleted = snapshot.kind === 'git' ? snapshot.deleted : [];
    return {
      name: containerName(request),
      Image: image,
      Cmd: ['sh', '-c', LEASHED_COMMAND, 'ai-researcher-step', request.step.command, ...deleted],
      WorkingDir: CONTAINER_PATHS.code,
      User: `${this.user.uid}:${this.user.gid}`,
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
  private async copyIn(engine: DockerEngine, container: Docker.Container, request: SandboxRequest, snapshot: CodeSnapshot): Promise<void> {
    if (snapshot.kind === 'git' && snapshot.changed.length) {
      await container.putArchive(changedFilesArchive(snapshot.gitDir, snapshot.changed, this.user) as unknown as NodeJS.ReadableStream, { path: '/' });
    }
    if (engine.spec.transfer === 'copy' && request.kind === 'evaluate') {
      await container.putArchive(readOnlyOutputsArchive(request.outputDir) as unknown as NodeJS.ReadableStream, { path: '/' });
    }
  }

  /** What the step wrote, back to this machine (copy mode): the run's outputs, or the evaluator's metrics. */
  private async copyOut(engine: DockerEngine, container: Docker.Container, request: SandboxRequest): Promise<void> {
    if (engine.spec.transfer !== 'copy') return;
    const [from, to] = request.kind === 'run' ? [CONTAINER_PATHS.outputs, request.outputDir] : [CONTAINER_PATHS.eval, request.evalDir];
    if (!to) return;
    await extractArchive(await container.getArchive({ path: from }), to);
  }

  /** When the researcher runs as root, the container's user must be able to write the mounted folder. */
  private giveToContainerUser(dir: string): void {
    mkdirSync(dir, { recursive: true });
    if (process.getuid?.() === 0) chownSync(dir, this.user.uid, this.user.gid);
  }

  // ─── images ──────────────────────────────────────────────────────────────────────────────

  private imageFor(image: string | undefined): ImageSpec {
    const key = image ?? '';
    let spec = this.imageSpecs.get(key);
    if (!spec) {
      spec = resolveImage(image, this.recipesDirs);
      this.imageSpecs.set(key, spec);
    }
    return spec;
  }

  // ─── placement: which host, which GPUs ───────────────────────────────────────────────────

  private engineForGpu(id: string): DockerEngine | undefined {
    const host = gpuHost(id);
    return host === '' ? this.engines[0] : this.engines.find((engine) => engine.spec.name === host);
  }

  private registerGpu(id: string): void {
    const engine = this.engineForGpu(id);
    if (!engine) throw new SandboxError(`GPU ${id} names no Docker host (hosts: ${this.engines.map((e) => e.spec.name || e.label).join(', ')})`);
    if (!engine.gpus.includes(id)) engine.gpus.push(id);
  }

  /**
   * A host (and GPUs) for a step: the GPUs the sweep's pool gave it when their host is up and
   * they are free here; otherwise as many free GPUs on another live host; a step without GPUs
   * goes to the live host running the fewest steps. Waits while nothing fits; returns why when no
   * live host can ever take it, null when the sweep stops.
   */
  private async place(request: SandboxRequest): Promise<Placement | string | null> {
    for (const id of request.gpus) this.registerGpu(id);
    const share = request.resources.shareGpus;
    for (;;) {
      if (request.signal?.aborted) return null;
      const live = await this.liveEngines();
      if (live.length === 0) return `no Docker host answers (${this.engines.map((e) => e.label).join(', ')})`;
      if (!live.some((engine) => engine.gpus.length >= request.gpus.length)) {
        return `no Docker host that answers has ${request.gpus.length} GPU(s) (${live.map((e) => `${e.label}: ${e.gpus.length}`).join(', ')})`;
      }
      const placement = choosePlacement(live, this.engineForGpu(request.gpus[0] ?? ''), request.gpus, share, this.gpusInUse);
      if (placement) {
        placement.engine.running++;
        if (!share) for (const id of placement.gpus) this.gpusInUse.add(id);
        return placement;
      }
      await this.waitForChange(request.signal);
    }
  }

  private release(placement: Placement): void {
    placement.engine.running--;
    for (const id of placement.gpus) this.gpusInUse.delete(id);
    this.wakeWaiters();
  }

  private markLost(engine: DockerEngine): void {
    if (engine.alive) engine.lostAt = Date.now();
    engine.alive = false;
    this.wakeWaiters();
  }

  /** Live engines; one marked lost a while ago is asked again. */
  private async liveEngines(): Promise<DockerEngine[]> {
    for (const engine of this.engines) {
      if (!engine.alive && Date.now() - engine.lostAt >= RETRY_LOST_HOST_MS) {
        engine.lostAt = Date.now();
        if (await engine.reachable()) {
          engine.alive = true;
          process.stderr.write(`Docker host ${engine.label} answers again\n`);
          await this.clearLeftovers(engine);
        }
      }
    }
    return this.engines.filter((engine) => engine.alive);
  }

  /** Removes this sweep's containers that a host kept while it was away (stopped with its engine). */
  private async clearLeftovers(engine: DockerEngine): Promise<void> {
    for (const runId of this.runIds) {
      try {
        const found = await engine.docker.listContainers({ all: true, filters: { label: [`${LABELS.run}=${runId}`] } });
        for (const info of found) if (!this.live.has(info.Id)) await removeQuietly(engine.docker.getContainer(info.Id));
      } catch {
        // gone again: cleared next time it comes back, or by `researcher sandbox prune`
      }
    }
  }

  private waitForChange(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.placementWaiters.delete(done);
        resolve();
      };
      // Also wake up now and then, so a lost host that came back is noticed.
      const timer = setTimeout(done, RETRY_LOST_HOST_MS);
      signal?.addEventListener('abort', done, { once: true });
      this.placementWaiters.add(done);
    });
  }

  private wakeWaiters(): void {
    for (const wake of [...this.placementWaiters]) wake();
  }
}

// ─── helpers ─────────────────────────────────────────────────────────────────────────────────

/** What placement needs to know of an engine. */
export interface EngineLoad {
  alive: boolean;
  /** Steps running on it now. */
  running: number;
  /** Its GPUs (GPU-pool ids). */
  gpus: readonly string[];
}

/**
 * Where a step goes, among live engines: with no GPUs, the engine running the fewest steps; with
 * GPUs, the ones the sweep's pool gave (`wanted`, on `asked`) when that engine is live and they are
 * free, else as many free GPUs on the live engine with the most free. Null: nothing fits now.
 */
export function choosePlacement<E extends EngineLoad>(
  live: readonly E[],
  asked: E | undefined,
  wanted: readonly string[],
  share: boolean,
  inUse: ReadonlySet<string>,
): { engine: E; gpus: string[] } | null {
  const alive = live.filter((engine) => engine.alive);
  if (alive.length === 0) return null;
  if (wanted.length === 0) return { engine: alive.reduce((best, e) => (e.running < best.running ? e : best)), gpus: [] };
  if (asked?.alive && wanted.every((id) => asked.gpus.includes(id)) && (share || wanted.every((id) => !inUse.has(id)))) {
    return { engine: asked, gpus: [...wanted] };
  }
  const candidates = alive
    .map((engine) => ({ engine, free: share ? [...engine.gpus] : engine.gpus.filter((id) => !inUse.has(id)) }))
    .filter((candidate) => candidate.free.length >= wanted.length)
    .sort((a, b) => b.free.length - a.free.length);
  return candidates.length ? { engine: candidates[0].engine, gpus: candidates[0].free.slice(0, wanted.length) } : null;
}

/** dockerode connection options for unix://, tcp://, http(s):// and ssh:// URLs. */
export function dockerodeOptions(url: string): Docker.DockerOptions {
  if (url.startsWith('unix://')) return { socketPath: url.slice('unix://'.length) };
  const parsed = new URL(url);
  if (parsed.protocol === 'ssh:') {
    const privateKey = ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((file) => path.join(os.homedir(), '.ssh', file)).find((file) => existsSync(file));
    return {
      protocol: 'ssh',
      host: parsed.hostname,
      port: parsed.port ? Number(parsed.port) : 22,
      username: decodeURIComponent(parsed.username) || os.userInfo().username,
      sshOptions: {
        agent: process.env.SSH_AUTH_SOCK,
        ...(privateKey && !process.env.SSH_AUTH_SOCK ? { privateKey: readFileSync(privateKey) } : {}),
      },
    };
  }
  const certDir = process.env.DOCKER_CERT_PATH || path.join(os.homedir(), '.docker');
  const tls = parsed.protocol === 'https:' || Boolean(process.env.DOCKER_TLS_VERIFY);
  return {
    protocol: tls ? 'https' : 'http',
    host: parsed.hostname,
    port: parsed.port ? Number(parsed.port) : tls ? 2376 : 2375,
    ...(tls && existsSync(path.join(certDir, 'ca.pem'))
      ? {
          ca: readFileSync(path.join(certDir, 'ca.pem')),
          cert: readFileSync(path.join(certDir, 'cert.pem')),
          key: readFileSync(path.join(certDir, 'key.pem')),
        }
      : {}),
  };
}

function unreachableMessage(spec: DockerHostSpec, error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const why =
    code === 'ENOENT'
      ? 'no socket there'
      : code === 'ECONNREFUSED'
        ? 'connection refused'
        : code === 'EACCES'
          ? 'permission denied on the socket: add your user to the docker group'
          : shortMessage(error);
  const from = spec.name ? '--docker-host' : process.env.DOCKER_HOST ? `DOCKER_HOST=${displayUrl(process.env.DOCKER_HOST)}` : 'DOCKER_HOST is not set';
  return `no Docker daemon answers at ${displayUrl(spec.url)} (${why}; ${from}): start dockerd (systemctl start docker, or scripts/docker-up.sh) or point DOCKER_HOST / --docker-host at a running engine`;
}

/** A Docker error as one line, naming disk exhaustion as such. */
function engineMessage(engine: DockerEngine, error: unknown): string {
  if (error instanceof SandboxError || error instanceof HostLostError) return error.message;
  const message = shortMessage(error);
  if (/no space left on device/i.test(message)) {
    return `the Docker host ${engine.label} is out of disk space (${message}); free space there (docker system prune, remove old images) and resume`;
  }
  return `Docker engine ${engine.label}: ${message}`;
}

function shortMessage(error: unknown): string {
  return describeError(error)
    .replace(/^\(HTTP code \d+\) [\w ]+ - /, '')
    .trim()
    .split('\n')[0];
}

function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number }).statusCode;
}

async function removeQuietly(container: Docker.Container): Promise<void> {
  try {
    await container.remove({ force: true, v: true, abortSignal: AbortSignal.timeout(SHORT_CALL_MS) } as object);
  } catch {
    // 404: already gone; 409: removal in progress; unreachable: `resume` removes it by id
  }
}

/** Streams a container's stdout and stderr, demultiplexed, into the log file as they come. */
async function followLogs(container: Docker.Container, logPath: string): Promise<{ done: Promise<void>; stop(): void }> {
  const file = createWriteStream(logPath, { flags: 'a' });
  let stream: Readable;
  try {
    stream = (await container.logs({ follow: true, stdout: true, stderr: true })) as unknown as Readable;
  } catch {
    return { done: new Promise((resolve) => file.end(resolve)), stop: () => {} };
  }
  container.modem.demuxStream(stream, file, file);
  const ended = new Promise<void>((resolve) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', () => resolve());
  });
  // The stream ends when the container stops; demuxStream never ends its sinks, so close the file here.
  const done = Promise.race([ended, new Promise<void>((resolve) => setTimeout(resolve, 10_000).unref())]).then(
    () => new Promise<void>((resolve) => file.end(resolve)),
  );
  return { done, stop: () => stream.destroy() };
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

async function followProgress(docker: Docker, stream: NodeJS.ReadableStream, onLine?: (line: string) => void): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (error: Error | null, output: { error?: string; errorDetail?: { message?: string } }[]) => {
        if (error) return reject(error);
        const failed = output.find((item) => item.error || item.errorDetail);
        if (failed) return reject(new Error(failed.errorDetail?.message ?? failed.error));
        resolve();
      },
      (event: { stream?: string }) => {
        if (onLine && event.stream) onLine(event.stream);
      },
    );
  });
}

function note(logPath: string, message: string): void {
  appendFileSync(logPath, `\n[ai-researcher] ${message}\n`);
}

/** A Docker repository name for a run's code images (lower case, no odd characters). */
function codeRepository(runId: string): string {
  const name = runId.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'run';
  return `ai-researcher-run/${name}`;
}

function splitTag(tag: string): [string, string] {
  const colon = tag.lastIndexOf(':');
  return [tag.slice(0, colon), tag.slice(colon + 1)];
}

function containerName(request: SandboxRequest): string {
  const run = request.runId.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 60) || 'run';
  return `ai-researcher-${run}-${request.ideaId}-${request.seed}-${request.kind}-${randomBytes(3).toString('hex')}`;
}

/** The `--sandbox docker` factory: hosts come from the run's stored sandbox options. */
export function createDockerSandbox(options: Record<string, unknown>): DockerSandbox {
  const parsed = DockerSandboxSettings.safeParse(options);
  if (!parsed.success) throw new SandboxError(`the run's Docker settings are unreadable: ${parsed.error.issues[0]?.message}`);
  return new DockerSandbox({ hosts: parsed.data.dockerHosts });
}

/** What `run` stores in the run's sandboxOptions for the Docker sandbox. */
export const DockerSandboxSettings = z.object({ dockerHosts: z.array(DockerHostSpec).optional() }).passthrough();

function processExists(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
