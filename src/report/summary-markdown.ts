/**
 * summary.md: the run in a page of Markdown, for a lab notebook or a pull request. The same
 * numbers as report.html (both read the report model), without the pictures.
 */
import { formatCount, formatDate, formatSpread } from './report-html.ts';
import type { IdeaView, ReportModel } from './report-model.ts';
import { formatDuration, formatNumber, signed, truncate } from '../core/format.ts';
import { auditSentence } from './audit-text.ts';
import { describeNoise } from '../core/noise.ts';
import { describeFlags } from '../core/plausibility.ts';
import { testSplitSentences } from './test-split-text.ts';
import { hasSeveralModels } from './model-tally.ts';

const TOP_IDEAS = 15;

export function renderSummaryMarkdown(model: ReportModel): string {
  const { summary, totals, best, baseline } = model;
  const { run } = summary;
  const lines: string[] = [];
  lines.push(`# ${run.environmentName}: run ${run.runId}`, '');
  lines.push(
    `${run.status === 'running' ? 'Running' : run.status === 'finished' ? 'Finished' : 'Stopped'} · agent ${run.agent} · ${run.search} search${run.search === 'serial' ? ` (building on the ${run.buildOn})` : ''} · ${run.seeds} seed(s) per idea, ${run.baselineSeeds} for the baseline · goal: ${summary.goal} · started ${formatDate(run.createdAt)}${run.unisolated ? " · **unisolated**: run steps had the researcher's file system" : ''}`,
    '',
  );

  if (baseline?.reward != null && best && best.id !== 0 && best.verdict === 'better') {
    lines.push(
      `**Best: idea ${best.id} — ${inline(best.title)}**: ${reward(best)}, ${signed(best.improvement)} over the baseline (${reward(baseline)}). ${verdictText(best)}${best.checks.length ? ` **${describeFlags(best.checks)}.**` : ''}`,
    );
  } else if (baseline?.reward != null && best && best.id !== 0) {
    // A top idea whose gain the seeds cannot support is not announced as the best.
    lines.push(
      `**No win beyond noise.** The top idea, idea ${best.id} — ${inline(best.title)}: ${reward(best)}, ${signed(best.improvement)} over the baseline (${reward(baseline)}). ${verdictText(best)}`,
    );
  } else if (baseline?.reward != null) {
    lines.push(`**No idea beat the baseline** (${reward(baseline)}).`);
  } else {
    lines.push(`**The baseline has no reward**${baseline?.error ? `: ${inline(baseline.error)}` : ''}.`);
  }
  lines.push('');
  lines.push(
    `${totals.tried} ideas tried: ${totals.succeeded} succeeded, ${totals.failed} failed${totals.failedByReason.length ? ` (${totals.failedByReason.map(([r, n]) => `${n} ${r}`).join(', ')})` : ''}${totals.stoppedEarly ? `, ${totals.stoppedEarly} stopped early` : ''}${totals.unfinished ? `, ${totals.unfinished} in progress` : ''}. ` +
      `${totals.evaluations} evaluations, ${totals.computeHours.toFixed(3)} compute-hours, ${totals.gpuHours.toFixed(3)} GPU-hours; ` +
      `${formatCount(totals.inputTokens)} input / ${formatCount(totals.outputTokens)} output tokens, $${totals.costUsd.toFixed(2)}; run time ${formatDuration(totals.elapsedMs)}.`,
    '',
  );

  lines.push('## Leaderboard', '');
  lines.push('| rank | idea | title | reward | vs baseline | parent | status |', '|---:|---:|---|---:|---:|---:|---|');
  const shown = model.ranked.slice(0, TOP_IDEAS);
  for (const idea of shown) {
    lines.push(
      `| ${idea.rank ?? ''} | ${idea.id === 0 ? 'base' : idea.id} | ${cell(idea.title)} | ${reward(idea)} | ${idea.id === 0 ? '' : signed(idea.improvement)}${idea.verdict === 'within-noise' ? ' (noise)' : ''} | ${idea.parent === null || idea.parent === 0 ? 'base' : idea.parent} | ${idea.status === 'failed' ? `failed: ${idea.failureReason}` : idea.status}${idea.heldBack ? ', **flagged by the auditor**' : ''} |`,
    );
  }
  if (model.ranked.length > shown.length) lines.push('', `…and ${model.ranked.length - shown.length} more in report.html.`);
  lines.push('');

  if (best && best.id !== 0) {
    lines.push(`## The best idea's change (idea ${best.id})`, '');
    lines.push(best.hypothesis.trim() ? `> ${best.hypothesis.trim().replace(/\n/g, '\n> ')}` : '', '');
    if (best.parent !== null && best.parent !== 0) lines.push(`Built on idea ${best.parent}; the diff below is against it.`, '');
    lines.push(fence(best.diff ?? '', 'diff'), '');
    lines.push(`Apply it: \`researcher apply ${run.dir} ${best.id}\` (or \`--patch\` for the patch with its ancestors).`, '');
  }

  const audited = model.ideas.map((idea) => auditSentence(idea, run.dir)).filter((sentence) => sentence !== null);
  if (audited.length) {
    lines.push('## The auditor', '');
    for (const sentence of audited) lines.push(`- ${inline(sentence)}`);
    lines.push('');
  }

  const sentences = testSplitSentences(summary);
  if (sentences.length) {
    // Validation chose; the test split (fresh seeds, its own hidden data) says how well the choice holds.
    lines.push('## Test split', '');
    lines.push(`${sentences.map((text) => `${text[0].toUpperCase()}${text.slice(1)}`).join('. ')}.`, '');
    lines.push('| idea | title | validation | test | gap |', '|---:|---|---:|---:|---:|');
    const sign = summary.goal === 'maximize' ? 1 : -1;
    for (const idea of model.ranked.filter((view) => view.testReward !== null)) {
      const gap = idea.reward === null ? null : sign * (idea.reward - idea.testReward!);
      lines.push(
        `| ${idea.id === 0 ? 'base' : idea.id} | ${cell(idea.title)} | ${reward(idea)} | ${reward({ reward: idea.testReward, rewardStd: idea.testRewardStd, rewardCount: idea.testRewardCount })} | ${signed(gap)} |`,
      );
    }
    lines.push('');
  }

  if (hasSeveralModels(summary.models)) {
    // A portfolio: which model's ideas did what (the same tally as `show` and report.html).
    lines.push('## Models', '', '*improved*: beat the idea it was built on (the baseline for a root idea).', '');
    lines.push('| role | model | ideas | succeeded | improved | best | dollars |', '|---|---|---:|---:|---:|---:|---:|');
    for (const row of summary.models) {
      const best = row.best === null ? '—' : `${formatNumber(row.best)} (idea ${row.bestIdea})`;
      lines.push(
        `| ${row.role} | \`${cell(row.model)}\` | ${row.ideas} | ${row.succeeded} | ${row.improved} | ${best} | $${row.costUsd.toFixed(row.costUsd > 0 && row.costUsd < 0.01 ? 4 : 2)} |`,
      );
    }
    lines.push('');
  }

  const flagged = model.ideas.filter((idea) => idea.checks.length);
  if (flagged.length) {
    // Rewards far outside what the run had seen: a person should read these diffs before believing them.
    lines.push('## Check this', '');
    for (const idea of flagged) lines.push(`- idea ${idea.id} (${inline(idea.title)}): ${describeFlags(idea.checks)}`);
    lines.push('');
  }

  const failed = model.ideas.filter((idea) => idea.status === 'failed' && idea.id !== 0);
  if (failed.length) {
    lines.push('## Failures', '');
    for (const idea of failed)
      lines.push(
        `- idea ${idea.id} (${inline(idea.title)}): **${idea.failureReason}**${idea.error ? ` — ${inline(truncate(idea.error, 200))}` : ''}`,
      );
    lines.push('');
  }
  const stopped = model.ideas.filter((idea) => idea.status === 'stopped-early');
  if (stopped.length) {
    lines.push('## Stopped early', '', 'Runs the learning-curve rule stopped (`--early-stop`): low results, not failures.', '');
    for (const idea of stopped) lines.push(`- idea ${idea.id} (${inline(idea.title)}): ${inline(truncate(idea.error ?? '', 300))}`);
    lines.push('');
  }
  return `${lines
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}

function reward(idea: Pick<IdeaView, 'reward' | 'rewardStd' | 'rewardCount'>): string {
  if (idea.reward === null) return '—';
  return idea.rewardCount > 1
    ? `${formatNumber(idea.reward)} ± ${formatSpread(idea.rewardStd ?? 0)} (n=${idea.rewardCount})`
    : formatNumber(idea.reward);
}

function verdictText(idea: IdeaView): string {
  const numbers = idea.noise ? describeNoise(idea.noise) : 'noise unknown';
  if (idea.verdict === 'better') return `The gain is ${numbers}.`;
  if (idea.verdict === 'within-noise') return `The gain is ${numbers}: rerun with more seeds before trusting it.`;
  if (idea.verdict === 'worse') return `It is worse than the baseline: ${numbers}.`;
  return `${numbers[0].toUpperCase()}${numbers.slice(1)}.`;
}

function inline(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function cell(text: string): string {
  return inline(text).replace(/\|/g, '\\|');
}

/** A fenced block whose fence is longer than any backtick run inside. */
function fence(text: string, language: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const marks = '`'.repeat(longest + 1);
  return `${marks}${language}\n${text.trimEnd()}\n${marks}`;
}
