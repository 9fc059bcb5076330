/**
 * Debug rounds on the in-memory sweep (real scheduler, pipeline and SQLite store; scripted
 * coder, sandbox and workspace): code that crashes when it runs goes back to the coder with the
 * failure and the log's tail, the fix is a new commit evaluated afresh, and the idea's reward is
 * its last attempt's. Also: no rounds when they are off, the round limit, several seeds, a
 * smoke step that catches the crash before the full run, and a sweep stopped mid-round.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunFailureFeedback, SandboxRequest } from '../../src/core/interfaces.ts';
import type { Edit } from '../../src/core/types.ts';
import { summarizeRun } from '../../src/report/run-summary.ts';
import { ScriptedCoder, ScriptedThinker } from '../doubles/agents.ts';
import { ScriptedSandbox, type RunOutcome } from '../doubles/sandbox.ts';
import { knobValue, memorySweep, until } from '../doubles/sweep.ts';

const TRACEBACK =
  'Traceback (most recent call last):\n  File "train.py", line 1, in <module>\n    from config import X\nNameError: name \'UNDEFINED\' is not defined\n';

/** config.py as the run's worktree holds it. */
function configOf(request: SandboxRequest): string {
  return readFileSync(path.join(request.workDir, 'config.py'), 'utf8');
}

/** Crashes (with a traceback, and a terminal escape the coder must not see) when config.py names UNDEFINED; scores X otherwise. */
function crashOnUndefined(request: SandboxRequest): RunOutcome {
  if (configOf(request).includes('UNDEFINED')) return { exitCode: 1, log: `\u001b[31mstep 1\u001b[0m\r\n${TRACEBACK}` };
  return { reward: -((knobValue(request) - 3) ** 2) };
}

/** Sets X to the idea's value, or (crash: true) to a name that is not defined; a fix puts the value in. */
function crashingCoder(options: { crashes: (ideaId: number) => boolean; fixes?: boolean }) {
  const seen: { ideaId: number; failures: readonly RunFailureFeedback[]; config: string | null }[] = [];
  const coder = new ScriptedCoder(async (idea, context, _feedback, failures) => {
    const config = await context.readFile('config.py');
    seen.push({ ideaId: context.ideaId, failures, config });
    const value = /x=(\S+)/.exec(idea.title)![1];
    const line = /^X = .*$/m.exec(config ?? '')![0];
    const crash = failures.length === 0 ? options.crashes(context.ideaId) : !(options.fixes ?? true);
    const edit: Edit = {
      kind: 'search-replace',
      blocks: [{ path: 'config.py', search: line, replace: crash ? `X = UNDEFINED + ${failures.length}` : `X = ${value}` }],
    };
    return edit;
  });
  return { coder, seen };
}

const thinker = () => new ScriptedThinker([(context) => ({ title: `x=${context.ideaId + 1}` })]);

describe('debug rounds', () => {
  it('sends a crash back to the coder with its traceback, commits the fix and scores it', async () => {
    const run = memorySweep({ ideas: 2 });
    const { coder, seen } = crashingCoder({ crashes: (id) => id === 1 });
    await run.sweep({ thinker: thinker(), coder, sandbox: new ScriptedSandbox(crashOnUndefined), debugRounds: 2 });
    const summary = summarizeRun(run.store);
    const [, one, two] = summary.ideas;
    expect(one).toMatchObject({ status: 'succeeded', reward: -1 }); // x=2: its fix's reward
    expect(two).toMatchObject({ status: 'succeeded', reward: 0 });
    expect(one.debugRounds).toHaveLength(1);
    const [round] = one.debugRounds;
    expect(round).toMatchObject({
      round: 1,
      status: 'committed',
      outcome: 'executed',
      failure: { attempt: 0, step: 'run', reason: 'crashed', exitCode: 1, seed: 0 },
    });
    expect(round.failure.logTail).toContain("NameError: name 'UNDEFINED' is not defined");
    expect(round.failure.logTail.includes('\u001b') || round.failure.logTail.includes('\r')).toBe(false); // control characters taken out
    expect(round.diff).toContain('-X = UNDEFINED + 0');
    expect(round.commit).toBe(one.commit);
    // The idea's diff is its whole change against its parent: the fix, not the crash.
    expect(one.diff).toContain('+X = 2');
    expect(one.diff).not.toContain('UNDEFINED');
    // Both attempts' evaluations are kept; the failed one's log is where it was.
    expect(one.evaluations.map((e) => ({ attempt: e.attempt, status: e.status }))).toEqual([
      { attempt: 0, status: 'failed' },
      { attempt: 1, status: 'succeeded' },
    ]);
    expect(one.evaluations[0].log).not.toBe(one.evaluations[1].log);
    expect(readFileSync(round.failure.log!, 'utf8')).toContain('NameError');
    // The coder saw the failure, and the failed attempt's code (what its fix applies to).
    const fixCall = seen.find((call) => call.ideaId === 1 && call.failures.length > 0)!;
    expect(fixCall.config).toContain('X = UNDEFINED + 0');
    expect(fixCall.failures[0]).toMatchObject({ attempt: 0, reason: 'crashed', exitCode: 1 });
    expect(fixCall.failures[0].diff).toContain('+X = UNDEFINED + 0');
    expect(summary.execution).toMatchObject({
      coded: 2,
      executed: 2,
      executedFirstAttempt: 1,
      rate: 1,
      rateWithoutDebugRounds: 0.5,
      debugRounds: 1,
    });
  });

  it('gives no round when debug rounds are off: the crash is the result', async () => {
    const run = memorySweep({ ideas: 1 });
    const { coder, seen } = crashingCoder({ crashes: () => true });
    await run.sweep({ thinker: thinker(), coder, sandbox: new ScriptedSandbox(crashOnUndefined), debugRounds: 0 });
    const [, one] = summarizeRun(run.store).ideas;
    expect(one).toMatchObject({ status: 'failed', failureReason: 'crashed', debugRounds: [] });
    expect(seen).toHaveLength(1);
  });

  it('stops after debugRounds fixes that crash too, with every round recorded', async () => {
    const run = memorySweep({ ideas: 1 });
    const { coder, seen } = crashingCoder({ crashes: () => true, fixes: false });
    await run.sweep({ thinker: thinker(), coder, sandbox: new ScriptedSandbox(crashOnUndefined), debugRounds: 2 });
    const [, one] = summarizeRun(run.store).ideas;
    expect(one).toMatchObject({ status: 'failed', failureReason: 'crashed' });
    expect(one.debugRounds.map((r) => [r.round, r.status, r.outcome])).toEqual([
      [1, 'committed', 'failed'],
      [2, 'committed', 'failed'],
    ]);
    expect(one.evaluations.map((e) => e.attempt)).toEqual([0, 1, 2]);
    // The second fix heard about both failures, oldest first.
    expect(seen[2].failures.map((f) => f.attempt)).toEqual([0, 1]);
  });

  it('records a round whose coder writes nothing usable, and the idea keeps its crash', async () => {
    const run = memorySweep({ ideas: 1 });
    const coder = new ScriptedCoder(async (_idea, _context, _feedback, failures) =>
      failures.length
        ? new Error('the model gave up')
        : { kind: 'search-replace', blocks: [{ path: 'config.py', search: 'X = 0.5', replace: 'X = UNDEFINED' }] },
    );
    await run.sweep({ thinker: thinker(), coder, sandbox: new ScriptedSandbox(crashOnUndefined), debugRounds: 2 });
    const [, one] = summarizeRun(run.store).ideas;
    expect(one).toMatchObject({ status: 'failed', failureReason: 'crashed' });
    expect(one.debugRounds).toMatchObject([
      { round: 1, status: 'coder-failed', outcome: null, coderMessage: expect.stringContaining('the model gave up') },
    ]);
  });

  it('with several seeds, fixes the first failing seed and runs every seed of the fix', async () => {
    const run = memorySweep({ ideas: 1, seeds: 2, confirmSeeds: 0 });
    const { coder } = crashingCoder({ crashes: () => true });
    await run.sweep({ thinker: thinker(), coder, sandbox: new ScriptedSandbox(crashOnUndefined), debugRounds: 1 });
    const [, one] = summarizeRun(run.store).ideas;
    expect(one).toMatchObject({ status: 'succeeded', rewardCount: 2 });
    expect(one.evaluations.map((e) => [e.attempt, e.seed, e.status])).toEqual([
      [0, 0, 'failed'],
      [1, 0, 'succeeded'],
      [1, 1, 'succeeded'],
    ]);
  });

  it('a failing smoke step goes to the coder without the full run; a passing one is recorded', async () => {
    const run = memorySweep({ ideas: 1 }, { smoke: { command: 'python3 train.py --steps 2', timeout: '10s' } });
    const { coder } = crashingCoder({ crashes: () => true });
    const sandbox = new ScriptedSandbox(crashOnUndefined);
    await run.sweep({ thinker: thinker(), coder, sandbox, debugRounds: 2 });
    const [, one] = summarizeRun(run.store).ideas;
    expect(one).toMatchObject({ status: 'succeeded', reward: -1 });
    expect(one.debugRounds).toMatchObject([
      { round: 1, status: 'committed', outcome: 'executed', failure: { step: 'smoke', seed: null, reason: 'crashed' } },
    ]);
    expect(one.debugRounds[0].failure.logTail).toContain('NameError');
    expect(one.smokeRuns.map((s) => [s.attempt, s.status])).toEqual([
      [0, 'failed'],
      [1, 'passed'],
    ]);
    // The crashing attempt never had a full run: only its smoke step ran.
    const ideaRuns = sandbox.started.filter((r) => r.ideaId === 1);
    expect(ideaRuns.map((r) => r.step.command)).toEqual(['python3 train.py --steps 2', 'python3 train.py --steps 2', 'python3 train.py']);
    expect(one.evaluations.map((e) => e.attempt)).toEqual([1]);
  });

  it('a smoke step that still fails after the last round fails the idea without a full run', async () => {
    const run = memorySweep({ ideas: 1 }, { smoke: { command: 'python3 train.py --steps 2', timeout: '10s' } });
    const { coder } = crashingCoder({ crashes: () => true, fixes: false });
    const sandbox = new ScriptedSandbox(crashOnUndefined);
    await run.sweep({ thinker: thinker(), coder, sandbox, debugRounds: 1 });
    const [, one] = summarizeRun(run.store).ideas;
    expect(one).toMatchObject({ status: 'failed', failureReason: 'crashed', evaluations: [] });
    expect(one.error).toMatch(/^the smoke step crashed \(exit code 1\)/);
    expect(sandbox.started.filter((r) => r.ideaId === 1).map((r) => r.step.command)).toEqual([
      'python3 train.py --steps 2',
      'python3 train.py --steps 2',
    ]);
  });

  it('a sweep stopped while the coder writes a fix takes the same round up on resume', async () => {
    const run = memorySweep({ ideas: 1 });
    const stop = new AbortController();
    let release: () => void = () => {};
    const blocked = new Promise<void>((resolve) => (release = resolve));
    let fixCalls = 0;
    const coder = new ScriptedCoder(async (_idea, context, _feedback, failures) => {
      if (failures.length) {
        fixCalls++;
        if (fixCalls === 1) {
          stop.abort(); // Ctrl-C while the model writes the fix
          await blocked;
        }
        return { kind: 'search-replace', blocks: [{ path: 'config.py', search: 'X = UNDEFINED', replace: 'X = 2' }] };
      }
      expect(await context.readFile('config.py')).toBe('X = 0.5\n');
      return { kind: 'search-replace', blocks: [{ path: 'config.py', search: 'X = 0.5', replace: 'X = UNDEFINED' }] };
    });
    const first = run.sweep({
      thinker: thinker(),
      coder,
      sandbox: new ScriptedSandbox(crashOnUndefined),
      debugRounds: 2,
      signal: stop.signal,
    });
    await until(() => stop.signal.aborted, 'the stop');
    release();
    expect((await first).stoppedBy).toBe('interrupted');
    expect(run.store.debugRounds(1)).toMatchObject([{ round: 1, status: 'coding' }]);

    await run.sweep({ thinker: thinker(), coder, sandbox: new ScriptedSandbox(crashOnUndefined), debugRounds: 2 });
    const [, one] = summarizeRun(run.store).ideas;
    expect(one).toMatchObject({ status: 'succeeded', reward: -1 });
    expect(one.debugRounds).toMatchObject([{ round: 1, status: 'committed', outcome: 'executed' }]);
    // The failed run was not run again on resume: one crash, one fixed run.
    expect(one.evaluations.map((e) => [e.attempt, e.status])).toEqual([
      [0, 'failed'],
      [1, 'succeeded'],
    ]);
  });
});
