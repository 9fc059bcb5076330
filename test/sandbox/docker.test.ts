/**
 * The Docker sandbox on a real engine: the idea's code and nothing else in the container, an
 * unprivileged user, no network, limits, labels, no secrets (not even in the Docker API), the
 * time limit, OOM, Ctrl-C, and the evaluator's data kept out of the run's container.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SandboxError } from '../../src/core/errors.ts';
import { containerUser } from '../../src/sandbox/docker/container-run.ts';
import { DockerSandbox } from '../../src/sandbox/docker/sandbox.ts';
import { CPU_IMAGE, MOUNT_HOST, client, containerGone, containersOfRun, dockerTestsRun, request, runInspected } from '../docker/engine.ts';
import { tempDir } from '../helpers/sweep.ts';

const runs = await dockerTestsRun('the Docker sandbox tests');
describe.skipIf(!runs)('DockerSandbox on a real engine', () => {
  const sandbox = new DockerSandbox({ hosts: [MOUNT_HOST] });
  afterAll(() => sandbox.close());

  it('runs the command on the code as an unprivileged user, logging stdout and stderr as they come', async () => {
    const req = request(
      'cat code.txt; echo "seed $SEED idea $IDEA_ID"; echo err >&2; echo "uid $(id -u)"; pwd; echo out > "$OUTPUT_DIR/result.txt"',
    );
    const { result, log } = await runInspected(sandbox, req);
    expect(result).toMatchObject({ exitCode: 0, timedOut: false, oomKilled: false, interrupted: false });
    expect(result.durationMs).toBeGreaterThan(0);
    expect(log).toContain('the code');
    expect(log).toContain('seed 3 idea 7');
    expect(log).toContain('err');
    expect(log).toContain(`uid ${containerUser().uid}`);
    expect(containerUser().uid).not.toBe(0);
    expect(log).toContain('/sandbox/code');
    const output = path.join(req.outputDir, 'result.txt');
    expect(readFileSync(output, 'utf8')).toBe('out\n');
    expect(statSync(output).uid).toBe(containerUser().uid); // not root-owned on the host
  });

  it('passes no API key or host variable to the container, not even through the Docker API, unless named', async () => {
    process.env.OPENAI_API_KEY = 'sk-secret-docker-test';
    process.env.SOME_HOST_VARIABLE = 'host-only';
    process.env.UNNAMED_HOST_VARIABLE = 'unnamed';
    try {
      const req = request('env', {
        step: { command: 'env', timeout: 60_000, env: { MINE: '1' }, passEnv: ['SOME_HOST_VARIABLE', 'OPENAI_API_KEY'] },
      });
      const { info, log } = await runInspected(sandbox, req);
      const apiEnv = info.Config.Env.join('\n');
      for (const text of [apiEnv, log]) {
        expect(text).not.toContain('sk-secret-docker-test');
        expect(text).not.toContain('unnamed');
        expect(text).toContain('SOME_HOST_VARIABLE=host-only');
        expect(text).toContain('MINE=1');
      }
    } finally {
      delete process.env.OPENAI_API_KEY;
      delete process.env.SOME_HOST_VARIABLE;
      delete process.env.UNNAMED_HOST_VARIABLE;
    }
  });

  it('denies the network, applies the limits and labels the container with its run, idea, seed and step', async () => {
    const probe = [
      'import os, socket',
      "print('interfaces', sorted(os.listdir('/sys/class/net')))",
      'try:',
      "    socket.create_connection(('1.1.1.1', 53), timeout=5)",
      "    print('network: reachable')",
      'except OSError as error:',
      "    print('network: denied', error)",
    ].join('\n');
    const req = request(`python3 -c "${probe}"`, {
      resources: { gpus: 0, shareGpus: false, memory: 256 * 2 ** 20, cpus: 0.5, shm: 32 * 2 ** 20, pids: 100 },
    });
    const { result, info, log } = await runInspected(sandbox, req);
    expect(result.exitCode).toBe(0);
    expect(log).toContain("interfaces ['lo']");
    expect(log).toContain('network: denied');
    expect(info.HostConfig).toMatchObject({
      NetworkMode: 'none',
      Memory: 256 * 2 ** 20,
      MemorySwap: 256 * 2 ** 20,
      NanoCpus: 5e8,
      ShmSize: 32 * 2 ** 20,
      PidsLimit: 100,
    });
    expect(info.HostConfig.CapDrop).toEqual(['ALL']);
    expect(info.Config.User).toBe(`${containerUser().uid}:${containerUser().gid}`);
    expect(info.Config.Labels).toMatchObject({
      'ai-researcher.run': req.runId,
      'ai-researcher.idea': '7',
      'ai-researcher.seed': '3',
      'ai-researcher.kind': 'run',
    });
  });

  it('records a crash as a non-zero exit code, not an exception', async () => {
    const { result } = await runInspected(sandbox, request('echo about to fail; exit 3'));
    expect(result).toMatchObject({ exitCode: 3, timedOut: false, oomKilled: false, interrupted: false });
  });

  it('stops a step at its time limit and removes its container', async () => {
    const req = request('echo started; sleep 60', { step: { command: 'echo started; sleep 60', timeout: 1_500, env: {}, passEnv: [] } });
    const { result, handle, log } = await runInspected(sandbox, req);
    expect(result).toMatchObject({ timedOut: true, oomKilled: false, interrupted: false });
    expect(log).toContain('started');
    expect(await containerGone(handle.containerId!)).toBe(true);
    expect(await containersOfRun(req.runId)).toEqual([]);
  });

  it('records an OOM kill when the step passes its memory limit', async () => {
    const req = request(`python3 -c "block = b'x' * (512 << 20); print(len(block))"`, {
      resources: { gpus: 0, shareGpus: false, memory: 64 * 2 ** 20 },
    });
    const { result, handle } = await runInspected(sandbox, req);
    expect(result).toMatchObject({ oomKilled: true, timedOut: false });
    expect(result.exitCode).not.toBe(0);
    expect(await containerGone(handle.containerId!)).toBe(true);
  });

  it('stops the container when the sweep is interrupted (Ctrl-C)', async () => {
    const controller = new AbortController();
    const req = request('echo started; sleep 60', { signal: controller.signal });
    const log = req.logPath;
    const running = runInspected(sandbox, req);
    await expect.poll(() => readFileSync(log, 'utf8'), { timeout: 60_000 }).toContain('started');
    controller.abort();
    const { result, handle } = await running;
    expect(result.interrupted).toBe(true);
    expect(await containerGone(handle.containerId!)).toBe(true);
  });

  it('fails up front, in one line saying what to install, when GPUs are asked of an engine without the NVIDIA runtime', async () => {
    const info = await client().info();
    expect(Object.keys(info.Runtimes ?? {})).not.toContain('nvidia'); // this machine has no GPU runtime
    const needsGpus = sandbox.preflight({ resources: { gpus: 1, shareGpus: false }, gpus: ['0'], image: CPU_IMAGE });
    await expect(needsGpus).rejects.toThrow(SandboxError);
    await expect(needsGpus).rejects.toThrow(/needs 1 GPU.*no NVIDIA runtime.*nvidia-container-toolkit/);
    const explicit = new DockerSandbox({ hosts: [MOUNT_HOST] }).preflight({
      resources: { gpus: 0, shareGpus: false },
      gpus: ['0', '1'],
      image: CPU_IMAGE,
    });
    await expect(explicit).rejects.toThrow(/--gpus 0,1 was given.*no NVIDIA runtime/);
    await expect(explicit).rejects.not.toThrow(/\n/);
  });

  it('says which image is missing and why it cannot be built', async () => {
    const missing = sandbox.preflight({ resources: { gpus: 0, shareGpus: false }, gpus: [], image: 'ai-researcher/no-such-recipe:latest' });
    await expect(missing).rejects.toThrow(SandboxError);
    await expect(missing).rejects.toThrow(/ai-researcher\/no-such-recipe:latest is not on .* no recipe to build it/);
  });
});

describe('DockerSandbox without a daemon', () => {
  it('says which socket it tried and what DOCKER_HOST is when no daemon answers', async () => {
    const socket = path.join(tempDir('researcher-no-daemon-'), 'docker.sock');
    const sandbox = new DockerSandbox({ hosts: [{ url: `unix://${socket}`, name: '', transfer: 'mount' }] });
    const preflight = sandbox.preflight({ resources: { gpus: 0, shareGpus: false }, gpus: [], image: CPU_IMAGE });
    await expect(preflight).rejects.toThrow(SandboxError);
    await expect(preflight).rejects.toThrow(new RegExp(`no Docker daemon answers at unix://${socket} \\(no socket there; DOCKER_HOST`));
  });
});
