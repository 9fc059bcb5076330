/**
 * Debug rounds as the report, `show` and `researcher export` give them: a run on the in-memory
 * sweep whose only idea crashes (a NameError) and is fixed in one debug round.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SandboxRequest } from '../../src/core/interfaces.ts';
import { formatLeaderboard } from '../../src/report/leaderboard.ts';
import { buildReportModel } from '../../src/report/report-model.ts';
import { renderReportHtml } from '../../src/report/report-html.ts';
import { summarizeRun } from '../../src/report/run-summary.ts';
import { trajectoryRecords } from '../../src/report/trajectory.ts';
import { ScriptedCoder, ScriptedThinker } from '../doubles/agents.ts';
import { ScriptedSandbox } from '../doubles/sandbox.ts';
import { knobValue, memorySweep } from '../doubles/sweep.ts';

async function fixedRun() {
  const run = memorySweep({ ideas: 1 });
  const coder = new ScriptedCoder(async (_idea, _context, _feedback, failures) => ({
    kind: 'search-replace',
    blocks: [
      failures.length
        ? { path: 'config.py', search: 'X = UNDEFINED', replace: 'X = 2' }
        : { path: 'config.py', search: 'X = 0.5', replace: 'X = UNDEFINED' },
    ],
  }));
  const sandbox = new ScriptedSandbox((request: SandboxRequest) =>
    readFileSync(path.join(request.workDir, 'config.py'), 'utf8').includes('UNDEFINED')
      ? { exitCode: 1, log: "Traceback (most recent call last):\nNameError: name 'UNDEFINED' is not defined <script>\n" }
      : { reward: -((knobValue(request) - 3) ** 2) },
  );
  await run.sweep({ thinker: new ScriptedThinker([{ title: 'x=2' }]), coder, sandbox, debugRounds: 2 });
  return run;
}

describe('debug rounds in the report, show and export', () => {
  it('the report shows each round with the log tail the coder saw, escaped, and the execution rate', async () => {
    const run = await fixedRun();
    const html = renderReportHtml(buildReportModel(summarizeRun(run.store)));
    expect(html).toContain('Debug round 1: attempt 1 failed on the seed 0');
    expect(html).toContain('NameError: name &#39;UNDEFINED&#39; is not defined &lt;script&gt;');
    expect(html).not.toContain('defined <script>');
    expect(html).toMatch(/execution<\/div><div class="tile-value">100%/);
  });

  it('show prints the execution rate and marks the fixed idea', async () => {
    const run = await fixedRun();
    const text = formatLeaderboard(summarizeRun(run.store));
    expect(text).toContain('succeeded (1 debug fix)');
    expect(text).toContain(
      'execution: 1/1 coded ideas ran to a reward (100%; 0/1 = 0% on the first attempt; 1 debug round, 1 fix committed)',
    );
  });

  it('export carries the rounds, and the seeds of the attempt the reward came from', async () => {
    const run = await fixedRun();
    const record = trajectoryRecords(run.store).find((r) => r.idea === 1)!;
    expect(record.seeds).toMatchObject([{ seed: 0, status: 'succeeded', reward: -1 }]);
    expect(record.debug_rounds).toMatchObject([
      { round: 1, step: 'run', seed: 0, failure_reason: 'crashed', exit_code: 1, status: 'committed', outcome: 'executed' },
    ]);
    expect(record.debug_rounds[0].log_tail).toContain("NameError: name 'UNDEFINED' is not defined");
    expect(record.debug_rounds[0].fix_diff).toContain('+X = 2');
  });
});
