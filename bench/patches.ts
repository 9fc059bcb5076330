/**
 * Patch robustness: every case of bench/patch-corpus/cases.json (a real file, a model-style diff
 * — clean or damaged — and the file it should produce, or null when it must be refused) through
 * the project's applier and, side by side, `git apply`, `git apply --3way` and GNU
 * `patch --fuzz=3`. Each attempt gets a fresh git repository holding the original file.
 *
 * correct: produced exactly the expected file (or refused a case that must be refused);
 * refused: reported failure on a case that has an expected file;
 * wrong:   reported success but the file differs from the expected one (or a must-refuse case
 *          was applied). Wrong is the outcome that costs GPU time on a change nobody asked for.
 *
 * Then the held-out cut-off set (bench/patch-corpus/cut-off.ts: every complete corpus diff cut
 * inside its last hunk, as a reply stopped by max_tokens would be): how many each applier refuses.
 * Every one should be; the others are checked without writing (`git apply --check`,
 * `patch --dry-run`), in one repository per source file.
 */
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { applyEdit } from '../src/patch/apply.ts';
import { EditParseError, parseEditText } from '../src/patch/edit-text.ts';
import { type CutOffCase, cutOffCases } from './patch-corpus/cut-off.ts';
import type { PatchCase } from './patch-corpus/generate.ts';
import { benchDir } from './stats.ts';

export const TOOLS = ['researcher applyEdit', 'git apply', 'git apply --3way', 'patch --fuzz=3'] as const;
type Tool = (typeof TOOLS)[number];
type Outcome = 'correct' | 'refused' | 'wrong';

export interface PatchResult {
  cases: number;
  mustRefuse: number;
  tools: { tool: Tool; correct: number; refused: number; wrong: number; wrongCases: string[] }[];
  /** Per damage kind: correct count per tool. */
  byDamage: Record<string, Record<Tool, number> & { cases: number }>;
  /** The held-out cut-off replies: how many each applier refused (all of them is right). */
  cutOff?: { cases: number; refused: Record<Tool, number> };
}

/** "cut-off diffs refused: 7053 of 7053 (researcher applyEdit), 6100 of 7053 (git apply), …" */
export function cutOffLine(result: PatchResult): string {
  if (!result.cutOff) return 'cut-off diffs: not measured';
  const { cases, refused } = result.cutOff;
  return `cut-off diffs refused: ${TOOLS.map((tool) => `${refused[tool]} of ${cases} (${tool})`).join(', ')}`;
}

/** Whether `tool` refuses a cut-off reply; the file is put back when one applied it. */
async function refusesCutOff(tool: Tool, root: string, kase: CutOffCase, patchFile: string): Promise<boolean> {
  const target = path.join(root, kase.file);
  writeFileSync(target, kase.original);
  if (tool === 'researcher applyEdit') {
    let ok: boolean;
    try {
      ok = (await applyEdit(parseEditText(kase.reply), root)).ok;
    } catch (error) {
      if (!(error instanceof EditParseError)) throw error;
      ok = false;
    }
    const untouched = readFileSync(target, 'utf8') === kase.original;
    writeFileSync(target, kase.original);
    return !ok && untouched;
  }
  writeFileSync(patchFile, kase.reply);
  const args =
    tool === 'git apply'
      ? ['git', ['apply', '--check', patchFile]]
      : tool === 'git apply --3way'
        ? ['git', [...IDENTITY, 'apply', '--3way', '--check', patchFile]]
        : ['patch', ['-p1', '--fuzz=3', '--batch', '--forward', '--dry-run', '-i', patchFile]];
  return (await execa(args[0] as string, args[1] as string[], { cwd: root, reject: false })).exitCode !== 0;
}

async function cutOffBench(dir: string, quick: boolean, log: (line: string) => void): Promise<NonNullable<PatchResult['cutOff']>> {
  // Quick mode: every 20th cut; the full run takes every one.
  const cases = cutOffCases().filter((_, i) => !quick || i % 20 === 0);
  const refused = Object.fromEntries(TOOLS.map((t) => [t, 0])) as Record<Tool, number>;
  const roots = new Map<string, string>();
  for (const kase of cases) {
    let root = roots.get(kase.file);
    if (!root) {
      root = await templateRepo(path.join(dir, `cut-off-${roots.size}`), kase);
      roots.set(kase.file, root);
    }
    for (const tool of TOOLS) if (await refusesCutOff(tool, root, kase, `${root}.patch`)) refused[tool]++;
  }
  log(`patches: ${cases.length} cut-off replies × ${TOOLS.length} appliers`);
  return { cases: cases.length, refused };
}

const IDENTITY = ['-c', 'user.name=bench', '-c', 'user.email=bench@localhost', '-c', 'commit.gpgsign=false'];

/** A git repository holding the original file, made once per case and copied for each applier. */
async function templateRepo(root: string, kase: Pick<PatchCase, 'file' | 'original'>): Promise<string> {
  mkdirSync(root, { recursive: true });
  writeFileSync(path.join(root, kase.file), kase.original);
  await execa('git', ['init', '-q'], { cwd: root });
  await execa('git', [...IDENTITY, 'add', '-A'], { cwd: root });
  await execa('git', [...IDENTITY, 'commit', '-q', '-m', 'original'], { cwd: root });
  return root;
}

async function attempt(tool: Tool, root: string, kase: PatchCase): Promise<boolean> {
  const patchFile = path.join(root, '..', `${path.basename(root)}.patch`);
  writeFileSync(patchFile, kase.diff);
  switch (tool) {
    case 'researcher applyEdit':
      return (await applyEdit({ kind: 'unified-diff', diff: kase.diff }, root)).ok;
    case 'git apply':
      return (await execa('git', ['apply', patchFile], { cwd: root, reject: false })).exitCode === 0;
    case 'git apply --3way':
      return (await execa('git', [...IDENTITY, 'apply', '--3way', patchFile], { cwd: root, reject: false })).exitCode === 0;
    case 'patch --fuzz=3':
      return (
        (
          await execa('patch', ['-p1', '--fuzz=3', '--batch', '--forward', '--no-backup-if-mismatch', '--reject-file=-', '-i', patchFile], {
            cwd: root,
            reject: false,
          })
        ).exitCode === 0
      );
  }
}

function outcome(ok: boolean, kase: PatchCase, root: string): Outcome {
  let after: string | null;
  try {
    after = readFileSync(path.join(root, kase.file), 'utf8');
  } catch {
    after = null;
  }
  if (kase.expected === null) return ok && after !== kase.original ? 'wrong' : 'correct';
  if (!ok) return 'refused';
  return after === kase.expected ? 'correct' : 'wrong';
}

export async function patchBench(options: { quick: boolean; log: (line: string) => void }): Promise<PatchResult> {
  const all = JSON.parse(readFileSync(new URL('./patch-corpus/cases.json', import.meta.url), 'utf8')) as PatchCase[];
  // Quick mode: every damage kind, on a fifth of the edits.
  const edits = [...new Set(all.map((c) => c.edit))];
  const cases = options.quick ? all.filter((c) => edits.indexOf(c.edit) % 5 === 0) : all;
  const dir = benchDir('patches');
  const tally = new Map<Tool, { correct: number; refused: number; wrong: number; wrongCases: string[] }>(
    TOOLS.map((tool) => [tool, { correct: 0, refused: 0, wrong: 0, wrongCases: [] }]),
  );
  const byDamage: PatchResult['byDamage'] = {};
  let index = 0;
  for (const kase of cases) {
    const template = await templateRepo(path.join(dir, `template-${index++}`), kase);
    byDamage[kase.damage] ??= { cases: 0, ...Object.fromEntries(TOOLS.map((t) => [t, 0])) } as PatchResult['byDamage'][string];
    byDamage[kase.damage].cases++;
    for (const tool of TOOLS) {
      const root = path.join(dir, `case-${index++}`);
      cpSync(template, root, { recursive: true });
      const result = outcome(await attempt(tool, root, kase), kase, root);
      const counts = tally.get(tool)!;
      counts[result]++;
      if (result === 'wrong') counts.wrongCases.push(kase.name);
      if (result === 'correct') byDamage[kase.damage][tool]++;
    }
  }
  options.log(`patches: ${cases.length} cases × ${TOOLS.length} appliers`);
  const result: PatchResult = {
    cases: cases.length,
    mustRefuse: cases.filter((c) => c.expected === null).length,
    tools: TOOLS.map((tool) => ({ tool, ...tally.get(tool)! })),
    byDamage,
    cutOff: await cutOffBench(dir, options.quick, options.log),
  };
  options.log(cutOffLine(result));
  return result;
}
