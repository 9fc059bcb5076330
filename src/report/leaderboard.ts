/**
 * The leaderboard as a plain-text table for the terminal: the baseline, then ideas best first,
 * then failures with their reasons.
 */
import type { IdeaSummary, RunSummary } from './run-summary.ts';
import { formatNumber, truncate } from '../core/format.ts';
import { formatModelTally, hasSeveralModels } from './model-tally.ts';
import { auditSentence } from './audit-text.ts';
import { formatExecutionRate } from './execution-rate.ts';
import { describeNoise, isWin } from '../core/noise.ts';
import { describeFlags } from '../core/plausibility.ts';
import { testSplitSentences } from './test-split-text.ts';

export function rankedIdeas(summary: RunSummary): IdeaSummary[] {
  const sign = summary.goal === 'maximize' ? -1 : 1;
  const scored = summary.ideas.filter((idea) => idea.reward !== null).sort((a, b) => sign * (a.reward! - b.reward!) || a.id - b.id);
  const rest = summary.ideas.filter((idea) => idea.reward === null).sort((a, b) => a.id - b.id);
  return [...scored, ...rest];
}

export function formatReward(idea: Pick<IdeaSummary, 'reward' | 'rewardStd' | 'rewardCount'>): string {
  if (idea.reward === null) return '—';
  const value = formatNumber(idea.reward);
  return idea.rewardCount > 1 ? `${value} ± ${formatNumber(idea.rewardStd ?? 0)} (n=${idea.rewardCount})` : value;
}

export function formatLeaderboard(summary: RunSummary): string {
  const withTest = summary.test !== null;
  const rows = rankedIdeas(summary).map((idea) => {
    const fixes = idea.debugRounds.filter((round) => round.status === 'committed').length;
    const status =
      (idea.status === 'failed' ? `failed: ${idea.failureReason}` : idea.heldBack ? `${idea.status}, flagged` : idea.status) +
      (fixes ? ` (${fixes} debug fix${fixes === 1 ? '' : 'es'})` : '');
    const delta = idea.id === 0 || idea.improvement === null ? '' : `${idea.improvement >= 0 ? '+' : ''}${formatNumber(idea.improvement)}`;
    // The star marks a win only: a top idea within the noise is not one.
    const marker =
      summary.best?.id === idea.id && idea.id !== 0 && isWin(summary.best.comparison)
        ? '★'
        : idea.id === 0
          ? '·'
          : idea.heldBack
            ? '⚑'
            : ' ';
    return [
      marker,
      idea.id === 0 ? 'base' : String(idea.id),
      formatReward(idea),
      delta,
      idea.noise ? idea.noise.noise : '',
      ...(withTest
        ? [
            idea.testReward === null
              ? ''
              : formatReward({ reward: idea.testReward, rewardStd: idea.testRewardStd, rewardCount: idea.testRewardCount }),
          ]
        : []),
      status,
      idea.parent === null ? '' : String(idea.parent),
      truncate(idea.title, 60),
    ];
  });
  const header = ['', 'idea', 'reward', 'vs base', 'noise', ...(withTest ? ['test'] : []), 'status', 'parent', 'title'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  const lines = [line(header), line(widths.map((w) => '─'.repeat(w))), ...rows.map(line)];

  const { run, best, baseline, usage } = summary;
  lines.push('');
  lines.push(
    `${run.ideasFinished} of ${run.ideas} ideas finished, ${run.ideasFailed} failed${run.ideasStoppedEarly ? `, ${run.ideasStoppedEarly} stopped early` : ''} · goal: ${summary.goal} · run ${run.runId} (${run.status})`,
  );
  if (summary.execution.coded > 0) lines.push(`execution: ${formatExecutionRate(summary.execution)}`);
  if (run.unisolated)
    lines.push("unisolated: run steps ran as plain processes with your file system and network (see the README's threat model)");
  if (best && best.id !== 0 && baseline?.reward !== null && baseline?.reward !== undefined) {
    const versus = `idea ${best.id} "${truncate(best.title, 60)}" ${formatNumber(best.reward)} vs baseline ${formatNumber(baseline.reward)}`;
    const judged = best.comparison ? describeNoise(best.comparison) : 'noise unknown';
    // Only a gain beyond the seed-to-seed noise is announced as the best; anything else is named as what it is.
    lines.push(isWin(best.comparison) ? `best: ${versus}, ${judged}` : `no win beyond noise: the top idea is ${versus}, ${judged}`);
  } else if (best?.id === 0) {
    lines.push('best: no idea has beaten the baseline yet');
  }
  const testLine = testSplitSentences(summary);
  if (testLine.length) lines.push(`test split: ${testLine.join('; ')}`);
  for (const idea of summary.ideas) {
    const sentence = auditSentence(idea, run.dir);
    if (sentence) lines.push(`⚑ ${sentence}`);
    if (idea.checks.length) lines.push(`idea ${idea.id}: ${describeFlags(idea.checks)}`);
  }
  if (usage.inputTokens + usage.outputTokens > 0) {
    lines.push(
      `usage: ${usage.inputTokens} input tokens (${usage.cachedTokens} cached), ${usage.outputTokens} output tokens, $${usage.costUsd.toFixed(4)}`,
    );
  }
  if (hasSeveralModels(summary.models)) lines.push('', 'models:', ...formatModelTally(summary.models, '  '));
  return lines.join('\n');
}
