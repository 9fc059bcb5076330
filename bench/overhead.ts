/**
 * Overhead per idea: what the framework spends on an idea besides the agents' thinking and the
 * run itself, measured on an environment whose run does nothing (`echo score=1`), for a small
 * repository and a generated large one, beside the floors it is compared with, in the same run:
 *
 * - `git worktree add` of the repository alone (what any design that materialises the whole
 *   repository per idea pays at least);
 * - `docker run --rm` of the sandbox image with a no-op command (Docker only, when DOCKER_HOST
 *   reaches a daemon that has the image).
 *
 * Two figures per idea: "diff ready → reward recorded" (from the moment the coder returns the edit
 * until the result is in the store) and "all" (from the moment the thinker's draft is ready,
 * so the worktree checkout is included). The run's own time, as the sandbox reports it, is
 * subtracted from both.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { OneShotCoder } from '../src/agents/one-shot.ts';
import type { AgentResult, Coder, ResearchContext, Sandbox, Thinker } from '../src/core/interfaces.ts';
import { runSweep } from '../src/core/sweep/index.ts';
import type { SweepEvent } from '../src/core/progress.ts';
import { RunConfig } from '../src/core/run-config.ts';
import { ZERO_USAGE, type Edit, type IdeaDraft } from '../src/core/types.ts';
import { loadEnvironment } from '../src/environment/load.ts';
import { GpuPool } from '../src/sandbox/gpu-pool.ts';
import { createSandbox } from '../src/sandbox/index.ts';
import { createStrategy } from '../src/search/index.ts';
import { RunStore } from '../src/store/run-store.ts';
import { GitWorkspace } from '../src/workspace/git.ts';
import { benchDir, repeatMs, summarize, type Summary } from './stats.ts';

export interface OverheadRow {
  repo: string;
  files: number;
  megabytes: number;
  /** 'local' is bubblewrap-isolated (where it works); 'local-unisolated' the plain process, for comparison. */
  sandbox: SandboxVariant;
  /** Framework time per idea from the edit's arrival to the recorded reward, run time excluded. */
  diffToReward: Summary;
  /** Framework time per idea from the thinker's draft to the recorded reward (checkout included). */
  perIdea: Summary;
  /** The floor measured beside it: worktree add (local) or a no-op container (docker). */
  floorName: string;
  floor: Summary;
  /** diffToReward.median / floor.median, and perIdea.median / floor.median. */
  ratio: number;
  ratioAll: number;
}

type SandboxVariant = 'local' | 'local-unisolated' | 'docker';

export interface OverheadResult {
  rows: OverheadRow[];
  docker: string;
}

const IDENTITY = ['-c', 'user.name=bench', '-c', 'user.email=bench@localhost', '-c', 'commit.gpgsign=false'];

function git(cwd: string, args: string[]): string {
  return execFileSync('git', [...IDENTITY, ...args], { cwd, encoding: 'utf8', maxBuffer: 1 << 28 });
}

/** An environment folder around `codeDir` whose run prints a reward and does nothing else. */
function noopEnvironment(codeDir: string, image?: string): string {
  const dir = benchDir('env');
  writeFileSync(
    path.join(dir, 'environment.yaml'),
    [
      'name: overhead-bench',
      'description: A run that does nothing, to measure what the framework costs per idea.',
      `code:\n  path: ${JSON.stringify(codeDir)}`,
      'editable: ["config.py"]',
      'run:\n  command: echo score=1\n  timeout: 60s',
      "reward:\n  source: regex\n  pattern: 'score=(\\S+)'\n  goal: maximize",
      image ? `image: ${JSON.stringify(image)}` : '',
    ].join('\n'),
  );
  return dir;
}

/** A small repository: a config file and a handful of source files. */
function smallRepo(): { dir: string; files: number; megabytes: number } {
  const dir = path.join(benchDir('small-repo'), 'code');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'config.py'), 'X = 0\n');
  for (let i = 0; i < 9; i++) writeFileSync(path.join(dir, `module_${i}.py`), `def f${i}(x):\n    return x + ${i}\n`.repeat(20));
  git(dir, ['init', '-q', '--initial-branch', 'main']);
  git(dir, ['add', '-A']);
  git(dir, ['commit', '-q', '-m', 'small']);
  return { dir, files: 10, megabytes: 0.01 };
}

/**
 * A generated repository of `files` files of 10 kB (20,000 → 200 MB), kept between bench runs
 * (it takes a while to write) in the system temp folder.
 */
function largeRepo(files: number, log: (line: string) => void): { dir: string; files: number; megabytes: number } {
  const dir = path.join(os.tmpdir(), 'researcher-bench-cache', `large-${files}x10k-v1`);
  const megabytes = (files * 10_000) / 1e6;
  if (existsSync(path.join(dir, '.git', 'bench-complete'))) return { dir, files, megabytes };
  log(`overhead: generating a ${files}-file, ${megabytes} MB repository (kept in ${path.dirname(dir)} for later runs)…`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  let state = 12345;
  const line = () => {
    let text = '';
    for (let i = 0; i < 12; i++) {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      text += state.toString(36).padStart(7, '0');
    }
    return `${text.slice(0, 78)}\n`;
  };
  for (let d = 0; d < files / 100; d++) {
    const sub = path.join(dir, 'src', `pkg_${String(d).padStart(4, '0')}`);
    mkdirSync(sub, { recursive: true });
    for (let f = 0; f < 100; f++) {
      let body = '';
      while (body.length < 10_000 - 79) body += line();
      writeFileSync(path.join(sub, `file_${String(f).padStart(3, '0')}.txt`), body.padEnd(10_000 - 1, '#') + '\n');
    }
  }
  writeFileSync(path.join(dir, 'config.py'), 'X = 0\n');
  git(dir, ['init', '-q', '--initial-branch', 'main']);
  git(dir, ['add', '-A']);
  git(dir, ['commit', '-q', '-m', 'large']);
  writeFileSync(path.join(dir, '.git', 'bench-complete'), '');
  return { dir, files: files + 1, megabytes };
}

/** A coder that sets X to the idea's id, recording when each edit was ready. */
function timedAgents(diffReady: Map<number, number>): { thinker: Thinker; coder: Coder } {
  return {
    thinker: {
      name: 'instant',
      async propose(context: ResearchContext): Promise<AgentResult<IdeaDraft>> {
        return {
          value: {
            title: `set X to ${context.ideaId} (${context.ideaId.toString(36)}x)`,
            hypothesis: 'bench',
            plan: `X = ${context.ideaId}`,
            expectedEffect: '',
          },
          usage: ZERO_USAGE,
        };
      },
    },
    coder: new OneShotCoder({
      name: 'instant',
      async implement(_idea: IdeaDraft, context: ResearchContext): Promise<AgentResult<Edit>> {
        const current = (await context.readFile('config.py')) ?? 'X = 0\n';
        diffReady.set(context.ideaId, performance.now());
        return {
          value: { kind: 'search-replace', blocks: [{ path: 'config.py', search: current, replace: `X = ${context.ideaId}\n` }] },
          usage: ZERO_USAGE,
        };
      },
    }),
  };
}

/** Runs `ideas` ideas serially and returns the per-idea overheads (ms). */
async function measureSweep(environmentDir: string, variant: SandboxVariant, ideas: number) {
  const sandboxName = variant === 'docker' ? 'docker' : 'local';
  const environment = loadEnvironment(environmentDir);
  const runDir = path.join(benchDir('overhead-run'), 'run');
  const workspace = await GitWorkspace.create(environment, runDir);
  const config = RunConfig.parse({
    runId: 'overhead-bench',
    createdAt: new Date().toISOString(),
    environmentDir: environment.dir,
    environmentName: environment.config.name,
    agent: 'instant',
    sandbox: sandboxName,
    ideas,
  });
  const store = RunStore.create(runDir, config);
  const sandbox: Sandbox = await createSandbox(sandboxName, variant === 'local-unisolated' ? { isolation: 'none' } : {}, environment);
  await sandbox.preflight({ resources: environment.config.run.resources, gpus: [], image: environment.config.image });
  const diffReady = new Map<number, number>();
  const draftReady = new Map<number, number>();
  const finished = new Map<number, number>();
  const progress = {
    report(event: SweepEvent) {
      if (event.type === 'idea-proposed') draftReady.set(event.idea.id, performance.now());
      if (event.type === 'idea-finished') finished.set(event.idea.id, performance.now());
    },
  };
  const sweep = () =>
    runSweep({
      store,
      environment,
      workspace,
      sandbox,
      ...timedAgents(diffReady),
      strategy: createStrategy(config),
      gpuPool: new GpuPool([]),
      progress,
      signal: new AbortController().signal,
    });
  try {
    await sweep();
  } finally {
    await sandbox.close?.();
  }
  const diffToReward: number[] = [];
  const perIdea: number[] = [];
  for (const idea of store.ideas().filter((i) => i.id > 0)) {
    if (idea.status !== 'succeeded') throw new Error(`overhead bench: idea ${idea.id} ${idea.status}: ${idea.error}`);
    const runMs = store.evaluations(idea.id).reduce((sum, e) => sum + (e.durationMs ?? 0), 0);
    diffToReward.push(finished.get(idea.id)! - diffReady.get(idea.id)! - runMs);
    perIdea.push(finished.get(idea.id)! - draftReady.get(idea.id)! - runMs);
  }
  store.close();
  return { diffToReward, perIdea, repoDir: workspace.repoDir, baseCommit: workspace.baseCommit };
}

/** `git worktree add` of the run's repository at its base commit, alone. */
async function worktreeFloor(repoDir: string, commit: string, repeats: number): Promise<Summary> {
  const parent = benchDir('floor');
  const samples: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const dir = path.join(parent, `wt-${i}`);
    samples.push((await repeatMs(1, () => execa('git', ['worktree', 'add', '--detach', '--quiet', dir, commit], { cwd: repoDir }))).median);
    rmSync(dir, { recursive: true, force: true });
    await execa('git', ['worktree', 'prune'], { cwd: repoDir });
  }
  return summarize(samples);
}

async function dockerFloor(image: string, repeats: number): Promise<Summary> {
  return repeatMs(repeats, () => execa('docker', ['run', '--rm', '--network', 'none', image, 'true']));
}

/** The Docker daemon and image the bench can use, or why not. */
async function dockerAvailable(image: string): Promise<string | null> {
  if (!process.env.DOCKER_HOST) return 'DOCKER_HOST is not set';
  const info = await execa('docker', ['image', 'inspect', image], { reject: false });
  if (info.exitCode !== 0) return `the daemon at ${process.env.DOCKER_HOST} has no image ${image} (sandboxes/cpu/build.sh builds it)`;
  return null;
}

export async function overheadBench(options: { quick: boolean; log: (line: string) => void }): Promise<OverheadResult> {
  const { quick, log } = options;
  const repeats = quick ? 3 : 5;
  const image = process.env.AI_RESEARCHER_CPU_IMAGE ?? 'ai-researcher/cpu:latest';
  const dockerMissing = await dockerAvailable(image);
  const repos = [
    { name: 'small', ...smallRepo(), ideas: quick ? 3 : 8 },
    { name: quick ? 'large (quick: 2,000 files)' : 'large', ...largeRepo(quick ? 2_000 : 20_000, log), ideas: quick ? 2 : 4 },
  ];
  const rows: OverheadRow[] = [];
  for (const repo of repos) {
    // Isolated and unisolated local steps side by side: what bubblewrap (and the code copy) costs.
    const sandboxes: SandboxVariant[] = dockerMissing ? ['local', 'local-unisolated'] : ['local', 'local-unisolated', 'docker'];
    for (const sandbox of sandboxes) {
      log(`overhead: ${repo.name} repository, ${sandbox} sandbox, ${repo.ideas} ideas…`);
      const measured = await measureSweep(noopEnvironment(repo.dir, sandbox === 'docker' ? image : undefined), sandbox, repo.ideas);
      const floorName = sandbox !== 'docker' ? 'git worktree add' : 'docker run --rm (no-op)';
      const floor =
        sandbox !== 'docker' ? await worktreeFloor(measured.repoDir, measured.baseCommit, repeats) : await dockerFloor(image, repeats);
      const diffToReward = summarize(measured.diffToReward);
      const perIdea = summarize(measured.perIdea);
      rows.push({
        repo: repo.name,
        files: repo.files,
        megabytes: repo.megabytes,
        sandbox,
        diffToReward,
        perIdea,
        floorName,
        floor,
        ratio: diffToReward.median / floor.median,
        ratioAll: perIdea.median / floor.median,
      });
    }
  }
  return { rows, docker: dockerMissing ?? `${process.env.DOCKER_HOST} (${image})` };
}
