/**
 * `researcher patch apply <repo-dir> <patch-file>`: the patch applier on its own. Applies a
 * model-written edit (a unified diff or search/replace blocks, fenced or not) to a working tree,
 * prints what it changed, and exits non-zero with the reason when it cannot.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { diffArrays } from 'diff';
import { UsageError } from '../core/errors.ts';
import { planEdit, writePlan, type PlannedFile } from '../patch/apply.ts';
import { EditParseError, parseEditText } from '../patch/edit-text.ts';
import { splitModelLines } from '../patch/text.ts';
import { parseCommand } from './args.ts';

const HELP = `usage: researcher patch apply <repo-dir> <patch-file> [--dry-run]

  Applies a unified diff or search/replace blocks (as a model writes them) to the files in
  <repo-dir>. Exact first, then tolerant of wrong line numbers and counts, whitespace drift,
  missing or extra context lines and markdown fences; an edit that matches more than one place
  is refused. Nothing is written unless the whole edit applies. <patch-file> "-" reads stdin.

  --dry-run   say what would change without writing`;

export async function patchCommand(args: string[]): Promise<number> {
  const parsed = parseCommand(args, { 'dry-run': { type: 'boolean' } }, HELP);
  if (!parsed) return 0;
  const [action, repoDir, patchFile, ...extra] = parsed.positionals;
  if (action !== 'apply' || !repoDir || !patchFile || extra.length)
    throw new UsageError(`expected: patch apply <repo-dir> <patch-file>\n${HELP}`);
  const root = path.resolve(repoDir);
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new UsageError(`${repoDir} is not a folder`);
  let text: string;
  try {
    text = patchFile === '-' ? readFileSync(0, 'utf8') : readFileSync(patchFile, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${patchFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }

  let plan;
  try {
    plan = planEdit(parseEditText(text), root);
  } catch (error) {
    if (error instanceof EditParseError) {
      console.error(`not applied: ${error.message}`);
      return 1;
    }
    throw error;
  }
  if (!plan.ok) {
    console.error(`not applied: ${plan.message}`);
    return 1;
  }
  for (const note of plan.notes) console.log(`note: ${note}`);
  if (plan.files.length === 0) {
    console.log('the edit applies but changes nothing');
    return 0;
  }
  if (!parsed.values['dry-run']) {
    const written = writePlan(plan, root);
    if (!written.ok) {
      console.error(`not applied: ${written.message}`);
      return 1;
    }
  }
  for (const file of plan.files) console.log(describe(file));
  if (parsed.values['dry-run']) console.log('(dry run: nothing written)');
  return 0;
}

/** "M train.py (+3 -1)", "A new.py (+20)", "D old.py (-12)". */
function describe(file: PlannedFile): string {
  const before = splitModelLines(file.before ?? '');
  const after = splitModelLines(file.after ?? '');
  let added = 0;
  let removed = 0;
  for (const change of diffArrays(before, after)) {
    if (change.added) added += change.count ?? change.value.length;
    if (change.removed) removed += change.count ?? change.value.length;
  }
  const status = file.before === null ? 'A' : file.after === null ? 'D' : 'M';
  return `${status} ${file.path} (+${added} -${removed})`;
}
