/**
 * `researcher sandbox prune` on a real engine: it removes what a killed researcher left (its
 * containers, its run's code images) and keeps what a live one still uses.
 */
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { CPU_IMAGE, client, containersOfRun, dockerTestsRun, researcher, uniqueRunId } from '../docker/engine.ts';

const runs = await dockerTestsRun('the sandbox prune test');

describe.skipIf(!runs)('researcher sandbox prune', () => {
  it("removes a dead researcher's containers and code images, and keeps a live one's", { timeout: 300_000 }, async () => {
    const docker = client();
    const deadRun = uniqueRunId('dead');
    const liveRun = uniqueRunId('live');
    const dead = { 'ai-researcher.run': deadRun, 'ai-researcher.owner': `${os.hostname()}:2147483646` }; // no such process
    const live = { 'ai-researcher.run': liveRun, 'ai-researcher.owner': `${os.hostname()}:${process.pid}` };
    const make = (labels: Record<string, string>) =>
      docker.createContainer({ Image: CPU_IMAGE, Cmd: ['true'], Labels: labels, HostConfig: { NetworkMode: 'none' } });
    const deadContainer = await make(dead);
    const liveContainer = await make(live);
    const deadImage = `ai-researcher-run/${deadRun}:run-test`;
    const liveImage = `ai-researcher-run/${liveRun}:run-test`;
    await deadContainer.commit({ repo: `ai-researcher-run/${deadRun}`, tag: 'run-test' });
    await liveContainer.commit({ repo: `ai-researcher-run/${liveRun}`, tag: 'run-test' });
    try {
      const result = await researcher(['sandbox', 'prune']);
      expect(result.status).toBe(0);
      expect(result.stdout).toMatch(/removed \d+ container\(s\) and \d+ image\(s\)/);
      expect(await containersOfRun(deadRun)).toEqual([]);
      expect(await containersOfRun(liveRun)).toHaveLength(1);
      await expect(docker.getImage(deadImage).inspect()).rejects.toMatchObject({ statusCode: 404 });
      expect((await docker.getImage(liveImage).inspect()).RepoTags).toContain(liveImage);
    } finally {
      await liveContainer.remove({ force: true });
      await docker.getImage(liveImage).remove({ force: true });
    }
  });
});
