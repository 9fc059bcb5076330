/**
 * What the thinker and coder are told about the environment and the run, built from the
 * ResearchContext: the task, the file tree, the context files (trimmed to a token budget, least
 * relevant and largest first, saying what was cut), and the run's history — the baseline, the
 * best ideas with their rewards and diffs, recent failures with their reasons.
 *
 * Everything is rendered deterministically (sorted, no clocks), so the same run state gives the
 * same prompt: provider caches hit, and the run's response cache answers a resumed call.
 */
import picomatch from 'picomatch';
import { isBeingProposed, isFinished, type Goal } from '../../core/ideas.ts';
import type { ResearchContext } from '../../core/interfaces.ts';
import { difference } from '../../core/statistics.ts';
import type { IdeaRecord } from '../../core/types.ts';
import type { Environment } from '../../environment/load.ts';
import { compileRules } from '../../patch/guard.ts';

/** Rough token count (about four characters per token for code and English). */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** Reads files at a commit, remembering them: commits never change. */
export class CommitFiles {
  private readonly cache = new Map<string, Promise<string | null>>();

  read(context: ResearchContext, commit: string | null, relativePath: string): Promise<string | null> {
    if (!commit) return context.readFile(relativePath);
    const key = `${commit}:${relativePath}`;
    let text = this.cache.get(key);
    if (!text) {
      text = context.readFileAt(commit, relativePath);
      this.cache.set(key, text);
    }
    return text;
  }
}

export function baseCommit(context: ResearchContext): string | null {
  return context.history.find((idea) => idea.id === 0)?.commit ?? null;
}

export function parentCommit(context: ResearchContext): string | null {
  return context.parent?.commit ?? baseCommit(context);
}

export function goalText(environment: Environment): string {
  const { reward } = environment.config;
  const direction = reward.goal === 'maximize' ? 'higher is better' : 'lower is better';
  const source = reward.source === 'json' ? `"${reward.key}" in ${reward.file}` : `the number matching /${reward.pattern}/ in the run's output`;
  return `${reward.goal} the reward (${direction}): ${source}, measured by a frozen evaluator you cannot change.`;
}

function fence(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`{3,}/g)].map((m) => m[0].length));
  return '`'.repeat(Math.max(3, longest + 1));
}

const LANGUAGES: Record<string, string> = { py: 'python', ts: 'typescript', js: 'javascript', sh: 'bash', yaml: 'yaml', yml: 'yaml', json: 'json', md: 'markdown', toml: 'toml', c: 'c', cpp: 'cpp', rs: 'rust', go: 'go' };

function renderFile(relativePath: string, text: string): string {
  const f = fence(text);
  const language = LANGUAGES[relativePath.split('.').pop() ?? ''] ?? '';
  return `### ${relativePath}\n${f}${language}\n${text.endsWith('\n') ? text : `${text}\n`}${f}`;
}

export async function fileTree(context: ResearchContext, maxEntries = 300): Promise<string> {
  const { isEditable, isProtected } = compileRules(context.environment.config);
  const files = [...(await context.listFiles())].sort();
  const lines = files.slice(0, maxEntries).map((file) => {
    const tag = isProtected(file) ? 'protected' : isEditable(file) ? 'editable' : 'read-only';
    return `${file}  (${tag})`;
  });
  if (files.length > maxEntries) lines.push(`… and ${files.length - maxEntries} more files`);
  return lines.join('\n');
}

export interface CodeSection {
  text: string;
  included: string[];
  omitted: { path: string; tokens: number }[];
}

/**
 * The context files (the environment's `context` globs, protected files excluded) at `commit`,
 * as fenced blocks, within `budgetTokens`. When they do not all fit, whole files are left out —
 * the least relevant first (not editable, not run, no knob), the largest first among equals —
 * and the section says which. A single file too large even alone is cut at the end, saying so.
 */
export async function codeSection(context: ResearchContext, files: CommitFiles, commit: string | null, budgetTokens: number): Promise<CodeSection> {
  const config = context.environment.config;
  const { isEditable, isProtected } = compileRules(config);
  const globs = config.context.length ? config.context : config.editable;
  const matchers = globs.map((glob) => picomatch(glob, { dot: true, basename: !glob.includes('/') }));
  const runCommand = config.run.command;
  const knobFiles = new Set(config.knobs.map((knob) => knob.file));

  const candidates: { path: string; text: string; tokens: number; relevance: number }[] = [];
  for (const file of [...(await context.listFiles())].sort()) {
    if (isProtected(file) || !matchers.some((m) => m(file))) continue;
    const text = await files.read(context, commit, file);
    if (text === null || text.includes('\0')) continue;
    const base = file.split('/').pop()!;
    const relevance = (isEditable(file) ? 2 : 0) + (runCommand.includes(base) ? 2 : 0) + (knobFiles.has(file) ? 1 : 0);
    candidates.push({ path: file, text, tokens: estimateTokens(renderFile(file, text)), relevance });
  }

  const cutOrder = [...candidates].sort((a, b) => a.relevance - b.relevance || b.tokens - a.tokens || a.path.localeCompare(b.path));
  const kept = new Set(candidates.map((c) => c.path));
  let total = candidates.reduce((sum, c) => sum + c.tokens, 0);
  const omitted: CodeSection['omitted'] = [];
  for (const candidate of cutOrder) {
    if (total <= budgetTokens) break;
    kept.delete(candidate.path);
    omitted.push({ path: candidate.path, tokens: candidate.tokens });
    total -= candidate.tokens;
  }

  const blocks: string[] = [];
  const included: string[] = [];
  for (const candidate of candidates) {
    if (kept.has(candidate.path)) {
      blocks.push(renderFile(candidate.path, candidate.text));
      included.push(candidate.path);
    }
  }
  if (included.length === 0 && candidates.length > 0) {
    // Nothing fits whole: show the most relevant file cut to the budget rather than nothing.
    const best = cutOrder[cutOrder.length - 1];
    const lines = best.text.split('\n');
    let shown = '';
    let count = 0;
    while (count < lines.length && estimateTokens(shown + lines[count]) < budgetTokens * 0.95) shown += `${lines[count++]}\n`;
    blocks.push(`${renderFile(best.path, shown)}\n(${best.path} is cut here: lines ${count + 1}-${lines.length} do not fit the context budget)`);
    included.push(best.path);
    const index = omitted.findIndex((o) => o.path === best.path);
    if (index >= 0) omitted.splice(index, 1);
  }
  if (omitted.length) {
    const list = omitted
      .sort((a, b) => a.path.localeCompare(b.path))
      .map((o) => `${o.path} (~${o.tokens} tokens)`)
      .join(', ');
    blocks.push(`(Left out to fit the context budget of ${budgetTokens} tokens: ${list}.)`);
  }
  return { text: blocks.join('\n\n'), included, omitted };
}

// ─── the run's history ─────────────────────────────────────────────────────────────────────

function formatReward(value: number | null): string {
  if (value === null) return 'n/a';
  return Math.abs(value) >= 1000 || (Math.abs(value) < 0.001 && value !== 0) ? value.toExponential(3) : String(Number(value.toPrecision(4)));
}

function rewardText(idea: IdeaRecord, baseline: IdeaRecord | undefined, goal: Goal): string {
  let text = `reward ${formatReward(idea.reward)}`;
  if (idea.rewardCount > 1 && idea.rewardStd !== null) text += ` ± ${formatReward(idea.rewardStd)} (${idea.rewardCount} seeds)`;
  if (baseline?.reward !== null && baseline?.reward !== undefined && idea.reward !== null && idea.id !== 0) {
    const delta = (goal === 'maximize' ? 1 : -1) * difference(idea.reward, baseline.reward);
    text += `, ${delta >= 0 ? '+' : ''}${formatReward(delta)} vs baseline (${delta > 0 ? 'better' : delta < 0 ? 'worse' : 'same'})`;
  }
  return text;
}

function clip(text: string, max: number): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}

function diffExcerpt(diff: string | null, maxLines: number): string {
  if (!diff || maxLines === 0) return '';
  const lines = diff.split('\n').filter((line) => !line.startsWith('index ') && !line.startsWith('diff --git'));
  const shown = lines.slice(0, maxLines);
  const more = lines.length > maxLines ? `\n… (${lines.length - maxLines} more lines)` : '';
  return `\n\`\`\`diff\n${shown.join('\n').trimEnd()}${more}\n\`\`\``;
}

export interface HistoryOptions {
  budgetTokens: number;
  diffLines: number;
}

/**
 * The run so far, for the thinker: the baseline, the best ideas (with diffs), recent failures
 * (with reasons), ideas in progress, and a compact list of the rest — shrunk until it fits.
 */
export function historySection(context: ResearchContext, options: HistoryOptions): string {
  const goal = context.environment.config.reward.goal;
  const baseline = context.history.find((idea) => idea.id === 0);
  const ideas = context.history.filter((idea) => idea.id !== 0);
  const better = (a: IdeaRecord, b: IdeaRecord) => (goal === 'maximize' ? b.reward! - a.reward! : a.reward! - b.reward!) || a.id - b.id;
  const succeeded = ideas.filter((idea) => idea.status === 'succeeded' && idea.reward !== null).sort(better);
  const failed = ideas.filter((idea) => idea.status === 'failed').sort((a, b) => b.id - a.id);
  const inProgress = ideas.filter((idea) => !isFinished(idea) && !isBeingProposed(idea));

  const render = (bestCount: number, diffLines: number, failureCount: number, restCount: number): string => {
    const out: string[] = [];
    if (baseline) {
      out.push(
        baseline.status === 'succeeded' ? `Baseline (the unmodified code): ${rewardText(baseline, undefined, goal)}.` : `Baseline: ${baseline.status}.`,
      );
    }
    if (ideas.length === 0) {
      out.push('No ideas have been tried yet.');
      return out.join('\n');
    }
    const best = succeeded.slice(0, bestCount);
    if (best.length) {
      out.push('', `Best ideas so far (best first, ${succeeded.length} succeeded in all):`);
      for (const idea of best) {
        out.push(`- #${idea.id} "${clip(idea.title, 120)}": ${rewardText(idea, baseline, goal)}${idea.parentId ? ` (built on #${idea.parentId})` : ''}`);
        out.push(`  hypothesis: ${clip(idea.hypothesis, 300)}${diffExcerpt(idea.diff, diffLines)}`);
      }
    }
    const failures = failed.slice(0, failureCount);
    if (failures.length) {
      out.push('', `Recent failures (${failed.length} in all), with the reason:`);
      for (const idea of failures) out.push(`- #${idea.id} "${clip(idea.title, 120)}": ${idea.failureReason ?? 'failed'} — ${clip(idea.error ?? '', 300)}`);
    }
    if (inProgress.length) {
      out.push('', 'In progress now (do not propose these again):');
      for (const idea of inProgress) out.push(`- #${idea.id} "${clip(idea.title, 120)}"`);
    }
    const shown = new Set([...best, ...failures, ...inProgress].map((idea) => idea.id));
    const rest = ideas.filter((idea) => !shown.has(idea.id) && !idea.meta.proposing).sort((a, b) => b.id - a.id);
    if (rest.length) {
      out.push('', 'Other ideas tried (newest first):');
      for (const idea of rest.slice(0, restCount)) {
        out.push(`- #${idea.id} "${clip(idea.title, 100)}": ${idea.status === 'succeeded' ? rewardText(idea, baseline, goal) : (idea.failureReason ?? idea.status)}`);
      }
      if (rest.length > restCount) out.push(`- … and ${rest.length - restCount} older ones`);
    }
    return out.join('\n');
  };

  // Shrink step by step until the history fits its budget.
  const steps: [number, number, number, number][] = [
    [5, options.diffLines, 8, 40],
    [3, Math.min(options.diffLines, 30), 6, 25],
    [3, Math.min(options.diffLines, 12), 4, 15],
    [2, 0, 3, 10],
    [1, 0, 2, 5],
  ];
  let text = '';
  for (const step of steps) {
    text = render(...step);
    if (estimateTokens(text) <= options.budgetTokens) return text;
  }
  return text;
}

/** What the new idea builds on: the base code, or a previous idea (with its diff). */
export function parentSection(context: ResearchContext, diffLines: number): string {
  const parent = context.parent;
  if (!parent || parent.id === 0) return 'The idea is applied to the base code (the baseline).';
  const baseline = context.history.find((idea) => idea.id === 0);
  return (
    `The idea is applied on top of idea #${parent.id} "${clip(parent.title, 120)}" (${rewardText(parent, baseline, context.environment.config.reward.goal)}), ` +
    `whose change is already in the code:${diffExcerpt(parent.diff, Math.max(diffLines, 200))}`
  );
}

/** The placeholders every prompt shares: the task, the goal, how a run works, what may change. */
export async function environmentValues(context: ResearchContext) {
  const { config } = context.environment;
  return {
    task: config.description.trim(),
    goal: goalText(context.environment),
    runCommand: `\`${config.run.command}\` (time limit ${Math.round(config.run.timeout / 1000)} s)`,
    editable: config.editable.join(', '),
    protected: config.protected.length ? config.protected.join(', ') : '(none)',
    fileTree: await fileTree(context),
  };
}

/**
 * The person's guidance (steer.md), as the last part of the thinker's prompt: it changes while a
 * sweep runs, so it goes after everything the provider's prompt cache can keep.
 */
export function guidanceSection(context: ResearchContext): string {
  if (!context.guidance) return '';
  return `## Guidance from the researcher\nThe person running this sweep wrote this for the next ideas; follow it (newest entries last):\n\n${context.guidance}`;
}
