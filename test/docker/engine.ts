/**
 * Test helpers for the real Docker engines: which daemon to use, whether it answers, and
 * looking at what the sandbox left on it.
 *
 * The daemon is the one DOCKER_HOST names; without DOCKER_HOST, the private daemon that
 * scripts/docker-up.sh starts ("main"), then the standard socket. The second engine (for the
 * multi-host tests) is AI_RESEARCHER_DOCKER_HOST_2, or scripts/docker-up.sh's "second".
 * Tests skip (saying so) only when no daemon answers and CI is not 'true'; under CI they fail.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import Docker from 'dockerode';
import type { SandboxHandle, SandboxRequest } from '../../src/core/interfaces.ts';
import { dockerodeOptions } from '../../src/sandbox/docker/connection.ts';
import type { DockerSandbox } from '../../src/sandbox/docker/sandbox.ts';
import type { DockerHostSpec } from '../../src/sandbox/docker/hosts.ts';
import { REPO_ROOT, tempDir } from '../helpers/sweep.ts';

const PRIVATE_SOCKETS = '/tmp/ai-researcher-docker';

function pick(explicit: string | undefined, name: string): string {
  if (explicit) return explicit;
  const socket = path.join(PRIVATE_SOCKETS, name, 'docker.sock');
  if (existsSync(socket)) return `unix://${socket}`;
  return name === 'main' ? 'unix:///var/run/docker.sock' : `unix://${socket}`;
}

export const DOCKER_HOST = pick(process.env.DOCKER_HOST, 'main');
export const SECOND_DOCKER_HOST = pick(process.env.AI_RESEARCHER_DOCKER_HOST_2, 'second');
export const CPU_IMAGE = 'ai-researcher/cpu:latest';
export const QUADRATIC_DOCKER = path.join(REPO_ROOT, 'test/fixtures/quadratic-docker');
export const CLI = path.join(REPO_ROOT, 'bin/researcher.js');
export const IN_CI = process.env.CI === 'true';

export function client(url: string = DOCKER_HOST): Docker {
  return new Docker(dockerodeOptions(url));
}

export async function answers(url: string): Promise<boolean> {
  try {
    await (client(url).ping as (options: object) => Promise<unknown>)({ abortSignal: AbortSignal.timeout(5_000) });
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether the Docker tests run: a daemon answers, or CI is 'true' (where a missing engine must
 * fail the tests rather than skip them). Warns, naming what is missing, when they are skipped.
 */
export async function dockerTestsRun(what: string, urls: string[] = [DOCKER_HOST]): Promise<boolean> {
  const missing: string[] = [];
  for (const url of urls) if (!(await answers(url))) missing.push(url);
  if (missing.length === 0) return true;
  if (IN_CI) return true; // run, and fail: CI must have its engines
  console.warn(
    `skipping ${what}: no Docker daemon answers at ${missing.join(', ')} (start one with scripts/docker-up.sh, or set DOCKER_HOST)`,
  );
  return false;
}

/** Containers (running or not) that carry a run's label. */
export async function containersOfRun(runId: string, url: string = DOCKER_HOST): Promise<Docker.ContainerInfo[]> {
  return client(url).listContainers({ all: true, filters: { label: [`ai-researcher.run=${runId}`] } });
}

/** Per-run code images of a run. */
export async function codeImagesOfRun(runId: string, url: string = DOCKER_HOST): Promise<Docker.ImageInfo[]> {
  return client(url).listImages({ filters: { label: [`ai-researcher.run=${runId}`] } });
}

/** A run id no other test (or earlier test run) uses. */
export function uniqueRunId(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}`;
}

// ─── step requests ─────────────────────────────────────────────────────────────────────────

export const MOUNT_HOST: DockerHostSpec = { url: DOCKER_HOST, name: '', transfer: 'mount' };
export const COPY_HOST: DockerHostSpec = { url: DOCKER_HOST, name: 'remote', transfer: 'copy' };

/** A step request as the loop makes it, on a fresh work dir holding code.txt. */
export function request(command: string, overrides: Partial<SandboxRequest> = {}): SandboxRequest {
  const dir = tempDir('researcher-docker-');
  const workDir = path.join(dir, 'work');
  mkdirSync(workDir);
  writeFileSync(path.join(workDir, 'code.txt'), 'the code\n');
  return {
    runId: uniqueRunId('sandbox'),
    ideaId: 7,
    seed: 3,
    kind: 'run',
    step: { command, timeout: 60_000, env: {}, passEnv: [] },
    resources: { gpus: 0, shareGpus: false },
    network: false,
    workDir,
    outputDir: path.join(dir, 'outputs'),
    logPath: path.join(dir, 'run.log'),
    gpus: [],
    image: CPU_IMAGE,
    ...overrides,
  };
}

/** Runs a request, inspecting its container as soon as it exists. */
export async function runInspected(sandbox: DockerSandbox, req: SandboxRequest) {
  let inspected: Promise<Docker.ContainerInspectInfo> | undefined;
  let handle: SandboxHandle | undefined;
  const result = await sandbox.run({
    ...req,
    onStarted: (h) => {
      handle = h;
      inspected = client().getContainer(h.containerId!).inspect();
    },
  });
  return { result, info: await inspected!, handle: handle!, log: readFileSync(req.logPath, 'utf8') };
}

export async function containerGone(id: string): Promise<boolean> {
  try {
    await client().getContainer(id).inspect();
    return false;
  } catch (error) {
    return (error as { statusCode?: number }).statusCode === 404;
  }
}

// ─── environments for CLI sweeps ──────────────────────────────────────────────────────────────

/**
 * A private copy of the quadratic environment for the Docker sandbox, with `prelude` (Python)
 * put at the top of train.py, e.g. to make one idea slow or memory-hungry by its IDEA_ID.
 */
export function dockerEnvironment(prelude: string, run: { timeout?: string; memory?: string } = {}): string {
  const dir = tempDir('researcher-docker-env-');
  const quadratic = path.join(REPO_ROOT, 'test/fixtures/quadratic');
  const code = path.join(dir, 'code');
  mkdirSync(path.join(code, 'data'), { recursive: true });
  for (const file of ['config.py', 'data/public.json'])
    writeFileSync(path.join(code, file), readFileSync(path.join(quadratic, 'code', file)));
  writeFileSync(path.join(code, 'train.py'), `${prelude}\n${readFileSync(path.join(quadratic, 'code/train.py'), 'utf8')}`);
  const yaml = readFileSync(path.join(QUADRATIC_DOCKER, 'environment.yaml'), 'utf8')
    .replace('name: quadratic-docker', 'name: quadratic-docker-test')
    .replace('path: ../quadratic/code', 'path: ./code')
    .replace('dir: ../quadratic/evaluator', `dir: ${path.join(quadratic, 'evaluator')}`)
    .replace(/  timeout: 60s\n  resources:/, `  timeout: ${run.timeout ?? '60s'}\n  resources:`)
    .replace('memory: 512m', `memory: ${run.memory ?? '512m'}`);
  writeFileSync(path.join(dir, 'environment.yaml'), yaml);
  return dir;
}

/** Runs the researcher CLI against the test engine (DOCKER_HOST set), without blocking the test's event loop. */
export function researcher(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, DOCKER_HOST, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
