/**
 * The lab notebook of an environment: <runs folder>/notebooks/<environment name>.md, plain
 * Markdown kept across runs, which a person may read and edit. The researcher owns one section of
 * it, between two marker lines (BEGIN_MARK and END_MARK), and rewrites only that section: notes a
 * person writes above or below it are kept byte for byte. A notebook without the markers (or
 * with them mangled) keeps all its text, and the researcher's section goes after it.
 *
 * The section holds the best known configuration (across runs: the better of the one it held and
 * the run's best), then one part per run, newest first, with that run's reflection. Everything in
 * it is rendered here from the store's records (ideas, rewards) and a reflection whose every item
 * went through `plainText`: a title or a model's reply cannot add headings, HTML or markers.
 *
 * The runs folder is also where run steps write, so the notebook is read without following a
 * link anywhere below the runs folder, only when it is a regular file, and at most
 * MAX_NOTEBOOK_BYTES; it is written beside itself and renamed over (never through a link, never
 * seen half-written).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, lstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync, constants } from 'node:fs';
import path from 'node:path';
import type { Goal } from '../core/ideas.ts';
import { BestKnown, plainText, REFLECTION_ITEMS, type Reflection, type ReflectionKind } from '../core/reflection.ts';
import { readRunFile } from '../reward/safe-read.ts';
import { guidanceHash } from './guidance.ts';

export const NOTEBOOKS_DIR = 'notebooks';
/** The run meta key holding the notebook the run started from (src/core/sweep/memory.ts writes it). */
export const NOTEBOOK_META = 'notebook';
/** The most of a notebook read; a bigger one is refused whole (a person trims it). */
export const MAX_NOTEBOOK_BYTES = 256 * 1024;
/** Runs whose parts the researcher's section keeps (the newest). */
export const MAX_RUNS_KEPT = 8;

export const BEGIN_MARK =
  '<!-- ai-researcher:begin (the researcher rewrites what lies between these two markers; notes of your own outside them are kept) -->';
export const END_MARK = '<!-- ai-researcher:end -->';
const BEGIN_PATTERN = /^<!-- ai-researcher:begin\b.*-->[ \t]*$/m;
const END_PATTERN = /^<!-- ai-researcher:end -->[ \t]*$/m;
const BEST_PATTERN = /^<!-- ai-researcher:best (\{.*\}) -->[ \t]*$/m;
const RUN_HEADING = /^### Run /m;

/** The notebook's path for an environment, relative to the runs folder and absolute. */
export function notebookPaths(runsDir: string, environmentName: string): { relative: string; file: string } {
  const relative = `${NOTEBOOKS_DIR}/${environmentName}.md`;
  return { relative, file: path.join(runsDir, relative) };
}

export type NotebookRead = { ok: true; text: string | null } | { ok: false; message: string };

/** The notebook as it is now: null when there is none (or it holds only blank lines). */
export function readNotebook(runsDir: string, environmentName: string): NotebookRead {
  const { relative } = notebookPaths(runsDir, environmentName);
  const read = readRunFile(runsDir, relative, { maxBytes: MAX_NOTEBOOK_BYTES }, relative);
  if (!read.ok) return read.why === 'missing' ? { ok: true, text: null } : { ok: false, message: read.message };
  return { ok: true, text: read.text.trim() === '' ? null : read.text };
}

/** A short fingerprint of a notebook's text, recorded with what saw it. */
export function notebookHash(text: string): string {
  return guidanceHash(text);
}

/** The researcher's section of a notebook (between the markers), or null when it has none. */
function ownSection(text: string): { start: number; end: number; body: string } | null {
  const begin = BEGIN_PATTERN.exec(text);
  if (!begin) return null;
  const afterBegin = begin.index + begin[0].length;
  const end = END_PATTERN.exec(text.slice(afterBegin));
  if (!end) return null;
  const endIndex = afterBegin + end.index;
  return { start: begin.index, end: endIndex + end[0].length, body: text.slice(afterBegin, endIndex) };
}

/** The best known configuration recorded in a notebook's section, or null (none, or the line was edited into something unreadable). */
export function bestKnownIn(text: string | null): BestKnown | null {
  const section = text === null ? null : ownSection(text);
  const match = section && BEST_PATTERN.exec(section.body);
  if (!match) return null;
  try {
    const parsed = BestKnown.safeParse(JSON.parse(match[1]));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** The parts of earlier runs in a notebook's section, newest first, as written. */
function runParts(body: string): { runId: string; text: string }[] {
  const start = RUN_HEADING.exec(body);
  if (!start) return [];
  return body
    .slice(start.index)
    .split(/^(?=### Run )/m)
    .map((text) => ({ runId: /^### Run (\S+)/.exec(text)?.[1] ?? '', text: text.trimEnd() }))
    .filter((part) => part.runId !== '');
}

/** One reflection of one run, as the notebook records it. */
export interface NotebookEntry {
  runId: string;
  environmentName: string;
  kind: ReflectionKind;
  /** Finished ideas (baseline not counted) and the run's idea budget. */
  afterIdeas: number;
  ideas: number;
  at: Date;
  goal: Goal;
  baseline: { reward: number; rewardStd: number | null; rewardCount: number } | null;
  /** The run's best idea, with its knob settings when the environment has knobs. */
  best: BestKnown | null;
  reflection: Reflection;
}

function reward(value: number): string {
  return Math.abs(value) >= 1000 || (Math.abs(value) < 0.001 && value !== 0)
    ? value.toExponential(3)
    : String(Number(value.toPrecision(4)));
}

function rewardWithSpread(r: { reward: number; rewardStd: number | null; rewardCount: number }): string {
  return r.rewardCount > 1 && r.rewardStd !== null
    ? `${reward(r.reward)} ± ${reward(r.rewardStd)} (${r.rewardCount} seeds)`
    : `${reward(r.reward)} (1 seed)`;
}

function better(a: BestKnown, b: BestKnown, goal: Goal): boolean {
  return goal === 'maximize' ? a.reward > b.reward : a.reward < b.reward;
}

function runPart(entry: NotebookEntry): string {
  const { reflection } = entry;
  const when = entry.kind === 'final' ? 'the sweep ended' : 'reflecting mid-sweep';
  const lines = [
    `### Run ${entry.runId} — ${entry.afterIdeas} of ${entry.ideas} ideas (${when}), ${entry.at.toISOString().slice(0, 10)}`,
    '',
  ];
  const facts = [`baseline ${entry.baseline ? rewardWithSpread(entry.baseline) : 'n/a'}`];
  if (entry.best) facts.push(`best idea #${entry.best.idea} "${plainText(entry.best.title, 120)}" ${rewardWithSpread(entry.best)}`);
  lines.push(
    `Rewards are means ± spread over seeds. ${facts.join('; ')}.`,
    '',
    `**What we have learned.** ${plainText(reflection.summary, 800)}`,
  );
  const section = (title: string, items: string[]) => {
    if (items.length) lines.push('', `**${title}**`, '', ...items.map((item) => `- ${item}`));
  };
  section(
    'Findings',
    reflection.findings
      .slice(0, REFLECTION_ITEMS.findings)
      .map((f) => `${plainText(f.claim, 300)}${f.evidence ? ` — evidence: ${plainText(f.evidence, 240)}` : ''}`),
  );
  section(
    'Dead ends',
    reflection.deadEnds.slice(0, REFLECTION_ITEMS.deadEnds).map((d) => plainText(d, 240)),
  );
  section(
    'Open questions',
    reflection.openQuestions.slice(0, REFLECTION_ITEMS.openQuestions).map((q) => plainText(q, 240)),
  );
  return lines.join('\n');
}

function bestPart(best: BestKnown | null): string {
  const lines = ['### Best known configuration', ''];
  if (!best) return [...lines, 'None yet: no idea has beaten its baseline.'].join('\n');
  lines.push(
    `- reward ${rewardWithSpread(best)}: run ${best.run}, idea #${best.idea} "${plainText(best.title, 160)}" (branch idea/${best.idea} of that run's repo)`,
  );
  if (best.settings && Object.keys(best.settings).length) {
    lines.push(
      `- settings: ${Object.entries(best.settings)
        .map(([name, value]) => `${plainText(name, 60)} = ${plainText(value, 60)}`)
        .join(', ')}`,
    );
  }
  // The line the offline agent reads back (a person may delete it; then it is simply not known).
  lines.push(`<!-- ai-researcher:best ${JSON.stringify(best).replace(/</g, '\\u003c').replace(/>/g, '\\u003e')} -->`);
  return lines.join('\n');
}

/**
 * The notebook with this entry in the researcher's section: the person's text kept as it was,
 * the best known configuration updated, this run's part replaced (or added first), the parts of
 * other runs kept (the newest MAX_RUNS_KEPT).
 */
export function updatedNotebook(previous: string | null, entry: NotebookEntry): string {
  const section = previous === null ? null : ownSection(previous);
  const earlierBest = previous === null ? null : bestKnownIn(previous);
  const best =
    !earlierBest || earlierBest.run === entry.runId
      ? entry.best
      : entry.best && better(entry.best, earlierBest, entry.goal)
        ? entry.best
        : earlierBest;
  const others = section ? runParts(section.body).filter((part) => part.runId !== entry.runId) : [];
  const parts = [runPart(entry), ...others.map((part) => part.text)].slice(0, MAX_RUNS_KEPT);
  const own = [
    BEGIN_MARK,
    '## What the researcher has established',
    '',
    `_Written by the researcher from its runs' records after each sweep on ${entry.environmentName}: run and idea ids, rewards as mean ± spread over seeds._`,
    '',
    bestPart(best),
    '',
    parts.join('\n\n'),
    END_MARK,
  ].join('\n');
  if (previous === null) {
    return `# Lab notebook: ${entry.environmentName}\n\nNotes of your own go here (or anywhere outside the researcher's section below); every sweep on this environment reads them.\n\n${own}\n`;
  }
  if (section) return `${previous.slice(0, section.start)}${own}${previous.slice(section.end)}`;
  return `${previous.replace(/\s*$/, '')}\n\n${own}\n`;
}

export type NotebookWrite = { ok: true } | { ok: false; message: string };

/**
 * Writes the notebook: to a new file beside it, then renamed over it, so a reader sees the old
 * notebook or the new one and never half of one; a notebooks folder that is a link is refused.
 */
export function writeNotebook(runsDir: string, environmentName: string, text: string): NotebookWrite {
  const { relative, file } = notebookPaths(runsDir, environmentName);
  const dir = path.dirname(file);
  try {
    mkdirSync(dir, { recursive: true });
    const stat = lstatSync(dir);
    if (stat.isSymbolicLink() || !stat.isDirectory()) return { ok: false, message: `${NOTEBOOKS_DIR} is not a folder (a link?); refused` };
  } catch (error) {
    return { ok: false, message: `${NOTEBOOKS_DIR} could not be made (${(error as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  const temporary = path.join(dir, `.${environmentName}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    // O_EXCL: never opens a file (or a link) someone put at this name first.
    const fd = openSync(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
    try {
      writeSync(fd, text);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, file);
    return { ok: true };
  } catch (error) {
    rmSync(temporary, { force: true });
    return {
      ok: false,
      message: `${relative} could not be written (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    };
  }
}
