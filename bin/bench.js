#!/usr/bin/env node
// `npm run bench`: the benchmark suite in bench/ (see bench/index.ts). Sources are TypeScript,
// run through tsx like bin/researcher.js.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../bench/index.ts');
process.exitCode = await main(process.argv.slice(2));
