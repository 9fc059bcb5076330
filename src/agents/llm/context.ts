/**
 * What the thinker and coder are told about the environment and the run, built from the
 * ResearchContext: the task, the file tree, the context files (trimmed to a token budget, least
 * relevant and largest first, saying what was cut), and the run's history — the baseline, every
 * finished idea in the order it finished (an append-only log), then the standings: the best ideas
 * with their rewards and diffs, recent failures with their reasons, what is running.
 *
 * Everything is rendered deterministically (sorted, no clocks), so the same run state gives the
 * same prompt: provider caches hit, and the run's response cache answers a resumed call.
 *
 * (Over 400 lines on purpose: one prompt, section by section in the order the model reads it;
 * splitting it would scatter the one ordering that keeps the prefix stable.)
 */
import picomatch from 'picomatch';
import { isBeingProposed, isFinished, isHeldBack, type Goal } from '../../core/ideas.ts';
import type { ResearchContext } from '../../core/interfaces.ts';
import { difference } from '../../core/statistics.ts';
import type { IdeaRecord } from '../../core/types.ts';
import type { Environment } from '../../environment/load.ts';
import { compileRules } from '../../patch/guard.ts';
import { curveTexts } from './curve-text.ts';

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
 * Shares of the history budget. The log's head holds the first ideas to finish (with diffs while
 * they fit `FULL_SHARE`, one line each after that); the window holds the latest ones, one line
 * each; the standings get the rest.
 */
const FULL_SHARE = 0.35;
const HEAD_SHARE = 0.5;
const WINDOW_SHARE = 0.25;
/** The window's start moves in steps of this many ideas, so the fold before it changes rarely. */
const FOLD_STEP = 10;

/** Finished ideas in the order they finished (ids break ties): each new one lands at the end. */
function byFinish(a: IdeaRecord, b: IdeaRecord): number {
  const at = (idea: IdeaRecord) => idea.finishedAt ?? '\uffff';
  return at(a) < at(b) ? -1 : at(a) > at(b) ? 1 : a.id - b.id;
}

function outcomeText(idea: IdeaRecord, baseline: IdeaRecord | undefined, goal: Goal, errorChars: number): string {
  // A flagged idea's reward is not a result: say so, so that the thinker does not build on the shortcut.
  if (idea.status === 'succeeded' && isHeldBack(idea))
    return `${rewardText(idea, baseline, goal)} — NOT COUNTED: the auditor flagged it as breaking the rules (${clip(idea.audit!.reason, errorChars)})`;
  if (idea.status === 'succeeded') return rewardText(idea, baseline, goal);
  const error = clip(idea.error ?? '', errorChars);
  return `${idea.failureReason ?? 'failed'}${error ? ` — ${error}` : ''}`;
}

/** Each idea's learning curve as one line's tail (curve-text.ts), by idea id. */
type Curves = ReadonlyMap<number, string>;

function ideaLine(idea: IdeaRecord, baseline: IdeaRecord | undefined, goal: Goal, errorChars: number, curves: Curves): string {
  const curve = curves.get(idea.id);
  return `- #${idea.id} "${clip(idea.title, 120)}"${idea.parentId ? ` (built on #${idea.parentId})` : ''}: ${outcomeText(idea, baseline, goal, errorChars)}${curve ? `; ${curve}` : ''}`;
}

/** An idea with its hypothesis and, when it succeeded, its diff. */
function fullEntry(idea: IdeaRecord, baseline: IdeaRecord | undefined, goal: Goal, diffLines: number, curves: Curves): string {
  const diff = idea.status === 'succeeded' ? diffExcerpt(idea.diff, diffLines) : '';
  return `${ideaLine(idea, baseline, goal, 300, curves)}\n  hypothesis: ${clip(idea.hypothesis, 300)}${diff}`;
}

function compactEntry(idea: IdeaRecord, baseline: IdeaRecord | undefined, goal: Goal, curves: Curves): string {
  return ideaLine(idea, baseline, goal, 100, curves);
}

interface IdeaLog {
  text: string;
  /** Ideas whose entry above shows their diff (the standings need not repeat it). */
  withDiff: Set<number>;
}

/**
 * The finished ideas in the order they finished, each written once and never rewritten, so the
 * prompt up to the newest entry is the previous prompt's prefix and a provider's cache reuses it.
 * How an entry is written depends only on the entries before it: full (hypothesis, diff) while
 * the head is under FULL_SHARE of the budget, one line while it is under HEAD_SHARE. Ideas
 * after the head go to a window of one-liners that ends at the newest; when the window outgrows
 * WINDOW_SHARE its start moves FOLD_STEP ideas at a time and the ideas it passed are counted in
 * one line — so at 500 ideas the prompt stays within budget and its prefix still changes only
 * once every FOLD_STEP ideas.
 */
function ideaLog(finished: IdeaRecord[], baseline: IdeaRecord | undefined, goal: Goal, options: HistoryOptions, curves: Curves): IdeaLog {
  const withDiff = new Set<number>();
  const head: string[] = [];
  let headTokens = 0;
  let full = true;
  let index = 0;
  for (; index < finished.length; index++) {
    const idea = finished[index];
    if (full) {
      const entry = fullEntry(idea, baseline, goal, options.diffLines, curves);
      if (headTokens + estimateTokens(entry) <= options.budgetTokens * FULL_SHARE) {
        head.push(entry);
        headTokens += estimateTokens(entry);
        if (idea.status === 'succeeded' && idea.diff && options.diffLines > 0) withDiff.add(idea.id);
        continue;
      }
      full = false; // once the head stops taking full entries, it never takes one again
    }
    const entry = compactEntry(idea, baseline, goal, curves);
    if (headTokens + estimateTokens(entry) > options.budgetTokens * HEAD_SHARE) break;
    head.push(entry);
    headTokens += estimateTokens(entry);
  }

  const rest = finished.slice(index).map((idea) => ({ idea, entry: compactEntry(idea, baseline, goal, curves) }));
  let windowTokens = rest.reduce((sum, r) => sum + estimateTokens(r.entry), 0);
  let start = 0;
  while (start < rest.length && windowTokens > options.budgetTokens * WINDOW_SHARE) {
    for (const r of rest.slice(start, start + FOLD_STEP)) windowTokens -= estimateTokens(r.entry);
    start += FOLD_STEP;
  }
  const lines = ['Ideas tried, in the order they finished:', ...head];
  if (start > 0) {
    const folded = rest.slice(0, start).map((r) => r.idea);
    const succeeded = folded.filter((idea) => idea.status === 'succeeded').length;
    lines.push(
      `- … ${folded.length} more ideas are left out here to fit the budget (${succeeded} succeeded, ${folded.length - succeeded} failed); the best of all are in the standings below`,
    );
  }
  for (const r of rest.slice(start)) lines.push(r.entry);
  return { text: lines.join('\n'), withDiff };
}

/**
 * The run so far, for the thinker: the baseline, then every finished idea in the order it
 * finished (an append-only log: see ideaLog; each entry with a few points of its learning curve
 * when the run reported progress: see curve-text.ts), then the standings — the best ideas (with the
 * diffs the log does not show), recent failures with their reasons, and the ideas in progress.
 * Everything that changes from one call to the next is in the standings, at the end, so the
 * provider's prompt cache covers all that comes before.
 */
export function historySection(context: Pick<ResearchContext, 'history' | 'environment' | 'curves'>, options: HistoryOptions): string {
  const goal = context.environment.config.reward.goal;
  const baseline = context.history.find((idea) => idea.id === 0);
  const ideas = context.history.filter((idea) => idea.id !== 0);
  const curves = curveTexts(context.curves, context.environment.config.progress?.steps);
  const baselineCurve = baseline && curves.get(baseline.id);
  const out: string[] = [];
  if (baseline) {
    out.push(
      baseline.status === 'succeeded'
        ? `Baseline (the unmodified code): ${rewardText(baseline, undefined, goal)}${baselineCurve ? `; ${baselineCurve}` : ''}.`
        : `Baseline: ${baseline.status}.`,
    );
  }
  if (ideas.length === 0) {
    out.push('No ideas have been tried yet.');
    return out.join('\n');
  }
  const finished = ideas.filter(isFinished).sort(byFinish);
  const log = ideaLog(finished, baseline, goal, options, curves);
  out.push('', finished.length ? log.text : 'No idea has finished yet.');
  const before = out.join('\n');

  const better = (a: IdeaRecord, b: IdeaRecord) => (goal === 'maximize' ? b.reward! - a.reward! : a.reward! - b.reward!) || a.id - b.id;
  const succeeded = finished.filter((idea) => idea.status === 'succeeded' && idea.reward !== null && !isHeldBack(idea)).sort(better);
  const failed = finished.filter((idea) => idea.status === 'failed').reverse();
  const inProgress = ideas.filter((idea) => !isFinished(idea) && !isBeingProposed(idea)).sort((a, b) => a.id - b.id);

  const standings = (bestCount: number, diffCount: number, diffLines: number, failureCount: number): string => {
    const lines: string[] = [];
    const best = succeeded.slice(0, bestCount);
    if (best.length) {
      lines.push('', `Best ideas so far (best first, ${succeeded.length} succeeded in all):`);
      for (const [rank, idea] of best.entries()) {
        // Short: the log above says what each idea was and how it compared with the baseline.
        lines.push(`- #${idea.id} "${clip(idea.title, 120)}": ${rewardText(idea, undefined, goal)}`);
        if (rank < diffCount && diffLines > 0 && !log.withDiff.has(idea.id)) lines.push(`  hypothesis: ${clip(idea.hypothesis, 300)}${diffExcerpt(idea.diff, diffLines)}`);
      }
    }
    const failures = failed.slice(0, failureCount);
    if (failures.length) {
      lines.push('', `Recent failures (${failed.length} in all, newest first), with the reason:`);
      for (const idea of failures) lines.push(ideaLine(idea, baseline, goal, 120, curves));
    }
    if (inProgress.length) {
      lines.push('', 'In progress now (do not propose these again):');
      for (const idea of inProgress) lines.push(`- #${idea.id} "${clip(idea.title, 120)}"`);
    }
    return lines.join('\n');
  };

  // The log keeps within its shares by construction; the standings shrink into what is left.
  const room = options.budgetTokens - estimateTokens(before);
  // Steps: [best ideas, how many of them with their diff (when the log does not show it), diff lines, failures].
  const steps: [number, number, number, number][] = [
    [5, 3, Math.min(options.diffLines, 30), 5],
    [3, 2, Math.min(options.diffLines, 12), 3],
    [3, 0, 0, 3],
    [1, 0, 0, 1],
  ];
  let tail = '';
  for (const step of steps) {
    tail = standings(...step);
    if (estimateTokens(tail) <= room) break;
  }
  return tail ? `${before}\n${tail}` : before;
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

/** The notebook cut to `budgetTokens` (at a line end), saying so when it is cut. */
export function notebookExcerpt(text: string, budgetTokens: number): string {
  const trimmed = text.trim();
  if (estimateTokens(trimmed) <= budgetTokens) return trimmed;
  const cut = trimmed.slice(0, budgetTokens * 4);
  const end = cut.lastIndexOf('\n');
  return `${end > 0 ? cut.slice(0, end) : cut}\n\n(The notebook goes on; the rest does not fit the budget of ${budgetTokens} tokens.)`;
}

/**
 * The environment's lab notebook, for the thinker: the same text for every idea of the run, so
 * it sits in the part of the prompt the provider's cache keeps.
 */
export function notebookSection(context: ResearchContext, budgetTokens: number): string {
  if (!context.notebook || budgetTokens <= 0) return '';
  return (
    `## The lab notebook (${context.notebook.path})\n` +
    `What earlier sweeps on this environment established, and notes from the people running them. Its ideas are not in this run's history; their rewards were measured by the same evaluator. Start from what it establishes; do not repeat its dead ends.\n\n` +
    notebookExcerpt(context.notebook.text, budgetTokens)
  );
}

/** The run's latest reflection, for the thinker: it changes only when the sweep reflects again. */
export function learnedSection(context: ResearchContext): string {
  if (!context.learned) return '';
  return `## What we have learned so far in this run\n${context.learned.text}`;
}
