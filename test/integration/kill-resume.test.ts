/**
 * kill -9 mid-sweep, then `researcher resume`: nothing finished is lost or re-run, what was in
 * flight runs again, and no orphan process or worktree is left.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { processGroupAlive } from '../../src/sandbox/processes.ts';
import { RunStore } from '../../src/store/run-store.ts';
import { bubblewrapTestsRun } from '../helpers/bubblewrap.ts';
import { REPO_ROOT, copyEnvironment, tempDir } from '../helpers/sweep.ts';

const CLI = path.join(REPO_ROOT, 'bin/researcher.js');

function slowEnvironment(): string {
  const dir = copyEnvironment();
  const train = path.join(dir, 'code/train.py');
  // Slow enough that an idea is always in flight when we kill the researcher.
  writeFileSync(train, `import time\ntime.sleep(2)\n${readFileSync(train, 'utf8')}`);
  return dir;
}

/** Isolated (bubblewrap), and unisolated as on a machine without it (the offline agent may). */
const MODES = [
  ...(bubblewrapTestsRun('kill -9 and resume under bubblewrap') ? [{ isolation: 'bubblewrap', env: {} }] : []),
  { isolation: 'none', env: { AI_RESEARCHER_BWRAP: '/nonexistent/bwrap' } },
];

describe.each(MODES)('kill -9 and resume (isolation: $isolation)', ({ isolation, env }) => {
  const runCli = (args: string[]) =>
    execFileSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env, CI: 'true' } });

  it('loses no finished idea, re-runs only what was in flight, and leaves no orphan', async () => {
    const environmentDir = slowEnvironment();
    const runsDir = tempDir('researcher-runs-');
    const runDir = path.join(runsDir, 'killed');
    const child = spawn(
      process.execPath,
      [
        CLI,
        'run',
        environmentDir,
        '--ideas',
        '4',
        '--baseline-seeds',
        '1',
        '--confirm-seeds',
        '0',
        '--runs-dir',
        runsDir,
        '--run-id',
        'killed',
      ],
      {
        stdio: 'ignore',
        env: { ...process.env, ...env },
      },
    );

    // Wait until at least one idea has finished and another one's run is under way.
    let store: RunStore | undefined;
    await expect
      .poll(
        () => {
          try {
            store ??= RunStore.open(runDir);
            const finished = store.ideas().filter((i) => i.id > 0 && (i.status === 'succeeded' || i.status === 'failed'));
            const running = store.runningEvaluations().filter((e) => e.handle?.pid);
            return finished.length >= 1 && running.length >= 1;
          } catch {
            return false;
          }
        },
        { timeout: 90_000, interval: 200 },
      )
      .toBe(true);
    const before = store!.ideas().filter((i) => i.status === 'succeeded' || i.status === 'failed');
    const orphan = store!.runningEvaluations().find((e) => e.handle?.pid)!.handle!;
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    if (isolation === 'bubblewrap') {
      // Its sandbox dies with the researcher (--die-with-parent): nothing is left to reap.
      await expect.poll(() => processGroupAlive(orphan.pid!), { timeout: 10_000 }).toBe(false);
    } else {
      // The run step the researcher started is still running: an orphan until resume reaps it.
      expect(processGroupAlive(orphan.pid!)).toBe(true);
    }

    const output = runCli(['resume', runDir]);
    expect(output).toMatch(/resuming run killed/);
    expect(processGroupAlive(orphan.pid!)).toBe(false);

    const ideas = store!.ideas();
    expect(ideas).toHaveLength(5); // the baseline and 4 ideas, none twice
    expect(ideas.every((i) => i.status === 'succeeded' || i.status === 'failed')).toBe(true);
    for (const idea of before) {
      const after = ideas.find((i) => i.id === idea.id)!;
      expect(after.finishedAt).toBe(idea.finishedAt); // not re-run
      expect(after.reward).toBe(idea.reward);
    }
    // One finished evaluation per idea: the in-flight one was re-run, not duplicated.
    for (const idea of ideas.filter((i) => i.status === 'succeeded')) {
      expect(store!.evaluations(idea.id).map((e) => e.status)).toEqual(['succeeded']);
    }
    const worktrees = execFileSync('git', ['worktree', 'list', '--porcelain'], { cwd: path.join(runDir, 'repo'), encoding: 'utf8' });
    expect(worktrees.match(/^worktree /gm)).toHaveLength(1);
    expect(readdirSync(path.join(runDir, 'worktrees'))).toEqual([]);

    const shown = JSON.parse(runCli(['show', runDir, '--json']));
    expect(shown.ideas).toHaveLength(5);
    expect(shown.run.status).toBe('finished');
    store!.close();
  });
});
