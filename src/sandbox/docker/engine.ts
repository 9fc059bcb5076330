/**
 * One Docker engine and what the sandbox knows about it: whether it answers, its GPUs, the images
 * it has (built from a recipe or pulled, once per process), the per-run code images (the base
 * commit baked in once per run and host), and the removal of what killed sweeps left there.
 */
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { SandboxError } from '../../core/errors.ts';
import { baseCommitArchive, contextArchive, folderCodeArchive, type CodeSnapshot, type Owner } from '../code-transfer.ts';
import { SHORT_CALL_MS, dockerodeOptions, engineMessage, removeQuietly, statusOf, unreachableMessage } from './connection.ts';
import { displayUrl, type DockerHostSpec } from './hosts.ts';
import { isOurTag, runBuildScript, sandboxesDirs, type ImageRecipe, type ImageSpec } from './images.ts';

/** Labels on every container and image the sandbox makes. */
export const LABELS = {
  run: 'ai-researcher.run',
  idea: 'ai-researcher.idea',
  seed: 'ai-researcher.seed',
  kind: 'ai-researcher.kind',
  owner: 'ai-researcher.owner',
} as const;

/** Bumped when the layout of code images changes, so old ones are not reused. */
const CODE_IMAGE_VERSION = '1';

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
      process.stderr.write(
        `building image ${spec.tag} on ${this.label} from ${path.relative(process.cwd(), spec.recipe.dir) || spec.recipe.dir}\n`,
      );
      await this.build(spec.recipe, spec.tag);
    } else if (isOurTag(spec.tag)) {
      const name = /^ai-researcher\/([^:]+)/.exec(spec.tag)?.[1] ?? spec.tag;
      throw new SandboxError(
        `image ${spec.tag} is not on ${this.label} and there is no recipe to build it (no Dockerfile or build.sh in ${sandboxesDirs()
          .map((dir) => path.join(path.relative(process.cwd(), dir) || '.', name))
          .join(' or ')})`,
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
      throw new SandboxError(
        `building ${tag} from ${path.join(recipe.dir, 'Dockerfile')} on ${this.label} failed: ${engineMessage(this, error)}`,
      );
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

  private async makeCodeImage(
    runId: string,
    baseImageId: string,
    snapshot: CodeSnapshot,
    user: Owner,
    kind: 'run' | 'evaluate',
    tag: string,
  ): Promise<string> {
    await this.sweepRun(runId);
    this.codeImagesUsed.add(tag);
    if (await this.imageId(tag)) return tag;
    const archive =
      snapshot.kind === 'git'
        ? baseCommitArchive(snapshot.gitDir, snapshot.baseCommit, user, kind)
        : folderCodeArchive(snapshot.dir, user, kind);
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

/** A Docker repository name for a run's code images (lower case, no odd characters). */
function codeRepository(runId: string): string {
  const name =
    runId
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'run';
  return `ai-researcher-run/${name}`;
}

function splitTag(tag: string): [string, string] {
  const colon = tag.lastIndexOf(':');
  return [tag.slice(0, colon), tag.slice(colon + 1)];
}

function processExists(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
