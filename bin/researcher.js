#!/usr/bin/env node
// The `researcher` command. Sources are TypeScript; `npm install` compiles them to dist/
// (scripts/build.js) so the command starts about as fast as node itself. When dist/ is missing
// or was built from other sources than those here (a developer editing them), the sources run
// through tsx instead: slower to start, never stale.
import path from 'node:path';
import { buildState } from './build-stamp.js';

const root = path.resolve(import.meta.dirname, '..');
let main;
if ((await buildState(root)) === 'fresh') {
  ({ main } = await import('../dist/cli/main.js'));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
