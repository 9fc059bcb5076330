/**
 * Whether dist/ (the compiled sources, written by scripts/build.js) was built from the sources as
 * they are now. bin/researcher.js asks on every start, so the common answer is cheap: one stat per
 * source file, compared with the sizes and times the build recorded. Only when one differs (a
 * checkout that rewrote a file, an edit) are the contents hashed, so identical content rewritten
 * still runs the build and a real edit never runs stale JavaScript.
 *
 * Plain JavaScript: it runs before anything that could compile TypeScript is loaded.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const DIST_DIR = 'dist';
const STAMP_FILE = path.join(DIST_DIR, 'build-stamp.json');
/** Besides every file under src/ (code and assets such as the report's CSS), what changes the output. */
const CONFIG_FILES = ['tsconfig.json', 'tsconfig.build.json'];

/** The build's inputs, relative to the repository root, in a fixed order. */
export function sourceFiles(root) {
  const entries = readdirSync(path.join(root, 'src'), { recursive: true, withFileTypes: true });
  // Dirent.parentPath is Node ≥ 20.12; .path is the older name of the same thing.
  const files = entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(root, path.join(entry.parentPath ?? entry.path, entry.name)));
  return [...CONFIG_FILES, ...files.sort()];
}

function statsOf(root, files) {
  return Object.fromEntries(
    files.map((file) => {
      const stat = statSync(path.join(root, file));
      return [file, [stat.size, stat.mtimeMs]];
    }),
  );
}

async function hashOf(root, files) {
  // Loaded only on the slow path: node:crypto costs a few milliseconds of start-up.
  const { createHash } = await import('node:crypto');
  const hash = createHash('sha256');
  for (const file of files)
    hash
      .update(`${file}\0`)
      .update(readFileSync(path.join(root, file)))
      .update('\0');
  return hash.digest('hex');
}

/** What the build is about to compile; taken before compiling, so an edit made during the build makes the result stale. */
export async function takeStamp(root) {
  const files = sourceFiles(root);
  return { stats: statsOf(root, files), hash: await hashOf(root, files) };
}

export function writeStamp(root, stamp) {
  writeFileSync(path.join(root, STAMP_FILE), `${JSON.stringify(stamp)}\n`);
}

/** 'fresh': dist/ holds exactly the current sources, compiled; 'stale': a source changed since; 'missing': never built (or the build did not finish). */
export async function buildState(root) {
  const stampPath = path.join(root, STAMP_FILE);
  if (!existsSync(stampPath)) return 'missing';
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(stampPath, 'utf8'));
  } catch {
    return 'missing';
  }
  let files;
  try {
    files = sourceFiles(root);
  } catch {
    return 'stale';
  }
  const recorded = stamp.stats ?? {};
  const sameStats =
    files.length === Object.keys(recorded).length &&
    files.every((file) => {
      const was = recorded[file];
      if (!was) return false;
      const stat = statSync(path.join(root, file), { throwIfNoEntry: false });
      return stat !== undefined && stat.size === was[0] && stat.mtimeMs === was[1];
    });
  if (sameStats) return 'fresh';
  try {
    return (await hashOf(root, files)) === stamp.hash ? 'fresh' : 'stale';
  } catch {
    return 'stale';
  }
}
