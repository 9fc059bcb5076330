/**
 * `researcher apply`: a real sweep (the CLI's `run`, building each idea on the best so far) on an
 * environment whose code is a git repository; its ideas are then applied to that repository, to
 * fresh clones and to a plain folder, and the environment's own run + evaluate commands are
 * run on the result to check it reproduces the reward the sweep measured.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { loadEnvironment } from '../../src/environment/load.ts';
import { RunStore } from '../../src/store/run-store.ts';
import type { IdeaRecord } from '../../src/core/types.ts';
import { copyEnvironment, tempDir } from '../helpers/sweep.ts';

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=Researcher', '-c', 'user.email=researcher@lab', ...args], {
    cwd: dir,
    encoding: 'utf8',
  }).trim();
}

/** Runs the researcher CLI in-process, capturing what it prints. */
async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const log = vi.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => void (out += `${parts.join(' ')}\n`));
  const error = vi.spyOn(console, 'error').mockImplementation((...parts: unknown[]) => void (err += `${parts.join(' ')}\n`));
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += chunk.toString();
    return true;
  });
  try {
    return { code: await main(args), out, err };
  } finally {
    log.mockRestore();
    error.mockRestore();
    write.mockRestore();
  }
}

describe('researcher apply', () => {
  let environmentDir: string;
  let code: string;
  let runDir: string;
  let ideas: IdeaRecord[];
  let seed0Reward: Map<number, number>;

  beforeAll(async () => {
    environmentDir = copyEnvironment();
    code = path.join(environmentDir, 'code');
    git(code, 'init', '-q', '-b', 'main');
    git(code, 'add', '-A');
    git(code, 'commit', '-qm', 'quadratic code');
    const runs = tempDir('researcher-apply-');
    const run = await cli(
      'run',
      environmentDir,
      '--ideas',
      '3',
      '--seed',
      '6',
      '--build-on',
      'best',
      '--runs-dir',
      runs,
      '--run-id',
      'night',
    );
    expect(run.code).toBe(0);
    runDir = path.join(runs, 'night');
    const store = RunStore.open(runDir);
    ideas = store.ideas();
    seed0Reward = new Map(
      store
        .evaluations()
        .filter((e) => e.seed === 0 && e.reward !== null)
        .map((e) => [e.ideaId, e.reward!]),
    );
    store.close();
  }, 180_000);

  afterEach(() => vi.restoreAllMocks());

  const idea = (id: number) => ideas.find((i) => i.id === id)!;
  /** The idea with the longest chain of ancestors, and that chain (nearest first). */
  function deepest(): { leaf: IdeaRecord; chain: IdeaRecord[] } {
    let best = { leaf: ideas[1], chain: [] as IdeaRecord[] };
    for (const candidate of ideas.filter((i) => i.id !== 0 && i.commit)) {
      const chain: IdeaRecord[] = [];
      for (let p = candidate.parentId; p !== null && p !== 0; p = idea(p).parentId) chain.push(idea(p));
      if (chain.length > best.chain.length) best = { leaf: candidate, chain };
    }
    return best;
  }

  /** The environment's baseline check on a checkout: its run command, then its evaluator, seed 0. */
  async function measuredReward(checkout: string): Promise<number> {
    const { config, evaluatorDir } = loadEnvironment(environmentDir);
    const scratch = tempDir('researcher-check-');
    const outputDir = path.join(scratch, 'out');
    const evalDir = path.join(scratch, 'eval');
    mkdirSync(outputDir);
    mkdirSync(evalDir);
    const env = { PATH: process.env.PATH!, SEED: '0', OUTPUT_DIR: outputDir, EVAL_DIR: evalDir };
    await execa('bash', ['-c', config.run.command], { cwd: checkout, env, extendEnv: false });
    await execa('bash', ['-c', config.evaluate!.command], { cwd: evaluatorDir!, env, extendEnv: false });
    return JSON.parse(readFileSync(path.join(evalDir, 'metrics.json'), 'utf8')).score;
  }

  it("puts the best idea, with the ideas it was built on, on a branch of the environment's repository", async () => {
    const { code: exit, out } = await cli('apply', runDir, 'best');
    expect(exit).toBe(0);
    const best = ideas.filter((i) => i.reward !== null && i.id !== 0).sort((a, b) => b.reward! - a.reward!)[0];
    const branch = `researcher/night/idea-${best.id}`;
    expect(out).toContain(`created branch ${branch} in ${code}`);
    const titles: string[] = [];
    for (let i: IdeaRecord | undefined = best; i && i.id !== 0; i = i.parentId === null ? undefined : idea(i.parentId))
      titles.push(i.title);
    expect(git(code, 'log', '--format=%s', `main..${branch}`).split('\n')).toEqual(titles);
    // The exact commits the sweep evaluated, on top of the commit it started from.
    expect(git(code, 'rev-parse', branch)).toBe(best.commit);
    expect(git(code, 'merge-base', 'main', branch)).toBe(git(code, 'rev-parse', 'main'));
    // The user's checkout is untouched.
    expect(git(code, 'branch', '--show-current')).toBe('main');
    expect(git(code, 'status', '--porcelain')).toBe('');
    expect(git(code, 'worktree', 'list').split('\n')).toHaveLength(1);
  });

  it('applied to a fresh clone, the change reproduces the reward the sweep measured', async () => {
    const { leaf, chain } = deepest();
    expect(chain.length).toBeGreaterThan(0); // --build-on best stacks ideas
    const clone = path.join(tempDir('researcher-clone-'), 'code');
    git(path.dirname(clone), 'clone', '-q', code, clone);
    expect(await measuredReward(clone)).toBe(seed0Reward.get(0)); // the baseline, before applying

    const { code: exit } = await cli('apply', runDir, String(leaf.id), '--to', clone, '--branch', 'night-best');
    expect(exit).toBe(0);
    expect(git(clone, 'log', '--format=%s', 'main..night-best').split('\n')).toEqual([leaf, ...chain].map((i) => i.title));
    git(clone, 'switch', '-q', 'night-best');
    expect(await measuredReward(clone)).toBe(seed0Reward.get(leaf.id));
  });

  it('--onto replays the ideas on top of a branch that has moved on since the sweep', async () => {
    const { leaf, chain } = deepest();
    const clone = path.join(tempDir('researcher-clone-'), 'code');
    git(path.dirname(clone), 'clone', '-q', code, clone);
    writeFileSync(path.join(clone, 'NOTES.md'), 'lab notes\n');
    git(clone, 'add', 'NOTES.md');
    git(clone, 'commit', '-qm', 'lab notes');

    const { code: exit, out } = await cli('apply', runDir, String(leaf.id), '--to', clone, '--onto', 'main', '--branch', 'on-main');
    expect(exit).toBe(0);
    expect(out).toContain(`${chain.length + 1} commits on top of main`);
    expect(git(clone, 'log', '--format=%s', 'on-main').split('\n')).toEqual([
      ...[leaf, ...chain].map((i) => i.title),
      'lab notes',
      'quadratic code',
    ]);
    git(clone, 'switch', '-q', 'on-main');
    expect(readFileSync(path.join(clone, 'NOTES.md'), 'utf8')).toBe('lab notes\n');
    expect(await measuredReward(clone)).toBe(seed0Reward.get(leaf.id));
  });

  it('undoes everything when the change no longer applies, and says what to do', async () => {
    const { leaf } = deepest();
    const clone = path.join(tempDir('researcher-clone-'), 'code');
    git(path.dirname(clone), 'clone', '-q', code, clone);
    writeFileSync(path.join(clone, 'config.py'), 'X = 0.9\n');
    git(clone, 'commit', '-qam', 'hand-tuned X');

    const { code: exit, err } = await cli('apply', runDir, String(leaf.id), '--to', clone, '--onto', 'main', '--branch', 'clash');
    expect(exit).toBe(1);
    expect(err).toMatch(/^error: the change does not apply on top of main \([0-9a-f]{8}\): .+; the code has moved on since the run/);
    expect(err.trim().split('\n')).toHaveLength(1);
    expect(git(clone, 'branch', '--list', 'clash')).toBe('');
    expect(git(clone, 'worktree', 'list').split('\n')).toHaveLength(1);
    expect(git(clone, 'status', '--porcelain')).toBe('');
  });

  it('refuses what it cannot do, in one line', async () => {
    const taken = `researcher/night/idea-${ideas[1].id}`;
    git(code, 'branch', '-f', taken, 'main');
    const cases: [string[], RegExp][] = [
      [['apply', runDir, String(ideas[1].id)], new RegExp(`branch ${taken} already exists in .*; pick another with --branch`)],
      [['apply', runDir, '0'], /idea 0 is the baseline/],
      [['apply', runDir, '42'], /has no idea 42 \(its ideas are 1 to 3\)/],
      [['apply', runDir, 'the-good-one'], /expected an idea id .* or "best"/],
      [['apply', runDir, '1', '--patch', '--to', code], /--patch prints the change to stdout/],
      [['apply', runDir, '1', '--branch', 'no..dots'], /"no\.\.dots" is not a valid branch name/],
      [['apply', runDir, '1', '--to', tempDir()], /is not inside a git repository: pass --to a git repository/],
    ];
    for (const [args, message] of cases) {
      const { code: exit, err } = await cli(...args);
      expect(exit, args.join(' ')).toBe(2);
      expect(err.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(err, args.join(' ')).toMatch(message);
    }
    git(code, 'branch', '-D', taken);
  });

  it('for a plain-folder environment, explains what to do, and --patch applies there with git apply', async () => {
    const { leaf, chain } = deepest();
    rmSync(path.join(code, '.git'), { recursive: true, force: true }); // the environment is now a plain folder

    const refused = await cli('apply', runDir, String(leaf.id));
    expect(refused.code).toBe(2);
    expect(refused.err).toContain(`the environment's code (${code}) is a plain folder, not a git repository`);
    expect(refused.err).toContain('--patch >');
    expect(refused.err).toContain('--to <repository>');

    const { code: exit, out } = await cli('apply', runDir, String(leaf.id), '--patch');
    expect(exit).toBe(0);
    expect(out).toMatch(new RegExp(`^# ai-researcher run night, idea ${leaf.id}: `));
    expect(out).toContain(`includes the ideas it was built on: ${chain.map((i) => `${i.id} (${i.title})`).join(', ')}`);
    const patchFile = path.join(tempDir(), 'idea.patch');
    writeFileSync(patchFile, out);
    execFileSync('git', ['apply', patchFile], { cwd: code });
    expect(await measuredReward(code)).toBe(seed0Reward.get(leaf.id));
  });
});
