/**
 * The compiled bin (scripts/build.js → dist/, run by bin/researcher.js): built in a copy of the
 * repository, so this never races other tests that spawn the real bin. The copy shares
 * node_modules with the repository through a symlink.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildState } from '../../bin/build-stamp.js';

const run = promisify(execFile);
const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
let copy: string;

async function researcher(...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [path.join(copy, 'bin/researcher.js'), ...args], { cwd: copy, encoding: 'utf8' });
  return stdout;
}

beforeAll(async () => {
  copy = mkdtempSync(path.join(tmpdir(), 'researcher-build-'));
  for (const entry of ['bin', 'scripts', 'src', 'agents', 'sandboxes', 'package.json', 'tsconfig.json', 'tsconfig.build.json']) {
    cpSync(path.join(REPO_ROOT, entry), path.join(copy, entry), { recursive: true });
  }
  symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(copy, 'node_modules'));
  await run(process.execPath, [path.join(copy, 'scripts/build.js')], { cwd: copy });
});
afterAll(() => rmSync(copy, { recursive: true, force: true }));

describe('the compiled bin', () => {
  it('compiles every module with .js specifiers and copies the report CSS beside its module', () => {
    expect(existsSync(path.join(copy, 'dist/cli/main.js'))).toBe(true);
    expect(readFileSync(path.join(copy, 'dist/cli/main.js'), 'utf8')).toContain("import('./run.js')".replace(/'/g, '"'));
    expect(readFileSync(path.join(copy, 'dist/report/report.css'), 'utf8')).toBe(
      readFileSync(path.join(copy, 'src/report/report.css'), 'utf8'),
    );
  });

  it('runs a sweep and writes its report from dist/ (bundled agents found, CSS inlined)', async () => {
    // Inside the copy, so they go with it; outside src/, so they are no input of the build.
    const environment = path.join(copy, 'quadratic');
    cpSync(path.join(REPO_ROOT, 'test/fixtures/quadratic'), environment, { recursive: true });
    const runs = path.join(copy, 'runs');
    // `offline.yaml` is not in the working folder: it is the bundled agents/offline.yaml, found from dist/ as from src/.
    await researcher('run', environment, '--ideas', '1', '--agent', 'offline.yaml', '--runs-dir', runs, '--run-id', 'compiled');
    const html = readFileSync(path.join(runs, 'compiled/report.html'), 'utf8');
    expect(html).toContain(readFileSync(path.join(copy, 'src/report/report.css'), 'utf8'));
    const shown = JSON.parse(await researcher('show', path.join(runs, 'compiled'), '--json'));
    expect(shown.run).toMatchObject({ agent: path.join(copy, 'agents/offline.yaml'), status: 'finished', ideasFinished: 1 });
  });

  it('runs dist/ while it matches the sources, and the sources once one changes: never stale JavaScript', async () => {
    expect(await buildState(copy)).toBe('fresh');
    // Marking the compiled help shows which of the two ran.
    const compiled = path.join(copy, 'dist/cli/main.js');
    writeFileSync(
      compiled,
      readFileSync(compiled, 'utf8').replace('usage: researcher <command>', 'usage (compiled): researcher <command>'),
    );
    expect(await researcher('--help')).toContain('usage (compiled): researcher <command>');

    // A file rewritten with the same content (a checkout) changes its time, not what dist/ was built from.
    const source = path.join(copy, 'src/cli/main.ts');
    const later = new Date(Date.now() + 5_000);
    utimesSync(source, later, later);
    expect(await buildState(copy)).toBe('fresh');

    writeFileSync(source, readFileSync(source, 'utf8').replace('usage: researcher <command>', 'usage (edited): researcher <command>'));
    expect(await buildState(copy)).toBe('stale');
    const help = await researcher('--help');
    expect(help).toContain('usage (edited): researcher <command>');
    expect(help).not.toContain('compiled');

    // A new source file makes it stale too (the build would compile it).
    await run(process.execPath, [path.join(copy, 'scripts/build.js')], { cwd: copy });
    expect(await buildState(copy)).toBe('fresh');
    writeFileSync(path.join(copy, 'src/cli/extra.ts'), 'export const extra = 1;\n');
    expect(await buildState(copy)).toBe('stale');
  });

  it('runs the sources when dist/ was never built or its build did not finish', async () => {
    rmSync(path.join(copy, 'dist/build-stamp.json'));
    expect(await buildState(copy)).toBe('missing');
    expect(await researcher('--help')).toContain('usage (edited): researcher <command>');
  });
});
