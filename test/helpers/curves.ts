/**
 * The curves fixture (test/fixtures/curves: a run that prints, and writes as JSON lines, one
 * progress point per step) and the edits that make a clearly losing or a winning idea of it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Edit } from '../../src/core/types.ts';
import { REPO_ROOT, copyEnvironment } from './sweep.ts';

export const CURVES = path.join(REPO_ROOT, 'test/fixtures/curves');

/** The curve climbs towards X (the baseline's is 0.5). */
export function setCurveX(value: string): Edit {
  return { kind: 'search-replace', blocks: [{ path: 'config.py', search: 'X = 0.5', replace: `X = ${value}` }] };
}

/**
 * A copy of the fixture: run in `image` (Docker), and/or read its progress from the JSON-lines
 * file in $OUTPUT_DIR instead of its output.
 */
export function curvesEnvironment(options: { image?: string; progressFile?: boolean } = {}): string {
  const dir = copyEnvironment(CURVES);
  const file = path.join(dir, 'environment.yaml');
  let yaml = readFileSync(file, 'utf8');
  if (options.progressFile) {
    yaml = yaml.replace(/progress:\n(?: {2}.*\n)+/, 'progress:\n  file: progress.jsonl\n  steps: 20\n');
  }
  if (options.image) yaml += `image: ${options.image}\n`;
  writeFileSync(file, yaml);
  return dir;
}
