/**
 * Placement across the sweep's Docker hosts: which host a step runs on and which of its GPUs it
 * holds, waiting while nothing fits; hosts that stop answering are marked lost and asked again
 * now and then.
 */
import { SandboxError } from '../../core/errors.ts';
import type { SandboxRequest } from '../../core/interfaces.ts';
import { gpuHost } from '../gpu-pool.ts';
import type { DockerEngine } from './engine.ts';

/** A host marked lost is asked again after this long. */
const RETRY_LOST_HOST_MS = 30_000;

/** Where one step runs: its host and the GPUs it holds there. */
export interface Placement {
  engine: DockerEngine;
  /** GPU-pool ids of the devices the step holds. */
  gpus: string[];
}

/** The hosts of one sandbox and the GPUs its running steps hold. */
export class HostPlacer {
  /** GPUs held by running steps (unless the environment lets runs share). */
  private readonly gpusInUse = new Set<string>();
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly engines: readonly DockerEngine[],
    /** Called when a host marked lost answers again, before it takes steps. */
    private readonly onHostBack: (engine: DockerEngine) => Promise<void>,
  ) {}

  engineForGpu(id: string): DockerEngine | undefined {
    const host = gpuHost(id);
    return host === '' ? this.engines[0] : this.engines.find((engine) => engine.spec.name === host);
  }

  registerGpu(id: string): void {
    const engine = this.engineForGpu(id);
    if (!engine)
      throw new SandboxError(`GPU ${id} names no Docker host (hosts: ${this.engines.map((e) => e.spec.name || e.label).join(', ')})`);
    if (!engine.gpus.includes(id)) engine.gpus.push(id);
  }

  /**
   * A host (and GPUs) for a step: the GPUs the sweep's pool gave it when their host is up and
   * they are free here; otherwise as many free GPUs on another live host; a step without GPUs
   * goes to the live host running the fewest steps. Waits while nothing fits; returns why when no
   * live host can ever take it, null when the sweep stops.
   */
  async place(request: SandboxRequest): Promise<Placement | string | null> {
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

  release(placement: Placement): void {
    placement.engine.running--;
    for (const id of placement.gpus) this.gpusInUse.delete(id);
    this.wakeWaiters();
  }

  markLost(engine: DockerEngine): void {
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
          await this.onHostBack(engine);
        }
      }
    }
    return this.engines.filter((engine) => engine.alive);
  }

  private waitForChange(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.waiters.delete(done);
        resolve();
      };
      // Also wake up now and then, so a lost host that came back is noticed.
      const timer = setTimeout(done, RETRY_LOST_HOST_MS);
      signal?.addEventListener('abort', done, { once: true });
      this.waiters.add(done);
    });
  }

  private wakeWaiters(): void {
    for (const wake of [...this.waiters]) wake();
  }
}

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
