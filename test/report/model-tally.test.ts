/**
 * The per-model tally on a real run store: ideas credited to the model the portfolio chose (or,
 * without one, the role's first call), successes, improvements on the parent, best reward and
 * dollars per role and model — in `show --json`, the leaderboard, report.html and `compare`.
 */
import { describe, expect, it } from 'vitest';
import { RunConfig } from '../../src/core/run-config.ts';
import { ZERO_USAGE } from '../../src/core/types.ts';
import { compareRuns, formatComparison } from '../../src/report/compare-runs.ts';
import { formatLeaderboard } from '../../src/report/leaderboard.ts';
import { renderReportHtml } from '../../src/report/report-html.ts';
import { buildReportModel } from '../../src/report/report-model.ts';
import { summarizeRun } from '../../src/report/run-summary.ts';
import { RunStore } from '../../src/store/run-store.ts';
import { tempDir } from '../helpers/sweep.ts';

const draft = (title: string) => ({ title, hypothesis: 'h', plan: '', expectedEffect: '' });

function call(store: RunStore, ideaId: number, role: string, model: string, costUsd: number): void {
  store.recordModelCall({
    ideaId,
    role,
    provider: 'openai-compatible',
    model,
    cacheKey: null,
    usage: { ...ZERO_USAGE, costUsd },
    latencyMs: 1,
    response: 'r',
  });
}

/** Scores an idea as if its one evaluation returned `reward` (null: it crashed). */
function finish(store: RunStore, id: number, reward: number | null): void {
  if (reward === null) {
    store.failIdea(id, { reason: 'crashed', message: 'exited with code 1' });
    return;
  }
  const evaluation = store.startEvaluation(id, 0, 'local', 'run.log', []);
  store.finishEvaluation(evaluation, { reward, failure: null, exitCode: 0, timedOut: false, oomKilled: false, durationMs: 1 });
  store.finishIdea(id);
}

function portfolioRun(runId: string): RunStore {
  const store = RunStore.create(
    tempDir('tally-'),
    RunConfig.parse({ runId, createdAt: 'now', environmentDir: '/x', environmentName: 'x', agent: 'a.yaml', ideas: 4 }),
  );
  store.insertIdea(draft('baseline'), null, {}, 0);
  finish(store, 0, 5);
  const ideas: [string, number | null, number | null][] = [
    ['alpha', null, 7], // beat the baseline
    ['beta', null, 4], // did not
    ['alpha', 1, 6], // worse than its parent (7)
    ['beta', null, null], // crashed
  ];
  for (const [model, parent, reward] of ideas) {
    const id = store.insertIdea(draft(`by ${model}`), parent, { thinkerModel: model });
    call(store, id, 'thinker', model, model === 'alpha' ? 0.02 : 0.001);
    call(store, id, 'coder', 'coder-model', 0.01);
    finish(store, id, reward);
  }
  return store;
}

describe('the per-model tally', () => {
  it('credits each idea to the model that proposed it and adds up the models’ calls', () => {
    const store = portfolioRun('tally');
    // A retried thinker call for idea 2 and a call outside any idea add to the dollars, not to the ideas.
    call(store, 2, 'thinker', 'beta', 0.001);
    const summary = summarizeRun(store);
    expect(summary.models).toEqual([
      { role: 'thinker', model: 'alpha', ideas: 2, succeeded: 2, improved: 1, best: 7, bestIdea: 1, calls: 2, costUsd: 0.04 },
      { role: 'thinker', model: 'beta', ideas: 2, succeeded: 1, improved: 0, best: 4, bestIdea: 2, calls: 3, costUsd: 0.003 },
      { role: 'coder', model: 'coder-model', ideas: 4, succeeded: 3, improved: 1, best: 7, bestIdea: 1, calls: 4, costUsd: 0.04 },
    ]);
    store.close();
  });

  it('credits ideas without a portfolio to the role’s first call', () => {
    const store = RunStore.create(
      tempDir('tally-'),
      RunConfig.parse({ runId: 'single', createdAt: 'now', environmentDir: '/x', environmentName: 'x', agent: 'a.yaml', ideas: 1 }),
    );
    store.insertIdea(draft('baseline'), null, {}, 0);
    finish(store, 0, 5);
    const id = store.insertIdea(draft('one'), null, {});
    call(store, id, 'thinker', 'solo', 0);
    finish(store, id, 6);
    const summary = summarizeRun(store);
    expect(summary.models).toEqual([
      { role: 'thinker', model: 'solo', ideas: 1, succeeded: 1, improved: 1, best: 6, bestIdea: 1, calls: 1, costUsd: 0 },
    ]);
    // One model per role: no models section in the leaderboard or the report.
    expect(formatLeaderboard(summary)).not.toContain('models:');
    expect(renderReportHtml(buildReportModel(summary))).not.toContain('id="models"');
    store.close();
  });

  it('is shown in the leaderboard, report.html and compare when a role used several models', () => {
    const a = portfolioRun('a');
    const b = portfolioRun('b');
    const summary = summarizeRun(a);
    const board = formatLeaderboard(summary);
    expect(board).toMatch(
      /models:\n {2}role +model +ideas +succeeded +improved +best +dollars\n {2}thinker +alpha +2 +2 +1 +7 \(idea 1\) +\$0\.04\n {2}thinker +beta +2 +1 +0 +4 \(idea 2\) +\$0\.0020/,
    );
    const html = renderReportHtml(buildReportModel(summary));
    expect(html).toContain('<a href="#models">Models</a>');
    expect(html).toMatch(
      /<td>thinker<\/td><td><code>alpha<\/code><\/td><td class="num">2<\/td><td class="num">2<\/td><td class="num">1<\/td><td class="num"><a href="#idea-1">7<\/a><\/td><td class="num muted">\$0\.04<\/td>/,
    );
    const comparison = compareRuns(summary, summarizeRun(b));
    expect(comparison.a.models).toEqual(summary.models);
    const text = formatComparison(comparison);
    expect(text).toMatch(/models of A \(a\):\n {2}role[\s\S]*thinker +beta +2 +1 +0/);
    expect(text).toMatch(/models of B \(b\):/);
    a.close();
    b.close();
  });
});
