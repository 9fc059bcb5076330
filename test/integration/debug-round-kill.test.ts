/**
 * kill -9 in the middle of a debug round: the real CLI (a child process) with the default
 * OpenAI-compatible agent against a loopback server, on test/fixtures/quadratic. The coder's
 * first change crashes (a NameError); while it writes the fix (the server answers its first fix
 * request with a rate limit to wait out) the researcher is killed; `resume` takes the same round
 * up, commits the fix once and runs it: no round is lost or recorded twice, and the crashed run
 * is not run again.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RunStore } from '../../src/store/run-store.ts';
import { CLEAN_ENV, researcher, showJson } from '../agents/cli-harness.ts';
import { FakeOpenAIServer } from '../fakes/openai-server.ts';
import { idea, messagesOf, roleOf } from '../fakes/researcher-replies.ts';
import type { Reply } from '../fakes/scripted-server.ts';
import { QUADRATIC, REPO_ROOT, tempDir } from '../helpers/sweep.ts';

const CLI = path.join(REPO_ROOT, 'bin/researcher.js');
const CRASH = { text: 'config.py\n<<<<<<< SEARCH\nX = 0.5\n=======\nX = UNDEFINED_X\n>>>>>>> REPLACE\n' };
const FIX = { text: 'config.py\n<<<<<<< SEARCH\nX = UNDEFINED_X\n=======\nX = 2\n>>>>>>> REPLACE\n' };

let server: FakeOpenAIServer | undefined;
afterAll(async () => server?.close());

describe('a researcher killed while the coder writes a fix', () => {
  it('resumes the same debug round: one round, one fix, the crash not run again', { timeout: 300_000 }, async () => {
    server = await FakeOpenAIServer.start({ apiKey: 'sk-local', models: ['qwen-local'] });
    let fixRequests = 0;
    server.respond((request): Reply => {
      if (roleOf(request) === 'thinker') return idea(2);
      if (!messagesOf(request)[0].text.includes('## Your change ran and failed')) return CRASH;
      // The first fix request waits out a long rate limit: the researcher is killed meanwhile.
      return ++fixRequests === 1 ? { status: 429, message: 'Rate limit reached', headers: { 'retry-after': '60' } } : FIX;
    });
    const runsDir = tempDir('researcher-runs-');
    const runDir = path.join(runsDir, 'killed');
    // No key or base URL of the machine running the tests reaches the child: only the loopback server's.
    const env: NodeJS.ProcessEnv = { ...process.env, OPENAI_BASE_URL: server.url, OPENAI_API_KEY: 'sk-local' };
    for (const key of Object.keys(CLEAN_ENV)) if (!key.startsWith('OPENAI_B') && key !== 'OPENAI_API_KEY') delete env[key];
    const child = spawn(
      process.execPath,
      [
        CLI,
        'run',
        QUADRATIC,
        '--agent',
        'agents/openai-compatible.yaml',
        '--ideas',
        '1',
        '--baseline-seeds',
        '1',
        '--confirm-seeds',
        '0',
        '--runs-dir',
        runsDir,
        '--run-id',
        'killed',
      ],
      { stdio: 'ignore', env, cwd: REPO_ROOT },
    );
    let store: RunStore | undefined;
    await expect
      .poll(
        () => {
          try {
            store ??= RunStore.open(runDir);
            return fixRequests >= 1 && store.debugRounds(1).some((round) => round.status === 'coding');
          } catch {
            return false;
          }
        },
        { timeout: 120_000, interval: 100 },
      )
      .toBe(true);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    store?.close();

    const resumed = await researcher(['resume', runDir], { ...CLEAN_ENV, OPENAI_BASE_URL: server.url, OPENAI_API_KEY: 'sk-local' });
    expect(resumed.code, resumed.stderr).toBe(0);
    const summary = await showJson(runDir);
    const one = summary.ideas.find((i) => i.id === 1)!;
    expect(one).toMatchObject({ status: 'succeeded', reward: 9 });
    expect(one.debugRounds).toHaveLength(1);
    expect(one.debugRounds[0]).toMatchObject({ round: 1, status: 'committed', outcome: 'executed', failure: { reason: 'crashed' } });
    expect(one.debugRounds[0].failure.logTail).toContain("NameError: name 'UNDEFINED_X' is not defined");
    expect(one.evaluations.map((e) => [e.attempt, e.status])).toEqual([
      [0, 'failed'],
      [1, 'succeeded'],
    ]);
    expect(fixRequests).toBe(2);
  });
});
