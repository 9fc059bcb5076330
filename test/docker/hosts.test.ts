/**
 * A sweep over two Docker hosts (two real dockerd daemons on two sockets, started by
 * scripts/docker-up.sh): ideas spread over both, code and outputs travel through the Docker API
 * (no shared folder), and stopping one daemon mid-sweep loses no idea.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunStore } from '../../src/store/run-store.ts';
import { REPO_ROOT, tempDir } from '../helpers/sweep.ts';
import {
  DOCKER_HOST,
  SECOND_DOCKER_HOST,
  answers,
  client,
  containersOfRun,
  dockerEnvironment,
  dockerTestsRun,
  researcher,
  uniqueRunId,
} from './engine.ts';

const runs = await dockerTestsRun('the two-host Docker tests', [DOCKER_HOST, SECOND_DOCKER_HOST]);

/** The scripts/docker-up.sh name of a daemon's socket (unix:///tmp/ai-researcher-docker/NAME/docker.sock). */
function daemonName(url: string): string {
  const match = /^unix:\/\/\/tmp\/ai-researcher-docker\/([\w-]+)\/docker\.sock$/.exec(url);
  if (!match) throw new Error(`${url} is not a daemon started by scripts/docker-up.sh, so this test cannot stop and restart it`);
  return match[1];
}

function script(name: string, daemon: string): void {
  execFileSync(path.join(REPO_ROOT, 'scripts', name), [daemon], { stdio: ['ignore', 'ignore', 'inherit'] });
}

describe.skipIf(!runs)('a sweep over two Docker hosts', () => {
  it('spreads ideas over both hosts, and loses no idea when one host is stopped mid-sweep', { timeout: 600_000 }, async () => {
    const second = daemonName(SECOND_DOCKER_HOST);
    const environment = dockerEnvironment('import time\ntime.sleep(10)');
    const runsDir = tempDir('researcher-docker-runs-');
    const runId = uniqueRunId('hosts');
    const runDir = path.join(runsDir, runId);
    const seenOn = new Set<string>();
    let stopped = false;
    let watching = true;

    const sweep = researcher([
      'run',
      environment,
      '--ideas',
      '4',
      // The test counts one evaluation per idea: one baseline seed, no confirmation seeds.
      '--baseline-seeds',
      '1',
      '--confirm-seeds',
      '0',
      '--parallel',
      '2',
      '--search',
      'parallel',
      '--sandbox',
      'docker',
      '--docker-host',
      DOCKER_HOST,
      '--docker-host',
      SECOND_DOCKER_HOST,
      '--runs-dir',
      runsDir,
      '--run-id',
      runId,
    ]);
    // Watch both engines; as soon as an idea's run step is under way on the second, stop that daemon.
    const watcher = (async () => {
      while (watching) {
        for (const url of [DOCKER_HOST, SECOND_DOCKER_HOST]) {
          if (url === SECOND_DOCKER_HOST && stopped) continue;
          const running = (await containersOfRun(runId, url).catch(() => [])).filter(
            (c) => c.State === 'running' && c.Labels['ai-researcher.kind'] === 'run',
          );
          if (running.length) seenOn.add(url);
          if (url === SECOND_DOCKER_HOST && running.some((c) => c.Labels['ai-researcher.idea'] !== '0') && !stopped) {
            stopped = true;
            script('docker-down.sh', second);
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    })();

    try {
      const result = await sweep;
      watching = false;
      await watcher;
      expect(result.stderr).not.toMatch(/^error/m);
      expect(result.status).toBe(0);
      expect(stopped).toBe(true);
      expect([...seenOn].sort()).toEqual([DOCKER_HOST, SECOND_DOCKER_HOST].sort());

      const store = RunStore.open(runDir);
      try {
        const ideas = store.ideas();
        expect(ideas).toHaveLength(5);
        // No idea lost, none failed for the lost host: each has one successful evaluation.
        for (const idea of ideas) {
          expect(idea.status).toBe('succeeded');
          expect(store.evaluations(idea.id).map((e) => e.status)).toEqual(['succeeded']);
        }
        // The idea that was running on the stopped host says so in its log, and ran again.
        const logs = ideas.map((idea) => readFileSync(store.evaluations(idea.id)[0].logPath!, 'utf8'));
        expect(logs.filter((log) => /went away.*; running this run step again on another host/.test(log))).toHaveLength(1);
      } finally {
        store.close();
      }
      expect(await containersOfRun(runId, DOCKER_HOST)).toEqual([]);
    } finally {
      watching = false;
      await watcher;
      if (!(await answers(SECOND_DOCKER_HOST))) script('docker-up.sh', second);
      // What the stopped daemon kept of this run (its stopped container, the run's code image).
      const engine = client(SECOND_DOCKER_HOST);
      for (const info of await containersOfRun(runId, SECOND_DOCKER_HOST)) await engine.getContainer(info.Id).remove({ force: true });
      for (const image of await engine.listImages({ filters: { label: [`ai-researcher.run=${runId}`] } }))
        await engine.getImage(image.Id).remove({ force: true });
    }
  });
});
