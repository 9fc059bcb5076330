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
 *
 * The folder: engine.ts (one engine: images, code images, prune), container-run.ts (one attempt
 * at a step in a container), placement.ts (which host and GPUs), connection.ts (dockerode
 * options, errors), hosts.ts (which engines), images.ts (image recipes); this file ties them into
 * the Sandbox the loop sees.
 */
import { mkdirSync, closeSync, openSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { SandboxError, describeError } from '../../core/errors.ts';
import type { Sandbox, SandboxHandle, SandboxRequest, SandboxResult } from '../../core/interfaces.ts';
import type { Resources } from '../../environment/schema.ts';
import { emptyFolder, snapshotCode, type CodeSnapshot } from '../code-transfer.ts';
import { sandboxResult } from '../result.ts';
import { HostLostError, SHORT_CALL_MS, engineMessage, removeQuietly, statusOf } from './connection.ts';
import { containerUser, note, runInContainer } from './container-run.ts';
import { DockerEngine, LABELS } from './engine.ts';
import { DockerHostSpec, defaultDockerHost } from './hosts.ts';
import { resolveImage, sandboxesDirs, type ImageSpec } from './images.ts';
import { HostPlacer } from './placement.ts';

export interface DockerSandboxOptions {
  /** The engines to run on; by default the one DOCKER_HOST names. */
  hosts?: DockerHostSpec[];
  /** Where image recipes are looked up (default: ./sandboxes and the shipped sandboxes/). */
  sandboxesDirs?: string[];
}

export class DockerSandbox implements Sandbox {
  readonly name = 'docker';
  readonly engines: DockerEngine[];
  readonly user = containerUser();
  private readonly recipesDirs: string[];
  private readonly imageSpecs = new Map<string, ImageSpec>();
  private readonly placer: HostPlacer;
  /** Containers this process created and has not removed yet. */
  private readonly live = new Map<string, DockerEngine>();
  /** Runs this process has run steps of (to clear their leftovers from a host that comes back). */
  private readonly runIds = new Set<string>();

  constructor(options: DockerSandboxOptions = {}) {
    const hosts = options.hosts?.length ? options.hosts : [defaultDockerHost()];
    this.engines = hosts.map((spec) => new DockerEngine(DockerHostSpec.parse(spec)));
    this.recipesDirs = options.sandboxesDirs ?? sandboxesDirs();
    this.placer = new HostPlacer(this.engines, (engine) => this.clearLeftovers(engine));
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
        this.placer.markLost(engine);
      }
    }
    if (failures.length === this.engines.length) throw new SandboxError(failures.join('; '));
    for (const failure of failures) process.stderr.write(`warning: ${failure}; the sweep runs on the other hosts\n`);

    // GPUs: each id belongs to a host, and a host that gets GPU work needs the NVIDIA runtime.
    for (const id of request.gpus) this.placer.registerGpu(id);
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
          const why =
            request.resources.gpus > 0
              ? `the environment needs ${request.resources.gpus} GPU(s) per run`
              : `--gpus ${request.gpus.join(',')} was given`;
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
    if (request.kind === 'run')
      emptyFolder(request.outputDir); // outputs are this run's alone
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
      const placement = await this.placer.place(request);
      if (placement === null) return result({ interrupted: true });
      if (typeof placement === 'string') return result({ infrastructureError: placement });
      try {
        return await runInContainer(
          { sandboxName: this.name, user: this.user, image: this.imageFor(request.image), live: this.live },
          placement,
          request,
          snapshot,
        );
      } catch (error) {
        if (!(error instanceof HostLostError)) return result({ infrastructureError: engineMessage(placement.engine, error) });
        this.placer.markLost(placement.engine);
        if (request.signal?.aborted) return result({ interrupted: true });
        if (error.started) {
          if (lostWhileRunning) return result({ infrastructureError: `${error.message}, for the second time` });
          lostWhileRunning = true;
          note(request.logPath, `${error.message}; running this ${request.kind} step again on another host`);
          if (request.kind === 'run') emptyFolder(request.outputDir);
          if (request.evalDir) emptyFolder(request.evalDir);
        }
      } finally {
        this.placer.release(placement);
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
        await engine.docker
          .getContainer(handle.containerId)
          .remove({ force: true, v: true, abortSignal: AbortSignal.timeout(SHORT_CALL_MS) } as object);
      } catch (error) {
        const status = statusOf(error);
        if (status !== 404 && status !== 409) {
          process.stderr.write(
            `warning: could not remove container ${handle.containerId.slice(0, 12)} on ${engine.label}: ${engineMessage(engine, error)}\n`,
          );
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
}

/** The `--sandbox docker` factory: hosts come from the run's stored sandbox options. */
export function createDockerSandbox(options: Record<string, unknown>): DockerSandbox {
  const parsed = DockerSandboxSettings.safeParse(options);
  if (!parsed.success) throw new SandboxError(`the run's Docker settings are unreadable: ${parsed.error.issues[0]?.message}`);
  return new DockerSandbox({ hosts: parsed.data.dockerHosts });
}

/** What `run` stores in the run's sandboxOptions for the Docker sandbox. */
export const DockerSandboxSettings = z.object({ dockerHosts: z.array(DockerHostSpec).optional() }).passthrough();
