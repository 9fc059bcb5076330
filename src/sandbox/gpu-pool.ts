/**
 * Hands GPUs to running ideas. Each run gets its own devices unless the environment says runs
 * may share; a run waits until enough devices are free.
 */
export class GpuPool {
  private readonly free: string[];
  private readonly waiters: { count: number; resolve: (gpus: string[]) => void }[] = [];

  constructor(
    readonly devices: readonly string[],
    private readonly share = false,
  ) {
    this.free = [...devices];
  }

  /** How many runs can hold `perRun` GPUs at once (Infinity when no GPUs are needed). */
  capacity(perRun: number): number {
    if (perRun === 0 || this.share) return Infinity;
    return Math.floor(this.devices.length / perRun);
  }

  async acquire(count: number): Promise<string[]> {
    if (count === 0) return [];
    if (this.share) return this.devices.slice(0, count);
    if (count > this.devices.length) {
      throw new Error(`a run needs ${count} GPUs but only ${this.devices.length} exist`);
    }
    if (this.free.length >= count && this.waiters.length === 0) return this.free.splice(0, count);
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  release(gpus: readonly string[]): void {
    if (this.share || gpus.length === 0) return;
    this.free.push(...gpus);
    this.free.sort((a, b) => Number(a) - Number(b));
    while (this.waiters.length && this.free.length >= this.waiters[0].count) {
      const waiter = this.waiters.shift()!;
      waiter.resolve(this.free.splice(0, waiter.count));
    }
  }
}

/** Parses "--gpus 0,1,2" (or "0-3"). */
export function parseGpuList(text: string): string[] {
  const ids: string[] = [];
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
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
