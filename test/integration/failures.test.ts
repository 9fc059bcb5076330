/**
 * Failures are results: each way an idea can go wrong is recorded as a failed idea with a clear
 * reason and its log, and the sweep goes on to the next idea.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Edit } from '../../src/core/types.ts';
import { copyEnvironment, createTestRun, scriptedCoder, scriptedThinker, setX } from '../helpers/sweep.ts';

/** An edit that replaces train.py with `body`. */
function trainPy(body: string): Edit {
  return {
    kind: 'search-replace',
    blocks: [{ path: 'train.py', search: 'print(f"training with X={X} seed={seed}", flush=True)', replace: body }],
  };
}

function shortTimeouts(environmentDir: string): string {
  const file = path.join(environmentDir, 'environment.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace('timeout: 20s', 'timeout: 5s'));
  return environmentDir;
}

describe('failures are recorded and the sweep goes on', () => {
  it('records crash, hang, missing metric, unparsable edit and coder errors, then keeps going', async () => {
    const run = await createTestRun(shortTimeouts(copyEnvironment()), { ideas: 6, repairRounds: 1 });
    const edits: (Edit | (() => Edit))[] = [
      setX('9'), // the training script raises: a crash
      trainPy('import time; time.sleep(60)'), // hangs past the 2 s limit
      trainPy('import sys; sys.exit(0)'), // exits cleanly before writing any prediction
      { kind: 'search-replace', blocks: [{ path: 'config.py', search: 'Y = 1', replace: 'Y = 2' }] }, // does not apply…
      { kind: 'search-replace', blocks: [{ path: 'config.py', search: 'Z = 1', replace: 'Z = 2' }] }, // …nor does the repair
      () => {
        throw new Error('model returned garbage');
      },
      setX('3'), // and a good idea still runs afterwards
    ];
    const coder = scriptedCoder(edits as Edit[]);
    const summary = await run.sweep({ thinker: scriptedThinker([{}]), coder });
    expect(summary.stoppedBy).toBe('budget');

    const ideas = run.store.ideas();
    const byId = (id: number) => ideas.find((idea) => idea.id === id)!;
    expect(byId(1)).toMatchObject({ status: 'failed', failureReason: 'crashed' });
    expect(byId(1).error).toMatch(/exit code 1.*RuntimeError: diverged at X=9/);
    expect(byId(2)).toMatchObject({ status: 'failed', failureReason: 'timed-out' });
    expect(byId(2).error).toMatch(/passed its 5s time limit/);
    expect(byId(3)).toMatchObject({ status: 'failed', failureReason: 'no-metric' });
    expect(byId(3).error).toMatch(/evaluator rejected the run's outputs.*no usable prediction\.json/);
    expect(byId(4)).toMatchObject({ status: 'failed', failureReason: 'patch-failed' });
    expect(byId(4).error).toMatch(/after 2 attempt\(s\).*config\.py/);
    expect(byId(5)).toMatchObject({ status: 'failed', failureReason: 'agent-error' });
    expect(byId(5).error).toMatch(/model returned garbage/);
    expect(byId(6)).toMatchObject({ status: 'succeeded' });
    expect(byId(6).reward).toBeCloseTo(10);

    // Each failed run keeps its log and a readable idea.md with the reason.
    const crashLog = readFileSync(path.join(run.runDir, 'ideas/1/seed-0/run.log'), 'utf8');
    expect(crashLog).toContain('Traceback');
    expect(readFileSync(path.join(run.runDir, 'ideas/2/idea.md'), 'utf8')).toMatch(/status: failed \(timed-out\)/);
    expect(readFileSync(path.join(run.runDir, 'ideas/6/patch.diff'), 'utf8')).toContain('+X = 3');
  });

  it('records a metric that is not a number as bad-metric', async () => {
    const environmentDir = copyEnvironment();
    const file = path.join(environmentDir, 'environment.yaml');
    // No evaluator: the reward is read from the run's own output with a regex.
    writeFileSync(
      file,
      readFileSync(file, 'utf8')
        .replace(/evaluate:\n(  .*\n)+/, '')
        .replace(/reward:\n(  .*\n)+/, "reward:\n  source: regex\n  pattern: 'loss=(\\S+)'\n  goal: minimize\n"),
    );
    writeFileSync(path.join(environmentDir, 'code/train.py'), 'from config import X\nprint(f"loss={abs(X - 3)}")\n');
    const run = await createTestRun(environmentDir, { ideas: 2 });
    const coder = scriptedCoder([
      { kind: 'search-replace', blocks: [{ path: 'train.py', search: 'print(f"loss={abs(X - 3)}")', replace: 'print("loss=nan")' }] },
      setX('2.5'),
    ]);
    await run.sweep({ thinker: scriptedThinker([{}]), coder });
    expect(run.store.idea(0)!.reward).toBeCloseTo(2.5);
    expect(run.store.idea(1)).toMatchObject({ status: 'failed', failureReason: 'bad-metric' });
    expect(run.store.idea(1)!.error).toMatch(/captured "nan", not a decimal number/);
    expect(run.store.idea(2)!.reward).toBeCloseTo(0.5);
  });
});
