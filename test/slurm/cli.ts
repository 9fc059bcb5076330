/**
 * Running the `researcher` command as a user would, for the Slurm end-to-end tests.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, copyEnvironment } from '../helpers/sweep.ts';

export const CLI = path.join(REPO_ROOT, 'bin/researcher.js');

/** Runs the CLI to completion; resolves with its output, rejects when it exits non-zero. */
export async function researcher(args: string[]): Promise<string> {
  const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, maxBuffer: 16 << 20 });
  return stdout + stderr;
}

/** Starts the CLI in the background. */
export function startResearcher(args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** A copy of the quadratic test environment whose run command is `command` (default: as is). */
export function quadraticWith(edit: (yaml: string) => string = (yaml) => yaml): string {
  const dir = copyEnvironment();
  const file = path.join(dir, 'environment.yaml');
  writeFileSync(file, edit(readFileSync(file, 'utf8')));
  return dir;
}

export async function until(condition: () => boolean, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
