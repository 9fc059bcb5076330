/**
 * Reward integrity: which paths a diff may touch. A change is refused, with the reason, when it
 * leaves the code folder, goes through or creates a symlink, touches a protected path (the
 * evaluator, its data, held-out answers) or anything outside the editable globs.
 */
import { lstatSync } from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';

export interface PathRules {
  editable: string[];
  protected: string[];
}

export interface ChangedPath {
  path: string;
  symlink?: boolean;
  /** Ignored by the code's .gitignore: it would run without being recorded in the commit. */
  ignored?: boolean;
}

const MATCH_OPTIONS = { dot: true } as const;

/** Compiles glob rules once; `basename` globs like "*.py" match at any depth, as in .gitignore. */
export function compileRules(rules: PathRules): { isEditable(p: string): boolean; isProtected(p: string): boolean } {
  const compile = (globs: string[]) => {
    const matchers = globs.map((glob) => picomatch(glob, { ...MATCH_OPTIONS, basename: !glob.includes('/') }));
    return (p: string) => matchers.some((m) => m(p));
  };
  return { isEditable: compile(rules.editable), isProtected: compile(rules.protected) };
}

/** Why a relative path may not be written at all, whatever the globs say; null when it may. */
export function unsafePathReason(relative: string): string | null {
  if (relative.includes('\0')) return 'the path contains a NUL byte';
  if (path.isAbsolute(relative) || /^[A-Za-z]:[\\/]/.test(relative)) return 'the path is absolute';
  const parts = relative.split(/[\\/]+/);
  if (parts.includes('..')) return 'the path climbs out of the code with ".."';
  if (parts[0] === '.git' || parts.includes('.git')) return 'the path is inside .git';
  return null;
}

/** Whether any existing component of `relative` under `root` is a symlink (writes would escape). */
export function symlinkOnPath(root: string, relative: string): string | null {
  const parts = relative.split(/[\\/]+/).filter(Boolean);
  let current = root;
  for (let i = 0; i < parts.length; i++) {
    current = path.join(current, parts[i]);
    try {
      if (lstatSync(current).isSymbolicLink()) return parts.slice(0, i + 1).join('/');
    } catch {
      return null; // does not exist yet: nothing further down can be a link
    }
  }
  return null;
}

/** Returns the refusal reason for a set of changed paths, or null when every change is allowed. */
export function refusalReason(changes: ChangedPath[], rules: PathRules): string | null {
  const { isEditable, isProtected } = compileRules(rules);
  for (const change of changes) {
    const unsafe = unsafePathReason(change.path);
    if (unsafe) return `${change.path}: ${unsafe}`;
    if (change.symlink) return `${change.path}: diffs may not create symlinks`;
    if (change.ignored) {
      return `${change.path} is ignored by the code's .gitignore, so it would run without being recorded in the idea's commit; diffs may not write ignored files`;
    }
    if (isProtected(change.path)) {
      return `${change.path} is protected (the evaluator, its data or held-out answers); diffs may not change it`;
    }
    if (!isEditable(change.path)) {
      return `${change.path} is outside the editable files (${rules.editable.join(', ')})`;
    }
  }
  return null;
}
