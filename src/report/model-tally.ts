/**
 * The per-model tally: for each role and model, the ideas it worked on, how many succeeded and
 * improved on their parent, the best reward among them and what its calls cost. `show --json`
 * gives it as `models`; the leaderboard, report.html and `compare` show it when a role used more
 * than one model (a model portfolio, src/search/model-portfolio.ts).
 *
 * Which model an idea is credited to, per role: for the thinker the model the portfolio chose
 * (the idea's meta), else the model of the role's first call for the idea. Dollars are the role's
 * calls with that model, whichever idea they were for.
 */
import { bestFinished, type Goal } from '../core/ideas.ts';
import { formatNumber } from '../core/format.ts';
import type { IdeaRecord } from '../core/types.ts';
import { improvementOf, THINKER_MODEL_KEY } from '../search/model-portfolio.ts';
import type { ModelCallTotal } from '../store/model-call-totals.ts';
import { escapeHtml } from './diff-html.ts';

export interface ModelTally {
  role: string;
  model: string;
  /** Ideas credited to the model in this role (the baseline is nobody's). */
  ideas: number;
  /** Of those, the ones that ran and were scored. */
  succeeded: number;
  /** Of those, the ones that beat their parent (the baseline for a root idea): the bandit's reward. */
  improved: number;
  /** The best reward among its succeeded ideas, and which idea it was. */
  best: number | null;
  bestIdea: number | null;
  calls: number;
  costUsd: number;
}

const ROLE_ORDER = ['thinker', 'coder'];

export function modelTally(ideas: readonly IdeaRecord[], totals: readonly ModelCallTotal[], goal: Goal): ModelTally[] {
  const rows = new Map<string, ModelTally & { order: number; credited: IdeaRecord[] }>();
  const row = (role: string, model: string, order: number) => {
    const key = JSON.stringify([role, model]);
    let entry = rows.get(key);
    if (!entry) {
      entry = { role, model, ideas: 0, succeeded: 0, improved: 0, best: null, bestIdea: null, calls: 0, costUsd: 0, order, credited: [] };
      rows.set(key, entry);
    }
    return entry;
  };
  // The totals come in the order their first call was made: the first per idea and role is the one credited.
  const firstModel = new Map<string, string>();
  for (const total of totals) {
    const entry = row(total.role, total.model, total.firstCall);
    entry.calls += total.calls;
    entry.costUsd += total.costUsd;
    if (total.ideaId !== null && !firstModel.has(`${total.ideaId}/${total.role}`))
      firstModel.set(`${total.ideaId}/${total.role}`, total.model);
  }
  const roles = new Set(['thinker', ...totals.map((total) => total.role)]);
  const byId: (IdeaRecord | undefined)[] = [];
  for (const idea of ideas) byId[idea.id] = idea;
  for (const idea of ideas) {
    if (idea.id === 0) continue;
    for (const role of roles) {
      const chosen = role === 'thinker' ? idea.meta[THINKER_MODEL_KEY] : undefined;
      const model = typeof chosen === 'string' ? chosen : firstModel.get(`${idea.id}/${role}`);
      if (model === undefined) continue;
      const entry = row(role, model, Number.MAX_SAFE_INTEGER);
      entry.ideas++;
      if (idea.status === 'succeeded') entry.succeeded++;
      if (improvementOf(idea, byId, goal) === 1) entry.improved++;
      entry.credited.push(idea);
    }
  }
  const rank = (role: string) => (ROLE_ORDER.includes(role) ? ROLE_ORDER.indexOf(role) : ROLE_ORDER.length);
  return [...rows.values()]
    .sort((a, b) => rank(a.role) - rank(b.role) || a.role.localeCompare(b.role) || a.order - b.order || a.model.localeCompare(b.model))
    .map(({ order: _order, credited, ...entry }) => {
      const best = bestFinished(credited, goal);
      return { ...entry, best: best?.reward ?? null, bestIdea: best?.id ?? null };
    });
}

/** Whether some role used more than one model: only then is the tally worth a section of its own. */
export function hasSeveralModels(rows: readonly ModelTally[]): boolean {
  const roles = rows.map((row) => row.role);
  return new Set(roles).size < roles.length;
}

const dollars = (usd: number) => `$${usd.toFixed(usd > 0 && usd < 0.01 ? 4 : 2)}`;

/** The tally as a plain-text table (the leaderboard, `compare`). */
export function formatModelTally(rows: readonly ModelTally[], indent = ''): string[] {
  const header = ['role', 'model', 'ideas', 'succeeded', 'improved', 'best', 'dollars'];
  const cells = rows.map((r) => [
    r.role,
    r.model,
    String(r.ideas),
    String(r.succeeded),
    String(r.improved),
    r.best === null ? '—' : `${formatNumber(r.best)} (idea ${r.bestIdea})`,
    dollars(r.costUsd),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) =>
    `${indent}${c.map((cell, i) => (i >= 2 && i !== 5 ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join('  ')}`.trimEnd();
  return [line(header), ...cells.map(line)];
}

/** The tally as a report.html panel. */
export function modelTallyHtml(rows: readonly ModelTally[]): string {
  const body = rows
    .map(
      (r) =>
        `<tr><td>${escapeHtml(r.role)}</td><td><code>${escapeHtml(r.model)}</code></td><td class="num">${r.ideas}</td><td class="num">${r.succeeded}</td><td class="num">${r.improved}</td><td class="num">${r.best === null ? '—' : `<a href="#idea-${r.bestIdea}">${escapeHtml(formatNumber(r.best))}</a>`}</td><td class="num muted">${dollars(r.costUsd)}</td></tr>`,
    )
    .join('\n');
  return `<section id="models" class="panel">
  <div class="panel-head"><h2>Models</h2><span class="hint">improved: beat the idea it was built on (the baseline for a root idea)</span></div>
  <table class="leaderboard"><thead><tr><th>role</th><th>model</th><th class="num">ideas</th><th class="num">succeeded</th><th class="num">improved</th><th class="num">best</th><th class="num">dollars</th></tr></thead>
  <tbody>
${body}
  </tbody></table>
</section>`;
}
