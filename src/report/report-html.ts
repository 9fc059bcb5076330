/**
 * (Over 400 lines on purpose: one HTML template, section by section in page order; its logic lives
 * in report-model.ts, its CSS in report.css.)
 *
 * report.html: one self-contained page (inline CSS, read from report.css beside this module; inline
 * SVG; a few lines of inline script; no network, no CDN) that a researcher opens in the morning: the headline numbers, reward over
 * time, the learning curves (curve-svg.ts), a sortable leaderboard, the lineage of ideas and a card
 * per idea with its diff and log.
 * The live view (`researcher watch`) serves the same page with a script that reloads it when the
 * run changes.
 */
import { readFileSync } from 'node:fs';
import { auditSentence } from './audit-text.ts';
import { diffToHtml, escapeHtml } from './diff-html.ts';
import type { IdeaView, LineageNode, ReportModel, Verdict } from './report-model.ts';
import { hasSeveralModels, modelTallyHtml } from './model-tally.ts';
import { rewardPlotSvg } from './reward-plot.ts';
import { learningCurvesPanel, runningCurvesPanel } from './curve-svg.ts';
import { formatDuration, formatNumber, plural, truncate } from '../core/format.ts';
import { describeNoise } from '../core/noise.ts';
import { describeFlags } from '../core/plausibility.ts';
import { testSplitSentences } from './test-split-text.ts';

export interface RenderOptions {
  /** Serve as the live view: reload when the run's version (from `eventsPath`) differs from `version`. */
  live?: { eventsPath: string; version: string };
}

export function renderReportHtml(model: ReportModel, options: RenderOptions = {}): string {
  const { summary } = model;
  const title = `${summary.run.environmentName} · ${summary.run.runId}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="ai-researcher">
<link rel="icon" href="data:,">
<title>${escapeHtml(title)} — research report</title>
<style>
${styleSheet()}</style>
</head>
<body${options.live ? ` data-live-version="${escapeHtml(options.live.version)}" data-live-events="${escapeHtml(options.live.eventsPath)}"` : ''}>
${header(model, options)}
<nav class="toc"><a href="#plot">Reward over time</a>${model.curves.byIdea.size ? '<a href="#curves">Learning curves</a>' : ''}<a href="#leaderboard">Leaderboard</a>${model.hasChains ? '<a href="#lineage">Lineage</a>' : ''}<a href="#ideas">Ideas</a>${hasSeveralModels(summary.models) ? '<a href="#models">Models</a>' : ''}<a href="#totals">Totals</a></nav>
<main>
${headline(model)}
${tiles(model)}
${runningCurvesPanel(model)}
<section id="plot" class="panel">
  <div class="panel-head"><h2>Reward over time</h2>${model.points.length || model.earlyFailures.length ? plotLegend(model) : ''}</div>
  ${rewardPlotSvg(model)}
  <p class="hint">Each point is one evaluation (one seed of one idea); click it to jump to the idea. The step line is the best idea mean so far.</p>
</section>
${learningCurvesPanel(model)}
<section id="leaderboard" class="panel">
  <div class="panel-head"><h2>Leaderboard</h2><span class="hint">click a column to sort · ${summary.goal === 'maximize' ? 'higher' : 'lower'} reward is better</span></div>
  ${leaderboard(model)}
</section>
${lineage(model)}
<section id="ideas">
  <h2>Ideas</h2>
  ${model.ranked.length ? model.ranked.map((idea, i) => ideaCard(idea, model, i)).join('\n') : '<p class="empty">Nothing has been tried yet.</p>'}
</section>
${hasSeveralModels(summary.models) ? modelTallyHtml(summary.models) : ''}
${totalsPanel(model)}
</main>
<footer>Generated ${escapeHtml(formatDate(model.generatedAt))} by ai-researcher from <code>${escapeHtml(summary.run.dir)}/run.db</code>. Every idea is a commit on branch <code>idea/&lt;id&gt;</code> of <code>repo/</code>; its files are in <code>ideas/&lt;id&gt;/</code>.</footer>
<script>${SORT_SCRIPT}</script>
${options.live ? `<script>${LIVE_SCRIPT}</script>` : ''}
</body>
</html>
`;
}

// ─── header and headline ──────────────────────────────────────────────────────────────────

function header(model: ReportModel, options: RenderOptions): string {
  const { run } = model.summary;
  const seeds =
    run.seeds === run.baselineSeeds
      ? `${plural(run.seeds, 'seed')} per idea`
      : `${plural(run.seeds, 'seed')} per idea, ${run.baselineSeeds} for the baseline`;
  const search = run.search === 'serial' ? `serial search, building on the ${run.buildOn}` : `${run.search} search`;
  const facts = [
    `agent <b>${escapeHtml(shortAgent(run.agent))}</b>`,
    escapeHtml(search),
    escapeHtml(seeds),
    `${run.parallel} at a time`,
    run.unisolated
      ? `${escapeHtml(run.sandbox)} sandbox, <b>unisolated</b> (run steps had the researcher's file system)`
      : `${escapeHtml(run.sandbox)} sandbox`,
    `started ${escapeHtml(formatDate(run.createdAt))}`,
  ];
  const live = options.live
    ? '<span class="live-pill" title="This page reloads itself when an idea finishes">live</span><span id="live-lost" class="live-lost" hidden>connection lost — retrying</span>'
    : '';
  return `<header class="page-head">
  <div class="eyebrow">ai-researcher · run report ${live}</div>
  <h1>${escapeHtml(run.environmentName)} <span class="run-id">${escapeHtml(run.runId)}</span> ${runStatusBadge(run.status)}</h1>
  <p class="facts">${facts.join(' · ')}</p>
</header>`;
}

function headline(model: ReportModel): string {
  const flagged = model.ideas.filter((idea) => idea.heldBack);
  const note = flagged.length
    ? `<p class="failure">⚑ Flagged by the auditor and kept out of the best: ${flagged.map((idea) => `<a href="#idea-${idea.id}">#${idea.id}</a> (${escapeHtml(formatNumber(idea.reward ?? NaN))})`).join(', ')}.</p>`
    : '';
  return headlineBody(model).replace(/<\/section>$/, `${note}</section>`);
}

function headlineBody(model: ReportModel): string {
  const { best, baseline, summary } = model;
  if (!baseline || baseline.reward === null) {
    const why =
      baseline?.status === 'failed'
        ? `The baseline failed: ${escapeHtml(baseline.error ?? baseline.failureReason ?? '')}`
        : 'The baseline has not finished yet.';
    return `<section class="headline"><p>${why}</p></section>`;
  }
  const baseText = rewardText(baseline);
  if (!best || best.id === 0) {
    const finished = model.totals.succeeded + model.totals.failed + model.totals.stoppedEarly;
    return `<section class="headline neutral"><p><b>No idea has beaten the baseline${finished ? '' : ' yet'}.</b> Baseline reward ${baseText}${finished ? ` after ${plural(finished, 'idea')}` : ''}.</p></section>`;
  }
  // Only a gain beyond the seed-to-seed noise is headlined as the best (see core/noise.ts).
  const lead =
    best.verdict === 'better'
      ? `<span class="star">★</span> Best: <a href="#idea-${best.id}">idea #${best.id}</a>`
      : `<b>No win beyond noise.</b> The top idea, <a href="#idea-${best.id}">idea #${best.id}</a>,`;
  return `<section class="headline${best.verdict === 'better' ? '' : ' neutral'}"><p>${lead} <q>${escapeHtml(best.title)}</q> reached <b>${escapeHtml(rewardText(best))}</b>, ${deltaHtml(best.improvement)} over the baseline's ${baseText}. ${verdictSentence(best)}${best.checks.length ? ` <span class="warn">${escapeHtml(describeFlags(best.checks))}.</span>` : ''}</p>
${testParagraph(model)}<p class="apply-line">Take it home: <code>researcher apply ${escapeHtml(shellQuote(summary.run.dir))} ${best.id}</code></p></section>`;
}

function testParagraph(model: ReportModel): string {
  const sentences = testSplitSentences(model.summary);
  if (!sentences.length) return '';
  return `<p class="test-split">${escapeHtml(sentences.map((text) => `${text[0].toUpperCase()}${text.slice(1)}`).join('. '))}.</p>\n`;
}

function verdictSentence(idea: IdeaView): string {
  const numbers = idea.noise ? escapeHtml(describeNoise(idea.noise)) : 'noise unknown';
  switch (idea.verdict) {
    case 'better':
      return `The gain is ${numbers}.`;
    case 'worse':
      return `It is worse than the baseline: ${numbers}.`;
    case 'within-noise':
      return `<span class="warn">The gain is ${numbers}: rerun it with more seeds before trusting it.</span>`;
    default:
      return `<span class="muted">${numbers}.</span>`;
  }
}

function tiles(model: ReportModel): string {
  const { totals, best, baseline } = model;
  const tile = (label: string, value: string, sub: string, cls = '') =>
    `<div class="tile ${cls}"><div class="tile-label">${label}</div><div class="tile-value">${value}</div><div class="tile-sub">${sub}</div></div>`;
  const failedSub = totals.failedByReason.length
    ? totals.failedByReason.map(([reason, n]) => `${n} ${escapeHtml(reason)}`).join(', ')
    : 'none failed';
  return `<section class="tiles">
${tile('best reward', best ? escapeHtml(formatNumber(best.reward!)) : '—', best ? (best.id === 0 ? 'the baseline' : `idea #${best.id}`) : 'nothing scored yet', 'accent')}
${tile('vs baseline', best && best.id !== 0 ? deltaHtml(best.improvement) : '—', baseline?.reward != null ? `baseline ${escapeHtml(rewardText(baseline))}` : 'baseline pending')}
${tile('ideas tried', String(totals.tried), `${totals.succeeded} succeeded · ${totals.failed} failed${totals.stoppedEarly ? ` · ${totals.stoppedEarly} stopped early` : ''}${totals.unfinished ? ` · ${totals.unfinished} in progress` : ''}`)}
${tile('failures', String(totals.failed), failedSub, totals.failed ? 'bad' : '')}
${model.summary.execution.coded ? tile('execution', `${Math.round((model.summary.execution.rate ?? 0) * 100)}%`, `${model.summary.execution.executed}/${model.summary.execution.coded} coded ideas ran · ${Math.round((model.summary.execution.rateWithoutDebugRounds ?? 0) * 100)}% on the first attempt`) : ''}
${tile('compute', `${formatHours(totals.computeHours)}`, `${totals.gpuHours > 0 ? `${formatHours(totals.gpuHours)} on GPUs` : 'no GPU'} · ${plural(totals.evaluations, 'evaluation')}`)}
${tile('model spend', `$${totals.costUsd.toFixed(2)}`, `${formatCount(totals.inputTokens)} in · ${formatCount(totals.outputTokens)} out tokens`)}
${tile('run time', formatDuration(totals.elapsedMs), `${escapeHtml(model.summary.run.status)}`)}
</section>`;
}

function plotLegend(model: ReportModel): string {
  const items = [
    '<span class="lg"><svg width="14" height="14"><circle cx="7" cy="7" r="4.5" class="eval-dot is-idea"/></svg>idea</span>',
    '<span class="lg"><svg width="14" height="14"><circle cx="7" cy="7" r="5.5" class="eval-dot is-best"/></svg>best idea</span>',
    '<span class="lg"><svg width="14" height="14"><circle cx="7" cy="7" r="4.5" class="eval-dot is-baseline"/></svg>baseline</span>',
    '<span class="lg"><svg width="22" height="14"><path d="M1 11H8V4H21" class="best-line"/></svg>best so far</span>',
    `<span class="lg"><svg width="22" height="14"><rect x="1" y="3" width="20" height="8" class="baseline-band"/><line x1="1" x2="21" y1="7" y2="7" class="baseline"/></svg>baseline${model.baseline && model.baseline.rewardCount > 1 ? ' ± std' : ''}</span>`,
    '<span class="lg"><svg width="14" height="14"><path d="M3 3L11 11M3 11L11 3" class="eval-dot is-failed"/></svg>failed</span>',
  ];
  return `<div class="legend">${items.join('')}</div>`;
}

// ─── leaderboard ──────────────────────────────────────────────────────────────────────────

function leaderboard(model: ReportModel): string {
  const maximize = model.summary.goal === 'maximize';
  const best = maximize ? 'desc' : 'asc';
  // Shown whenever the environment has a test split, so that the columns (and a saved sort) do not move when the first test score lands.
  const withTest = model.summary.test !== null || model.summary.run.testEvaluatorHash !== null;
  const columns: [label: string, type: 'num' | 'text', firstDir: 'asc' | 'desc', cls: string][] = [
    ['rank', 'num', 'asc', 'num'],
    ['idea', 'num', 'asc', 'num'],
    ['title', 'text', 'asc', ''],
    ['reward', 'num', best, 'num'],
    ['vs baseline', 'num', 'desc', 'num'],
    // Scores on the test split (the search never saw them), when the environment has one.
    ...(withTest ? [['test', 'num', best, 'num'] as [string, 'num', 'asc' | 'desc', string]] : []),
    ['parent', 'num', 'asc', 'num'],
    ['status', 'text', 'asc', ''],
    ['cost', 'num', 'desc', 'num'],
  ];
  const head = columns
    .map(
      ([label, type, dir, cls], i) =>
        `<th class="${cls}" data-type="${type}" data-dir="${dir}"${i === 0 ? ' aria-sort="ascending"' : ''}><button type="button">${label}<span class="sort-mark"></span></button></th>`,
    )
    .join('');
  const rows = model.ranked
    .map((idea) => {
      const cells = [
        td(idea.rank ?? '', idea.rank === null ? '—' : String(idea.rank), 'num rank'),
        td(idea.id, `<a href="#idea-${idea.id}">${idea.id === 0 ? 'base' : `#${idea.id}`}</a>`, 'num'),
        td(
          idea.title.toLowerCase(),
          `<a class="title-link" href="#idea-${idea.id}">${escapeHtml(idea.title)}</a>${idea.isBest && idea.id !== 0 ? ' <span class="star" title="best idea">★</span>' : ''}`,
          'title',
        ),
        td(idea.reward ?? '', rewardHtml(idea), 'num'),
        td(
          idea.id === 0 ? '' : (idea.improvement ?? ''),
          idea.id === 0
            ? '<span class="muted">—</span>'
            : `${deltaHtml(idea.improvement)} ${verdictChip(idea.verdict, idea.signalToNoise)}`,
          'num',
        ),
        ...(withTest
          ? [
              td(
                idea.testReward ?? '',
                idea.testReward === null
                  ? '<span class="muted">—</span>'
                  : escapeHtml(rewardText({ reward: idea.testReward, rewardStd: idea.testRewardStd, rewardCount: idea.testRewardCount })),
                'num',
              ),
            ]
          : []),
        td(
          idea.parent ?? -1,
          idea.parent === null || idea.parent === 0
            ? '<span class="muted">base</span>'
            : `<a href="#idea-${idea.parent}">#${idea.parent}</a>`,
          'num',
        ),
        td(idea.status === 'failed' ? `failed ${idea.failureReason ?? ''}` : idea.status, statusBadge(idea), ''),
        td(idea.usage.costUsd, `$${idea.usage.costUsd.toFixed(idea.usage.costUsd > 0 && idea.usage.costUsd < 0.01 ? 4 : 2)}`, 'num muted'),
      ];
      const cls = [idea.isBest ? 'row-best' : '', idea.id === 0 ? 'row-baseline' : '', idea.status === 'failed' ? 'row-failed' : '']
        .filter(Boolean)
        .join(' ');
      return `<tr data-idea="${idea.id}"${cls ? ` class="${cls}"` : ''}>${cells.join('')}</tr>`;
    })
    .join('\n');
  return `<div class="table-wrap"><table id="leaderboard-table" class="leaderboard"><thead><tr>${head}</tr></thead><tbody>
${rows}
</tbody></table></div>`;
}

function td(sortValue: string | number, html: string, cls: string): string {
  return `<td class="${cls}" data-sort="${escapeHtml(String(sortValue))}">${html}</td>`;
}

// ─── lineage ──────────────────────────────────────────────────────────────────────────────

function lineage(model: ReportModel): string {
  if (!model.hasChains) return '';
  const baseline = model.baseline;
  const node = (n: LineageNode): string =>
    `<li><span class="node${n.idea.isBest ? ' node-best' : ''}${n.idea.status === 'failed' ? ' node-failed' : ''}"><a href="#idea-${n.idea.id}">#${n.idea.id}</a> ${escapeHtml(truncate(n.idea.title, 80))} <span class="node-reward">${n.idea.reward === null ? statusBadge(n.idea) : escapeHtml(formatNumber(n.idea.reward))}</span>${n.idea.isBest ? ' <span class="star">★</span>' : ''}</span>${
      n.children.length ? `<ul>${n.children.map(node).join('')}</ul>` : ''
    }</li>`;
  return `<section id="lineage" class="panel">
  <div class="panel-head"><h2>Lineage</h2><span class="hint">which idea each was built on</span></div>
  <ul class="tree"><li><span class="node node-root"><a href="#idea-0">base commit</a> <span class="node-reward">${baseline?.reward != null ? escapeHtml(rewardText(baseline)) : ''}</span></span><ul>${model.lineage.map(node).join('')}</ul></li></ul>
</section>`;
}

// ─── idea cards ───────────────────────────────────────────────────────────────────────────

/** Small runs show every card open; big ones open the top of the leaderboard and fold the rest. */
const OPEN_CARDS = 12;

function ideaCard(idea: IdeaView, model: ReportModel, position: number): string {
  const isBaseline = idea.id === 0;
  const open = model.ranked.length <= 2 * OPEN_CARDS || position < OPEN_CARDS || isBaseline;
  const facts: string[] = [];
  if (idea.reward !== null)
    facts.push(
      `reward <b>${escapeHtml(rewardText(idea))}</b>${idea.rewardCount > 1 ? ` <span class="n">n=${idea.rewardCount}</span>` : ''}`,
    );
  if (!isBaseline && idea.improvement !== null)
    facts.push(`${deltaHtml(idea.improvement)} vs baseline ${verdictChip(idea.verdict, idea.signalToNoise)}`);
  if (idea.testReward !== null)
    facts.push(
      `test <b>${escapeHtml(rewardText({ reward: idea.testReward, rewardStd: idea.testRewardStd, rewardCount: idea.testRewardCount }))}</b> <span class="n">n=${idea.testRewardCount}, fresh seeds</span>`,
    );
  if (idea.checks.length) facts.push(`<span class="warn">${escapeHtml(describeFlags(idea.checks))}</span>`);
  if (!isBaseline)
    facts.push(
      `built on ${idea.parent === null || idea.parent === 0 ? 'the base commit' : `<a href="#idea-${idea.parent}">#${idea.parent}</a>`}`,
    );
  if (idea.commit)
    facts.push(`commit <code>${idea.commit.slice(0, 8)}</code>${idea.branch ? ` on <code>${escapeHtml(idea.branch)}</code>` : ''}`);
  if (idea.computeMs)
    facts.push(`${formatDuration(idea.computeMs)} of compute${idea.gpuMs ? `, ${formatHours(idea.gpuMs / 3_600_000)} on GPUs` : ''}`);
  const tokens = idea.usage.inputTokens + idea.usage.outputTokens;
  if (!isBaseline) {
    facts.push(
      `${formatCount(idea.usage.inputTokens)} in / ${formatCount(idea.usage.outputTokens)} out tokens${idea.usage.cachedTokens ? ` (${formatCount(idea.usage.cachedTokens)} cached)` : ''} · $${idea.usage.costUsd.toFixed(tokens && idea.usage.costUsd < 0.01 ? 4 : 2)}`,
    );
  }

  const failure =
    idea.status === 'failed'
      ? `<div class="failure"><b>Failed: ${escapeHtml(idea.failureReason ?? 'unknown')}</b>${idea.error ? `<pre>${escapeHtml(idea.error.replace(/ ⏎ /g, '\n'))}</pre>` : ''}</div>`
      : idea.status === 'stopped-early'
        ? `<div class="stopped"><b>Stopped early</b> (a low result, not a failure): ${escapeHtml(idea.error ?? '')}</div>`
        : '';
  const auditNote = auditSentence(idea, model.summary.run.dir);
  const audit = auditNote ? `<div class="failure"><b>⚑ Auditor</b> ${escapeHtml(auditNote)}</div>` : '';
  const words = isBaseline
    ? '<p class="prose muted">The unmodified code at the base commit. Every idea is compared with it; its seeds measure the noise.</p>'
    : `<div class="idea-text"><div class="hypothesis"><h4>Hypothesis</h4><p class="prose">${escapeHtml(idea.hypothesis || '—')}</p></div>${
        idea.plan || idea.expectedEffect
          ? `<div class="plan">${idea.plan ? `<h4>Plan</h4><p class="prose">${escapeHtml(idea.plan)}</p>` : ''}${idea.expectedEffect ? `<h4>Expected effect</h4><p class="prose">${escapeHtml(idea.expectedEffect)}</p>` : ''}</div>`
          : ''
      }</div>`;
  const change = isBaseline
    ? ''
    : `<h4>Change${idea.parent !== null && idea.parent !== 0 ? ` <span class="h4-note">against idea #${idea.parent}</span>` : ''}</h4>${
        idea.diff
          ? diffToHtml(idea.diff)
          : `<p class="muted">No change was committed${idea.status === 'failed' ? ': the idea failed before its code was ready' : ' yet'}.</p>`
      }`;
  const seeds = idea.evaluations.length
    ? `<table class="seeds"><thead><tr><th>seed</th><th>status</th><th class="num">reward</th><th class="num">exit</th><th class="num">time</th><th>sandbox</th></tr></thead><tbody>${idea.evaluations
        .map(
          (e) =>
            `<tr><td>${e.seed}</td><td>${e.status === 'failed' ? `<span class="badge bad">${escapeHtml(e.failureReason ?? 'failed')}</span>` : e.status === 'running' ? '<span class="badge run">running</span>' : '<span class="badge ok">ok</span>'}</td><td class="num">${e.reward === null ? '—' : escapeHtml(formatNumber(e.reward))}</td><td class="num">${e.exitCode ?? '—'}</td><td class="num">${e.durationMs === null ? '—' : formatDuration(e.durationMs)}</td><td>${escapeHtml(e.sandbox)}${e.gpus.length ? ` · GPU ${escapeHtml(e.gpus.join(','))}` : ''}</td></tr>`,
        )
        .join('')}</tbody></table>`
    : '';
  const log = idea.logTail
    ? `<details class="log"${idea.status === 'failed' ? ' open' : ''}><summary>Log tail · seed ${idea.logTail.seed} · <code>${escapeHtml(idea.logTail.file)}</code></summary><pre>${escapeHtml(idea.logTail.text) || '<span class="muted">(empty log)</span>'}</pre>${
        idea.logTail.evaluatorText !== null
          ? `<div class="log-sub">evaluator log</div><pre>${escapeHtml(idea.logTail.evaluatorText) || '<span class="muted">(empty)</span>'}</pre>`
          : ''
      }</details>`
    : '';
  const apply =
    !isBaseline && idea.commit
      ? `<p class="apply-line">Apply: <code>researcher apply ${escapeHtml(shellQuote(model.summary.run.dir))} ${idea.id}</code></p>`
      : '';
  const classes = ['card', idea.isBest && !isBaseline ? 'card-best' : '', idea.status === 'failed' ? 'card-failed' : '']
    .filter(Boolean)
    .join(' ');
  return `<details class="${classes}" id="idea-${idea.id}"${open ? ' open' : ''}>
  <summary class="card-head"><span class="idea-id">${isBaseline ? 'baseline' : `#${idea.id}`}</span><h3>${escapeHtml(isBaseline ? 'The baseline' : idea.title)}</h3>${idea.isBest && !isBaseline ? '<span class="badge best">★ best</span>' : ''}${statusBadge(idea)}${idea.heldBack ? '<span class="badge bad">⚑ flagged</span>' : ''}<span class="card-right">${idea.reward !== null ? `<span class="card-reward">${escapeHtml(formatNumber(idea.reward))}</span>` : ''}${idea.rank !== null ? `<span class="rank">rank ${idea.rank}</span>` : ''}</span></summary>
  <p class="card-facts">${facts.join(' · ')}</p>
  ${failure}
  ${audit}
  ${words}
  ${change}
  ${seeds}
  ${debugRoundsHtml(idea)}
  ${log}
  ${apply}
</details>`;
}

/**
 * An idea's debug rounds (src/core/sweep/debug-round.ts): what failed, the log's tail the coder
 * was shown (already capped and cleaned), and the fix it committed or why none came.
 */
function debugRoundsHtml(idea: IdeaView): string {
  if (idea.debugRounds.length === 0) return '';
  const rounds = idea.debugRounds.map((round) => {
    const f = round.failure;
    const where = f.step === 'smoke' ? 'smoke step' : `seed ${f.seed ?? '?'}`;
    const outcome =
      round.status === 'committed'
        ? `fix committed <code>${escapeHtml((round.commit ?? '').slice(0, 8))}</code>${round.outcome ? ` · <span class="badge ${round.outcome === 'executed' ? 'ok' : round.outcome === 'failed' ? 'bad' : 'run'}">${escapeHtml(round.outcome)}</span>` : ''}`
        : round.status === 'coder-failed'
          ? `<span class="badge bad">no fix</span> ${escapeHtml(round.coderMessage ?? '')}`
          : '<span class="badge run">coding</span>';
    const fix = round.diff ? `<pre class="diff">${escapeHtml(round.diff)}</pre>` : '';
    return `<details class="log"><summary>Debug round ${round.round}: attempt ${f.attempt + 1} failed on the ${escapeHtml(where)} (<span class="badge bad">${escapeHtml(f.reason)}</span>${f.exitCode === null ? '' : `, exit ${f.exitCode}`}) → ${outcome}</summary><p>${escapeHtml(f.message)}</p><div class="log-sub">log tail the coder saw${f.log ? ` · <code>${escapeHtml(f.log)}</code>` : ''}</div><pre>${escapeHtml(f.logTail)}</pre>${fix}</details>`;
  });
  return `<div class="debug-rounds"><h4>Debug rounds</h4>${rounds.join('')}</div>`;
}

// ─── totals ───────────────────────────────────────────────────────────────────────────────

function totalsPanel(model: ReportModel): string {
  const { totals } = model;
  const reasons = totals.failedByReason.length
    ? `<ul class="reasons">${totals.failedByReason.map(([reason, n]) => `<li><span class="badge bad">${escapeHtml(reason)}</span> ${n}</li>`).join('')}</ul>`
    : '<p class="muted">No idea failed.</p>';
  const row = (label: string, value: string) => `<tr><th>${label}</th><td>${value}</td></tr>`;
  return `<section id="totals" class="panel">
  <div class="panel-head"><h2>Totals</h2></div>
  <div class="totals-grid">
    <table class="kv">
      ${row('ideas tried', String(totals.tried))}
      ${row('succeeded', String(totals.succeeded))}
      ${row('failed', String(totals.failed))}
      ${totals.stoppedEarly ? row('stopped early', String(totals.stoppedEarly)) : ''}
      ${totals.unfinished ? row('in progress', String(totals.unfinished)) : ''}
      ${row('evaluations', String(totals.evaluations))}
      ${row('compute', `${formatHours(totals.computeHours)} (${totals.computeHours.toFixed(3)} h)`)}
      ${row('GPU-hours', totals.gpuHours.toFixed(3))}
      ${row('tokens', `${formatCount(totals.inputTokens)} input (${formatCount(totals.cachedTokens)} cached) · ${formatCount(totals.outputTokens)} output`)}
      ${row('dollars', `$${totals.costUsd.toFixed(4)}`)}
      ${row('run time', formatDuration(totals.elapsedMs))}
    </table>
    <div><h4>Failed by reason</h4>${reasons}</div>
  </div>
</section>`;
}

// ─── small formatting helpers ─────────────────────────────────────────────────────────────

function rewardText(idea: Pick<IdeaView, 'reward' | 'rewardStd' | 'rewardCount'>): string {
  if (idea.reward === null) return '—';
  return idea.rewardCount > 1 ? `${formatNumber(idea.reward)} ± ${formatSpread(idea.rewardStd ?? 0)}` : formatNumber(idea.reward);
}

/** A standard deviation: two significant digits are all it can honestly claim. */
export function formatSpread(std: number): string {
  if (std === 0) return '0';
  return Math.abs(std) >= 1000 || Math.abs(std) < 0.001 ? std.toExponential(1) : String(Number(std.toPrecision(2)));
}

/** How many standard errors: whole numbers once the ratio is large. */
function formatRatio(ratio: number): string {
  const abs = Math.abs(ratio);
  return abs >= 1e6 ? abs.toExponential(1) : abs >= 10 ? String(Math.round(abs)) : abs.toFixed(1);
}

function rewardHtml(idea: IdeaView): string {
  if (idea.reward === null) return '<span class="muted">—</span>';
  const spread = idea.rewardCount > 1 ? ` <span class="pm">± ${escapeHtml(formatSpread(idea.rewardStd ?? 0))}</span>` : '';
  return `<b>${escapeHtml(formatNumber(idea.reward))}</b>${spread} <span class="n">n=${idea.rewardCount}</span>`;
}

function deltaHtml(delta: number | null): string {
  if (delta === null) return '<span class="muted">—</span>';
  const cls = delta > 0 ? 'pos' : delta < 0 ? 'neg' : 'zero';
  return `<span class="delta ${cls}">${delta > 0 ? '+' : delta < 0 ? '−' : '±'}${escapeHtml(formatNumber(Math.abs(delta)))}</span>`;
}

const VERDICT_TEXT: Record<Verdict, [label: string, cls: string]> = {
  better: ['beyond noise', 'v-better'],
  worse: ['worse, beyond noise', 'v-worse'],
  'within-noise': ['within noise', 'v-noise'],
  unknown: ['', ''],
};

function verdictChip(verdict: Verdict, ratio: number | null): string {
  const [text, cls] = VERDICT_TEXT[verdict];
  if (!text) return '';
  const title =
    ratio === null
      ? 'no spread was measured on either side'
      : `the difference is ${formatRatio(ratio)}× its standard error, seed by seed where the idea and the baseline ran the same seeds, else from the spread over the baseline's seeds and the idea's (an idea run with one seed is assumed as noisy as the baseline)`;
  return `<span class="verdict ${cls}" title="${escapeHtml(title)}">${text}</span>`;
}

function statusBadge(idea: Pick<IdeaView, 'status' | 'failureReason'>): string {
  switch (idea.status) {
    case 'succeeded':
      return '<span class="badge ok">succeeded</span>';
    case 'failed':
      return `<span class="badge bad">${escapeHtml(idea.failureReason ?? 'failed')}</span>`;
    case 'stopped-early':
      return '<span class="badge wait">stopped early</span>';
    case 'running':
      return '<span class="badge run">running</span>';
    default:
      return `<span class="badge wait">${escapeHtml(idea.status)}</span>`;
  }
}

function runStatusBadge(status: string): string {
  const cls = status === 'running' ? 'run' : status === 'finished' ? 'ok' : 'wait';
  return `<span class="badge ${cls} run-status">${escapeHtml(status)}</span>`;
}

function shortAgent(agent: string): string {
  return agent.split('/').pop() ?? agent;
}

export function formatHours(hours: number): string {
  if (hours === 0) return '0 h';
  if (hours < 1) return `${formatDuration(hours * 3_600_000)}`;
  return `${hours.toFixed(hours < 10 ? 2 : 1)} h`;
}

export function formatCount(n: number): string {
  if (n < 1000) return String(n);
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)}k`;
  return `${(n / 1_000_000).toFixed(1)}M`;
}

export function formatDate(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function shellQuote(text: string): string {
  return /^[\w./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

// ─── inline assets ────────────────────────────────────────────────────────────────────────

/** The page's style sheet: report.css beside this module (scripts/build.js copies it into dist/). Read on first use. */
let css: string | undefined;
function styleSheet(): string {
  css ??= readFileSync(new URL('./report.css', import.meta.url), 'utf8');
  return css;
}

/** Click a column header to sort; missing values always go last; the state survives live reloads. */
const SORT_SCRIPT = `
(function(){
  var table=document.getElementById('leaderboard-table');if(!table)return;
  var heads=Array.prototype.slice.call(table.tHead.rows[0].cells);
  function sortBy(col,dir){
    var body=table.tBodies[0],rows=Array.prototype.slice.call(body.rows),num=heads[col].dataset.type==='num';
    rows.sort(function(a,b){
      var x=a.cells[col].dataset.sort,y=b.cells[col].dataset.sort,ex=x===''||x===undefined,ey=y===''||y===undefined;
      if(ex||ey)return ex&&ey?0:ex?1:-1;
      var c=num?Number(x)-Number(y):x.localeCompare(y);
      return dir==='asc'?c:-c;
    });
    rows.forEach(function(r){body.appendChild(r)});
    heads.forEach(function(h,i){if(i===col)h.setAttribute('aria-sort',dir==='asc'?'ascending':'descending');else h.removeAttribute('aria-sort')});
    window.__leaderboardSort={col:col,dir:dir};
  }
  heads.forEach(function(h,i){
    h.querySelector('button').addEventListener('click',function(){
      var cur=h.getAttribute('aria-sort');
      var dir=cur==='ascending'?'desc':cur==='descending'?'asc':h.dataset.dir;
      sortBy(i,dir);
    });
  });
  window.__sortLeaderboard=sortBy;
  function openTarget(){
    var el=location.hash&&document.getElementById(location.hash.slice(1));
    if(el&&el.tagName==='DETAILS'&&!el.open){el.open=true;el.scrollIntoView()}
  }
  window.addEventListener('hashchange',openTarget);openTarget();
})();
`;

/**
 * The live view: the server sends the run's version on connect and whenever it changes; a new
 * version reloads the page, keeping the scroll position, the sort order and the open log panels.
 */
const LIVE_SCRIPT = `
(function(){
  var KEY='researcher-live-state',body=document.body,lost=document.getElementById('live-lost');
  try{
    var saved=JSON.parse(sessionStorage.getItem(KEY)||'null');
    if(saved){
      sessionStorage.removeItem(KEY);
      if(saved.sort&&window.__sortLeaderboard)window.__sortLeaderboard(saved.sort.col,saved.sort.dir);
      document.querySelectorAll('details.card').forEach(function(d){if(saved.cards&&d.id in saved.cards)d.open=saved.cards[d.id]});
      (saved.logs||[]).forEach(function(id){var d=document.querySelector('#'+id+' details.log');if(d)d.open=true});
      window.scrollTo({top:saved.y||0,behavior:'instant'});
    }
  }catch(e){}
  function reload(){
    var cards={},logs=[];
    document.querySelectorAll('details.card').forEach(function(d){cards[d.id]=d.open;var l=d.querySelector('details.log');if(l&&l.open)logs.push(d.id)});
    try{sessionStorage.setItem(KEY,JSON.stringify({y:window.scrollY,sort:window.__leaderboardSort||null,cards:cards,logs:logs}))}catch(e){}
    location.reload();
  }
  var events=new EventSource(body.dataset.liveEvents);
  events.addEventListener('version',function(ev){if(ev.data!==body.dataset.liveVersion)reload()});
  events.onopen=function(){if(lost)lost.hidden=true};
  events.onerror=function(){if(lost)lost.hidden=false};
})();
`;
