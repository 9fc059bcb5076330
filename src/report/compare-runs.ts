/**
 * Two sweeps side by side (two agents, two search strategies, two budgets on one environment):
 * the best reward each found, the best reward each had after the same number of ideas (so a
 * longer run does not win just by being longer), and what each cost.
 */
import { bestFinished, isBetter, isFinished, type Goal } from '../core/ideas.ts';
import { compareGains, describeNoise, isWin, type NoiseComparison } from '../core/noise.ts';
import { difference } from '../core/statistics.ts';
import { formatModelTally, hasSeveralModels, type ModelTally } from './model-tally.ts';
import { formatSpread } from './report-html.ts';
import { buildReportModel } from './report-model.ts';
import type { RunSummary } from './run-summary.ts';
import { formatDuration, formatNumber, signed } from '../core/format.ts';

export interface ComparedRun {
  runId: string;
  dir: string;
  environment: string;
  agent: string;
  search: string;
  status: string;
  goal: Goal;
  baseline: { reward: number | null; rewardStd: number | null; rewardCount: number } | null;
  best: { id: number; title: string; reward: number; improvement: number | null; noise: NoiseComparison | null } | null;
  /** The test split: the run's chosen idea's test reward and gap, and the best idea on test (null: not scored on test). */
  test: { chosen: number | null; gap: number | null; bestOnTest: { id: number; testReward: number } | null } | null;
  ideasFinished: number;
  ideasFailed: number;
  /** Stopped by the learning-curve rule: low results, counted apart from the failures. */
  ideasStoppedEarly: number;
  evaluations: number;
  /** Best idea reward among the first k finished ideas (k = index + 1), in the order they finished; null while none scored. */
  bestAfter: (number | null)[];
  costUsd: number;
  inputTokens: number;
  outputTokens: number;
  computeHours: number;
  gpuHours: number;
  elapsedMs: number;
  /** Per role and model: ideas, successes, best reward, dollars. */
  models: ModelTally[];
}

export interface Checkpoint {
  ideas: number;
  a: number | null;
  b: number | null;
  leader: 'a' | 'b' | 'tie' | null;
}

export interface RunComparison {
  a: ComparedRun;
  b: ComparedRun;
  goal: Goal;
  /** The best reward of each over the whole run (raw numbers: see `winner` for who is ahead beyond noise). */
  bestLeader: 'a' | 'b' | 'tie' | null;
  /**
   * The run whose best idea gains more over its own baseline, beyond the noise of both runs'
   * seeds (core/noise.ts); null when the difference is within noise or the noise is unknown.
   */
  winner: 'a' | 'b' | null;
  /** A's best's gain − B's best's gain, judged against both runs' noise; null when a run has no scored best. */
  gainComparison: NoiseComparison | null;
  /** Best-so-far of both at equal numbers of finished ideas. */
  checkpoints: Checkpoint[];
  notes: string[];
}

export function compareRuns(a: RunSummary, b: RunSummary): RunComparison {
  const left = describe(a);
  const right = describe(b);
  const notes: string[] = [];
  const goal = left.goal;
  const comparable = left.goal === right.goal;
  if (left.environment !== right.environment) {
    notes.push(
      `the runs are on different environments (${left.environment} and ${right.environment}): their rewards may not be comparable`,
    );
  }
  if (!comparable) notes.push(`the runs optimise in different directions (${left.goal} and ${right.goal}): no leader is named`);
  if (left.baseline?.reward != null && right.baseline?.reward != null && left.environment === right.environment) {
    const spread = Math.max(left.baseline.rewardStd ?? 0, right.baseline.rewardStd ?? 0);
    const gap = Math.abs(difference(left.baseline.reward, right.baseline.reward));
    if (gap > 0 && gap > 3 * spread)
      notes.push(
        `the baselines differ (${formatNumber(left.baseline.reward)} and ${formatNumber(right.baseline.reward)}): the environment or the machine may have changed between the runs`,
      );
  }
  const leaderOf = (x: number | null, y: number | null): Checkpoint['leader'] => {
    if (!comparable || (x === null && y === null)) return null;
    if (x === null) return 'b';
    if (y === null) return 'a';
    if (x === y) return 'tie';
    return isBetter(x, y, goal) ? 'a' : 'b';
  };
  const shared = Math.min(left.bestAfter.length, right.bestAfter.length);
  const checkpoints = checkpointSizes(shared).map((k) => ({
    ideas: k,
    a: left.bestAfter[k - 1],
    b: right.bestAfter[k - 1],
    leader: leaderOf(left.bestAfter[k - 1], right.bestAfter[k - 1]),
  }));
  if (left.ideasFinished !== right.ideasFinished) {
    notes.push(
      `the runs finished different numbers of ideas (${left.ideasFinished} and ${right.ideasFinished}): compare them at ${shared} idea${shared === 1 ? '' : 's'} for a fair race`,
    );
  }
  const gainComparison = comparable && left.best?.noise && right.best?.noise ? compareGains(left.best.noise, right.best.noise) : null;
  const winner =
    gainComparison && isWin(gainComparison)
      ? 'a'
      : gainComparison && isWin({ ...gainComparison, delta: -gainComparison.delta })
        ? 'b'
        : null;
  return {
    a: left,
    b: right,
    goal,
    bestLeader: leaderOf(left.best?.reward ?? null, right.best?.reward ?? null),
    winner,
    gainComparison,
    checkpoints,
    notes,
  };
}

function describe(summary: RunSummary): ComparedRun {
  const model = buildReportModel(summary);
  const finished = summary.ideas
    .filter((idea) => idea.id !== 0 && isFinished(idea) && idea.finishedAt)
    .sort((x, y) => Date.parse(x.finishedAt!) - Date.parse(y.finishedAt!) || x.id - y.id);
  const bestAfter: (number | null)[] = [];
  let best: number | null = null;
  for (const idea of finished) {
    if (idea.reward !== null && !idea.heldBack && (best === null || isBetter(idea.reward, best, summary.goal))) best = idea.reward;
    bestAfter.push(best);
  }
  const bestIdea =
    bestFinished(
      summary.ideas.filter((idea) => idea.id !== 0),
      summary.goal,
    ) ?? null;
  return {
    runId: summary.run.runId,
    dir: summary.run.dir,
    environment: summary.run.environmentName,
    agent: summary.run.agent,
    search: summary.run.search,
    status: summary.run.status,
    goal: summary.goal,
    baseline: summary.baseline && {
      reward: summary.baseline.reward,
      rewardStd: summary.baseline.rewardStd,
      rewardCount: summary.baseline.rewardCount,
    },
    best: bestIdea && {
      id: bestIdea.id,
      title: bestIdea.title,
      reward: bestIdea.reward!,
      improvement: bestIdea.improvement,
      noise: bestIdea.noise,
    },
    test: summary.test && {
      chosen: summary.test.chosen?.test ?? null,
      gap: summary.test.chosen?.gap ?? null,
      bestOnTest: summary.test.bestOnTest && { id: summary.test.bestOnTest.id, testReward: summary.test.bestOnTest.testReward },
    },
    ideasFinished: finished.length,
    ideasFailed: finished.filter((idea) => idea.status === 'failed').length,
    ideasStoppedEarly: finished.filter((idea) => idea.status === 'stopped-early').length,
    evaluations: model.totals.evaluations,
    bestAfter,
    costUsd: model.totals.costUsd,
    inputTokens: model.totals.inputTokens,
    outputTokens: model.totals.outputTokens,
    computeHours: model.totals.computeHours,
    gpuHours: model.totals.gpuHours,
    elapsedMs: model.totals.elapsedMs,
    models: summary.models,
  };
}

/** 1…n when short; otherwise powers of two and n itself. */
export function checkpointSizes(n: number): number[] {
  if (n <= 12) return Array.from({ length: n }, (_, i) => i + 1);
  const sizes: number[] = [];
  for (let k = 1; k < n; k *= 2) sizes.push(k);
  sizes.push(n);
  return sizes;
}

export function formatComparison(comparison: RunComparison): string {
  const { a, b } = comparison;
  const reward = (value: number | null) => (value === null ? '—' : formatNumber(value));
  const baseline = (run: ComparedRun) =>
    run.baseline?.reward == null
      ? '—'
      : `${formatNumber(run.baseline.reward)}${run.baseline.rewardCount > 1 ? ` ± ${formatSpread(run.baseline.rewardStd ?? 0)}` : ''}`;
  // The star goes to a winner beyond noise only.
  const star = (side: 'a' | 'b') => (comparison.winner === side ? '  ★' : '');
  const rows: [string, string, string][] = [
    ['run', a.runId, b.runId],
    ['environment', a.environment, b.environment],
    ['agent · search', `${a.agent} · ${a.search}`, `${b.agent} · ${b.search}`],
    ['status', a.status, b.status],
    ['baseline', baseline(a), baseline(b)],
    [
      'best reward',
      a.best ? `${reward(a.best.reward)} (idea ${a.best.id})${star('a')}` : '—',
      b.best ? `${reward(b.best.reward)} (idea ${b.best.id})${star('b')}` : '—',
    ],
    ['best vs baseline', signed(a.best?.improvement ?? null), signed(b.best?.improvement ?? null)],
    ['  its noise', a.best?.noise?.noise ?? '—', b.best?.noise?.noise ?? '—'],
    ...(a.test || b.test
      ? ([
          ['  on test (gap)', onTest(a), onTest(b)],
          ['best on test', bestOnTest(a), bestOnTest(b)],
        ] as [string, string, string][])
      : []),
    ['ideas finished', finishedText(a), finishedText(b)],
    ['evaluations', String(a.evaluations), String(b.evaluations)],
    ['compute', formatDuration(a.computeHours * 3_600_000), formatDuration(b.computeHours * 3_600_000)],
    ['GPU-hours', a.gpuHours.toFixed(3), b.gpuHours.toFixed(3)],
    ['tokens in / out', `${a.inputTokens} / ${a.outputTokens}`, `${b.inputTokens} / ${b.outputTokens}`],
    ['dollars', `$${a.costUsd.toFixed(4)}`, `$${b.costUsd.toFixed(4)}`],
    ['run time', formatDuration(a.elapsedMs), formatDuration(b.elapsedMs)],
  ];
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length), 'A'.length);
  const lines = [`${''.padEnd(w0)}  ${'A'.padEnd(w1)}  B`];
  for (const [label, left, right] of rows) lines.push(`${label.padEnd(w0)}  ${left.padEnd(w1)}  ${right}`);

  if (comparison.checkpoints.length) {
    lines.push('', 'best reward after the first N ideas of each (in the order they finished):');
    const table = comparison.checkpoints.map((c) => [
      String(c.ideas),
      reward(c.a),
      reward(c.b),
      c.leader === 'a' ? 'A' : c.leader === 'b' ? 'B' : c.leader === 'tie' ? 'tie' : '',
    ]);
    const widths = [1, 2, 3].map((i) => Math.max(...table.map((r) => r[i - 1].length), i === 1 ? 1 : 6));
    lines.push(`  ${'N'.padStart(widths[0])}  ${'A'.padStart(widths[1])}  ${'B'.padStart(widths[2])}  ahead`);
    for (const row of table)
      lines.push(`  ${row[0].padStart(widths[0])}  ${row[1].padStart(widths[1])}  ${row[2].padStart(widths[2])}  ${row[3]}`);
  }
  for (const [side, run] of [['A', a] as const, ['B', b] as const]) {
    if (hasSeveralModels(run.models)) lines.push('', `models of ${side} (${run.runId}):`, ...formatModelTally(run.models, '  '));
  }
  lines.push('', verdict(comparison));
  for (const note of comparison.notes) lines.push(`note: ${note}`);
  return lines.join('\n');
}

/** The run's chosen idea on the test split, with validation − test in parentheses. */
function onTest(run: ComparedRun): string {
  if (!run.test || run.test.chosen === null) return '—';
  return `${formatNumber(run.test.chosen)} (${signed(run.test.gap)})`;
}

function bestOnTest(run: ComparedRun): string {
  const best = run.test?.bestOnTest;
  return best ? `${formatNumber(best.testReward)} (${best.id === 0 ? 'baseline' : `idea ${best.id}`})` : '—';
}

function verdict(comparison: RunComparison): string {
  const { a, b, bestLeader, checkpoints, winner, gainComparison } = comparison;
  const parts: string[] = [];
  const gains = () => `${signed(a.best?.improvement ?? null)} vs ${signed(b.best?.improvement ?? null)} over their own baselines`;
  if (winner) {
    parts.push(`${winner.toUpperCase()} found the better best idea (${gains()}; ${describeNoise(gainComparison!)})`);
  } else if (gainComparison) {
    // Each run's baseline spread is accounted for before anyone is named the winner.
    const neither = !isWin(a.best?.noise) && !isWin(b.best?.noise) ? "; neither run's best is beyond its own baseline's noise" : '';
    parts.push(`no winner beyond noise (${gains()}; ${describeNoise(gainComparison)})${neither}`);
  } else if (bestLeader === 'a' || bestLeader === 'b') {
    parts.push(`no winner named: ${bestLeader === 'a' ? 'B' : 'A'} has no scored best idea to compare with`);
  } else {
    parts.push('no leader on best reward');
  }
  const last = checkpoints[checkpoints.length - 1];
  // Who is ahead at equal ideas is said only when a winner stands beyond noise (the table keeps the raw race).
  if (last && (last.leader === 'a' || last.leader === 'b') && winner) {
    parts.push(
      `at ${last.ideas} idea${last.ideas === 1 ? '' : 's'} each, ${last.leader.toUpperCase()} is ahead (${last.a === null ? '—' : formatNumber(last.a)} vs ${last.b === null ? '—' : formatNumber(last.b)})`,
    );
  } else if (last?.leader === 'tie') {
    parts.push(`at ${last.ideas} idea${last.ideas === 1 ? '' : 's'} each they are level`);
  }
  const cost = a.costUsd + b.costUsd > 0 ? `; model spend $${a.costUsd.toFixed(2)} vs $${b.costUsd.toFixed(2)}` : '';
  return `${parts.join('; ')}${cost}.`;
}

/** "12 (1 failed, 3 stopped early)". */
function finishedText(run: ComparedRun): string {
  return `${run.ideasFinished} (${run.ideasFailed} failed${run.ideasStoppedEarly ? `, ${run.ideasStoppedEarly} stopped early` : ''})`;
}
