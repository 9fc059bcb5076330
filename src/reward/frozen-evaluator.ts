/**
 * The frozen evaluator: a run's own copy of the environment's evaluator, made when the run is
 * created, read-only on disk, and identified by a content hash that is checked before every
 * evaluation. If anything changes it — a run step that escaped, a person editing the copy —
 * the sweep stops with an error instead of scoring later ideas with a different judge.
 */
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { EvaluatorChanged } from '../core/errors.ts';

/** Content hash of a folder: every entry's relative path, kind, executable bit and content. */
export function evaluatorHash(dir: string): string {
  const hash = createHash('sha256');
  const visit = (relative: string) => {
    const full = path.join(dir, relative);
    const stat = lstatSync(full);
    if (stat.isSymbolicLink()) {
      hash.update(`link\0${relative}\0${readlinkSync(full)}\0`);
    } else if (stat.isDirectory()) {
      hash.update(`dir\0${relative}\0`);
      for (const entry of readdirSync(full).sort()) visit(relative ? `${relative}/${entry}` : entry);
    } else if (stat.isFile()) {
      hash.update(`file\0${relative}\0${stat.mode & 0o111 ? 'x' : '-'}\0${stat.size}\0`);
      hash.update(readFileSync(full));
    } else {
      hash.update(`other\0${relative}\0`);
    }
  };
  visit('');
  return hash.digest('hex');
}

/** Copies the evaluator into the run, makes the copy read-only, and returns its hash. */
export function freezeEvaluator(source: string, frozenDir: string): string {
  cpSync(source, frozenDir, { recursive: true, verbatimSymlinks: true });
  makeReadOnly(frozenDir);
  return evaluatorHash(frozenDir);
}

/** Files only: folders stay writable so that deleting a run folder keeps working as usual. */
function makeReadOnly(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) makeReadOnly(full);
    else if (entry.isFile()) chmodSync(full, lstatSync(full).mode & ~0o222);
  }
}

/** Throws EvaluatorChanged when the frozen evaluator is not the one the run started with. */
export function checkEvaluator(frozenDir: string, expectedHash: string): void {
  let actual: string;
  try {
    actual = evaluatorHash(frozenDir);
  } catch (error) {
    throw new EvaluatorChanged(
      `the run's frozen evaluator (${frozenDir}) cannot be read: ${(error as Error).message}; the sweep stops, since no idea can be scored`,
    );
  }
  if (actual !== expectedHash) {
    throw new EvaluatorChanged(
      `the run's frozen evaluator (${frozenDir}) changed since the run was created (hash ${actual.slice(0, 12)}, expected ${expectedHash.slice(0, 12)}): ideas scored from now on could not be compared; the sweep stops. Inspect the folder, then start a new run`,
    );
  }
}
