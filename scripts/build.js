#!/usr/bin/env node
/**
 * `npm run build` (and `prepare`, so `npm install` / `npm ci` run it): compiles src/ to dist/ for
 * bin/researcher.js, which then starts in about the time of `node` itself instead of loading tsx
 * and compiling every module it imports on each start.
 *
 * tsc with rewriteRelativeImportExtensions (tsconfig.build.json): the same compiler and settings
 * as the typecheck, one output file per source file (so the CLI's lazy `import()`s stay lazy), and
 * `./x.ts` specifiers rewritten to `./x.js`. Type errors are the typecheck's business (--noCheck):
 * this only emits. Files under src/ that are not TypeScript (the report's CSS) are copied beside
 * their module. dist/ mirrors src/ at the same depth, so paths a module takes from its own location
 * (the bundled agents/, sandboxes/) resolve the same from either.
 *
 *   node scripts/build.js [--force]   (skips the work when dist/ is already fresh, unless --force)
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { buildState, DIST_DIR, sourceFiles, takeStamp, writeStamp } from '../bin/build-stamp.js';

const root = path.resolve(import.meta.dirname, '..');
const force = process.argv.includes('--force');

let tsc = null;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  // An install without devDependencies (npm ci --omit=dev) runs `prepare` too, without the compiler.
}

if (!force && (await buildState(root)) === 'fresh') {
  console.error(`build: ${DIST_DIR}/ is up to date`);
} else if (tsc === null) {
  console.error(
    `build: typescript is not installed (devDependencies left out?); not compiling: bin/researcher.js runs the sources through tsx`,
  );
} else {
  const started = performance.now();
  const stamp = await takeStamp(root);
  const dist = path.join(root, DIST_DIR);
  // Removed first: a source file deleted since the last build must not live on as JavaScript.
  rmSync(dist, { recursive: true, force: true });
  execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json'), '--noCheck'], { cwd: root, stdio: 'inherit' });
  for (const file of sourceFiles(root)) {
    if (!file.startsWith(`src${path.sep}`) || file.endsWith('.ts')) continue;
    const target = path.join(dist, path.relative('src', file));
    mkdirSync(path.dirname(target), { recursive: true });
    copyFileSync(path.join(root, file), target);
  }
  // Written last: a build that failed half-way leaves no stamp, and the bin runs the sources.
  writeStamp(root, stamp);
  console.error(`build: compiled src/ to ${DIST_DIR}/ in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
