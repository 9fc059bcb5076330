/**
 * Hands GPUs to running ideas. Each run gets its own devices unless the environment says runs
 * may share; a run waits until enough devices are free.
 *
 * GPUs may live on several machines (Docker hosts): an id "gpu1/0" is device 0 of host "gpu1",
 * a plain id ("0") is a device of this machine. A run's GPUs always come from one host, and runs
 * are spread over the hosts with the most free devices.
 */
export class GpuPool {
  /** Free devices per host ('' is this machine), in the order the hosts were given. */
  private readonly free = new Map<string, string[]>();
  private readonly sizes = new Map<string, number>();
  private readonly waiters: { count: number; resolve: (gpus: string[]) => void }[] = [];
  private nextShared = 0;

  constructor(
    readonly devices: readonly string[],
    private readonly share = false,
  ) {
    for (const id of devices) {
      const host = gpuHost(id);
      if (!this.free.has(host)) this.free.set(host, []);
      this.free.get(host)!.push(id);
      this.sizes.set(host, (this.sizes.get(host) ?? 0) + 1);
    }
  }

  /** How many runs can hold `perRun` GPUs at once (Infinity when no GPUs are needed). */
  capacity(perRun: number): number {
    if (perRun === 0 || this.share) return Infinity;
    let runs = 0;
    for (const size of this.sizes.values()) runs += Math.floor(size / perRun);
    return runs;
  }

  async acquire(count: number): Promise<string[]> {
    if (count === 0) return [];
    const largest = Math.max(0, ...this.sizes.values());
    if (count > largest) {
      const have = this.sizes.size > 1 ? `the largest host has only ${largest}` : `only ${largest} exist`;
      throw new Error(`a run needs ${count} GPUs on one machine but ${have}`);
    }
    if (this.share) return this.takeShared(count);
    if (this.waiters.length === 0) {
      const taken = this.take(count);
      if (taken) return taken;
    }
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  release(gpus: readonly string[]): void {
    if (this.share || gpus.length === 0) return;
    for (const id of gpus) {
      const free = this.free.get(gpuHost(id));
      if (!free || free.includes(id)) continue; // not ours, or released twice
      free.push(id);
      free.sort(compareIds);
    }
    while (this.waiters.length) {
      const taken = this.take(this.waiters[0].count);
      if (!taken) break;
      this.waiters.shift()!.resolve(taken);
    }
  }

  /** `count` free devices from the host with the most free devices, or null. */
  private take(count: number): string[] | null {
    let best: string[] | null = null;
    for (const free of this.free.values()) {
      if (free.length >= count && (!best || free.length > best.length)) best = free;
    }
    return best ? best.splice(0, count) : null;
  }

  /** Shared GPUs: the first `count` devices of the next host big enough (round robin). */
  private takeShared(count: number): string[] {
    const hosts = [...this.sizes.entries()].filter(([, size]) => size >= count).map(([host]) => host);
    const host = hosts[this.nextShared++ % hosts.length];
    return this.devices.filter((id) => gpuHost(id) === host).slice(0, count);
  }
}

/** The host part of a GPU id ("gpu1/0" → "gpu1"); '' for a device of this machine. */
export function gpuHost(id: string): string {
  const slash = id.lastIndexOf('/');
  return slash === -1 ? '' : id.slice(0, slash);
}

/** The device part of a GPU id ("gpu1/0" → "0"). */
export function gpuDevice(id: string): string {
  return id.slice(id.lastIndexOf('/') + 1);
}

/** A GPU id qualified by its host ("" → the plain id). */
export function qualifyGpu(host: string, device: string): string {
  return host ? `${host}/${device}` : device;
}

function compareIds(a: string, b: string): number {
  const [da, db] = [gpuDevice(a), gpuDevice(b)];
  if (/^\d+$/.test(da) && /^\d+$/.test(db)) return Number(da) - Number(db);
  return a.localeCompare(b);
}

/** Parses "--gpus 0,1,2" (or "0-3"). */
export function parseGpuList(text: string): string[] {
  const ids: string[] = [];
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const range = /^(\d+)-(\d+)$/.exec(part);
    if (range) {
      for (let i = Number(range[1]); i <= Number(range[2]); i++) ids.push(String(i));
    } else if (/^\d+$/.test(part) || /^GPU-[\w-]+$/.test(part)) {
      ids.push(part);
    } else {
      throw new Error(`"${part}" is not a GPU id (expected e.g. 0,1,2 or 0-3)`);
    }
  }
  return ids;
}

/**
 * For engines that place GPUs themselves (Slurm's --gres): any number of runs at once as far as
 * devices go (--parallel still bounds them), and no device ids handed out.
 */
export class EnginePlacedGpus extends GpuPool {
  constructor() {
    super([], true);
  }

  override capacity(): number {
    return Infinity;
  }

  override async acquire(): Promise<string[]> {
    return [];
  }

  override release(): void {}
}
