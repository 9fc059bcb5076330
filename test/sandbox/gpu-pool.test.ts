/**
 * The GPU pool: each run gets devices of its own, all from one host, spread over the hosts.
 */
import { describe, expect, it } from 'vitest';
import { GpuPool, gpuDevice, gpuHost, parseGpuList, qualifyGpu } from '../../src/sandbox/gpu-pool.ts';
import { discoverGpus, parseGpuIndexes } from '../../src/sandbox/gpus.ts';

describe('GpuPool', () => {
  it('never hands one GPU to two runs, and a run waits until enough are free', async () => {
    const pool = new GpuPool(['0', '1', '2']);
    expect(pool.capacity(1)).toBe(3);
    expect(pool.capacity(2)).toBe(1);
    const first = await pool.acquire(2);
    const other = await pool.acquire(1);
    expect(new Set([...first, ...other]).size).toBe(3);
    let second: string[] | null = null;
    const waiting = pool.acquire(2).then((gpus) => (second = gpus));
    await Promise.resolve();
    expect(second).toBeNull(); // one GPU free, two needed
    pool.release(first);
    await waiting;
    expect(second).toHaveLength(2);
    expect(second!.some((id) => other.includes(id))).toBe(false);
  });

  it("takes a run's GPUs from one host, the one with the most free, and counts capacity per host", async () => {
    const pool = new GpuPool(['a/0', 'a/1', 'a/2', 'b/0', 'b/1']);
    expect(pool.capacity(2)).toBe(2); // one 2-GPU run per host: a has 3, b has 2
    const first = await pool.acquire(2);
    expect(first).toEqual(['a/0', 'a/1']);
    const second = await pool.acquire(2);
    expect(second).toEqual(['b/0', 'b/1']);
    const third = await pool.acquire(1);
    expect(third).toEqual(['a/2']);
    await expect(pool.acquire(4)).rejects.toThrow(/needs 4 GPUs on one machine but the largest host has only 3/);
  });

  it('spreads one-GPU runs over the hosts', async () => {
    const pool = new GpuPool(['a/0', 'a/1', 'b/0', 'b/1']);
    const hosts = [];
    for (let i = 0; i < 4; i++) hosts.push(gpuHost((await pool.acquire(1))[0]));
    expect(hosts.sort()).toEqual(['a', 'a', 'b', 'b']);
  });

  it('lets runs share GPUs when the environment allows it', async () => {
    const pool = new GpuPool(['0', '1'], true);
    expect(pool.capacity(1)).toBe(Infinity);
    expect(await pool.acquire(1)).toEqual(['0']);
    expect(await pool.acquire(1)).toEqual(['0']);
  });

  it('parses --gpus lists and host-qualified ids', () => {
    expect(parseGpuList('0,2-4')).toEqual(['0', '2', '3', '4']);
    expect(() => parseGpuList('x')).toThrow(/not a GPU id/);
    expect(qualifyGpu('gpu1', '3')).toBe('gpu1/3');
    expect(qualifyGpu('', '3')).toBe('3');
    expect([gpuHost('gpu1/3'), gpuDevice('gpu1/3'), gpuHost('3')]).toEqual(['gpu1', '3', '']);
  });
});

describe('discoverGpus', () => {
  it('reads the indexes nvidia-smi prints', () => {
    expect(parseGpuIndexes('0\n1\n\n2\n')).toEqual(['0', '1', '2']);
    expect(parseGpuIndexes('NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.\n')).toEqual([]);
  });

  it('finds no GPU where there is no nvidia-smi', () => {
    expect(discoverGpus('/nonexistent/nvidia-smi')).toEqual([]);
  });
});
