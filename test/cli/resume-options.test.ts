/**
 * `researcher resume` changes a run's settings from here on: the idea budget and the
 * learning-curve stopping rule. A bad value is refused in one line before anything is written.
 */
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLEAN_ENV, researcher, showJson } from '../agents/cli-harness.ts';
import { curvesEnvironment } from '../helpers/curves.ts';
import { tempDir } from '../helpers/sweep.ts';

describe('researcher resume --early-stop', () => {
  it('changes the stopping rule for the rest of the sweep, and refuses a bad rule changing nothing', async () => {
    const environment = curvesEnvironment();
    // A knob, so that the offline agent has something to try.
    appendFileSync(
      path.join(environment, 'environment.yaml'),
      "knobs:\n  - { name: x, file: config.py, pattern: '^X = (\\S+)', type: float, min: 0.1, max: 1.0 }\n",
    );
    const runsDir = tempDir('resume-options-');
    const runDir = path.join(runsDir, 'curves-run');
    const common = ['--runs-dir', runsDir, '--run-id', 'curves-run', '--baseline-seeds', '1', '--confirm-seeds', '0', '--test-top', '0'];
    const first = await researcher(['run', environment, '--ideas', '1', '--early-stop', 'off', ...common], CLEAN_ENV);
    expect(first.code, first.stderr).toBe(0);
    expect((await showJson(runDir)).run).toMatchObject({ ideas: 1, earlyStop: 'off' });

    const refused = await researcher(['resume', runDir, '--ideas', '5', '--early-stop', 'margin:k=fast'], CLEAN_ENV);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(
      `error: --early-stop: "k=fast" should be key=number (off, on (margin:k=2,grace=0.25,window=0.1) or margin:k=K,grace=G,window=W)\n`,
    );
    expect((await showJson(runDir)).run).toMatchObject({ ideas: 1, earlyStop: 'off' });

    const resumed = await researcher(['resume', runDir, '--ideas', '2', '--early-stop', 'margin:k=1'], CLEAN_ENV);
    expect(resumed.code, resumed.stderr).toBe(0);
    const summary = await showJson(runDir);
    expect(summary.run).toMatchObject({ ideas: 2, earlyStop: 'margin:k=1,grace=0.25,window=0.1' });
    expect(summary.run.ideasFinished).toBe(2);
  }, 180_000);
});
