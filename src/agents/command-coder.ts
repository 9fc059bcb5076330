/**
 * A coding-agent CLI as the coder (`coder: { provider: command, command: [...] }` in the agent
 * file): Claude Code's `claude -p`, `codex exec`, `aider --message`, or any command that edits the
 * files of the folder it runs in.
 *
 * It runs in a scratch COPY of the idea's tree, never the worktree itself (whose .git file points
 * into the run's repository): the copy gets a throwaway git repository of its own with one
 * commit (aider and codex expect one), hooks off. The prompt is the idea (and, in a debug round,
 * what failed), on standard input or as the `{{prompt}}` argument. The command gets only the
 * environment the agent file gives it (`env:`, `passEnv:` — its own API key is its business)
 * plus what any program needs to start (PATH, HOME, USER, LANG, TMPDIR); none of the
 * researcher's other variables. At its time limit its whole process group is killed.
 *
 * What it leaves is hostile: the change is taken back by comparing the copy with the tree, file
 * by file, with lstat — changed and new regular files are copied into the tree, removed ones are
 * deleted, and a symlink or special file it made refuses the whole change (a link is never
 * followed or copied). The sweep's change guard then refuses anything outside the editable code.
 */
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AgentResult, Coder, CodingOutcome, CodingTask } from '../core/interfaces.ts';
import { ConfigError } from '../core/errors.ts';
import { ZERO_USAGE } from '../core/types.ts';
import { symlinkOnPath, unsafePathReason } from '../patch/guard.ts';
import { runGit } from '../workspace/git-command.ts';
import type { CommandCoderSettings } from './agent-file.ts';
import { PROMPT_PLACEHOLDER } from './agent-file.ts';
import { failuresBrief, ideaBrief } from './coding-brief.ts';
import { environmentValues } from './llm/context.ts';

/** Variables every program needs to start; nothing secret. */
const BASE_VARIABLES = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'TMPDIR', 'TERM'];
/** Characters of the command's output kept for messages (the end of it). */
const OUTPUT_TAIL_CHARS = 4_000;
/** Seconds between SIGTERM and SIGKILL for a command past its time limit. */
const KILL_GRACE_MS = 3_000;
/** A changed file larger than this is not code: the change is refused. */
const MAX_FILE_BYTES = 32 * 1024 * 1024;

export interface Entry {
  kind: 'file' | 'symlink' | 'other';
  /** file: its bytes; symlink: its target. */
  size: number;
  mode: number;
}

export interface CommandRun {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** The end of its stdout and stderr together. */
  output: string;
}

export class CommandCoder implements Coder {
  readonly name: string;

  constructor(
    private readonly settings: CommandCoderSettings,
    name = 'command',
    private readonly host: NodeJS.ProcessEnv = process.env,
  ) {
    this.name = name;
  }

  /** Before a sweep: the program can be found (nothing is run). */
  check(): void {
    const program = this.settings.command[0];
    const found = program.includes('/')
      ? isExecutable(path.resolve(program))
      : (this.environment().PATH ?? '').split(':').some((dir) => dir && isExecutable(path.join(dir, program)));
    if (!found) throw new ConfigError(`coder.command: ${program} was not found${program.includes('/') ? '' : ' on PATH'}; install it or give its full path`);
  }

  async code(task: CodingTask): Promise<AgentResult<CodingOutcome>> {
    task.context.signal?.throwIfAborted();
    const scratch = mkdtempSync(path.join(tmpdir(), 'researcher-coder-'));
    const copy = path.join(scratch, 'code');
    try {
      copyTree(task.session.dir, copy);
      await initRepository(copy);
      const before = snapshot(copy);
      const prompt = await this.prompt(task);
      const run = await this.run(copy, prompt, task.context.signal);
      const program = path.basename(this.settings.command[0]);
      if (run.timedOut) {
        return failed(`the coder command ${program} passed its time limit of ${this.settings.timeoutMs / 1000} s and was killed${tailOf(run.output)}`);
      }
      task.context.signal?.throwIfAborted();
      if (run.exitCode !== 0) {
        const how = run.exitCode === null ? `was killed by ${run.signal}` : `exited with code ${run.exitCode}`;
        return failed(`the coder command ${program} ${how}${tailOf(run.output)}`);
      }
      // The copy's own .git was made above: anything the command did there stays there.
      const taken = takeBack(copy, task.session.dir, before);
      if (!taken.ok) return { value: { ok: false, reason: 'refused', message: taken.message }, usage: ZERO_USAGE };
      return { value: { ok: true, edit: null }, usage: ZERO_USAGE };
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }

  /** What the command may see: the base variables, the passed-through ones, then the agent file's own. */
  private environment(): Record<string, string> {
    const env: Record<string, string> = {};
    for (const name of [...BASE_VARIABLES, ...this.settings.passEnv]) {
      const value = this.host[name];
      if (value !== undefined) env[name] = value;
    }
    return { ...env, ...this.settings.env };
  }

  private async prompt(task: CodingTask): Promise<string> {
    const values = await environmentValues(task.context);
    const failures = failuresBrief(task.failures);
    return [
      'You are working in a copy of a research code base. Implement the idea below by editing the files in the current folder.',
      `## The task\n${values.task}\n\nGoal: ${values.goal}\nEach run: ${values.runCommand}.`,
      `Files you may edit: ${values.editable}. Never touch: ${values.protected}. Never change seeds, the evaluation or the data handling to game the reward. Do not create symlinks; do not commit.`,
      failures,
      `## The idea to implement\n${ideaBrief(task)}`,
    ]
      .filter(Boolean)
      .join('\n\n');
  }

  private run(cwd: string, prompt: string, signal?: AbortSignal): Promise<CommandRun> {
    const { command, timeoutMs } = this.settings;
    const argv = this.settings.prompt === 'argument' ? command.map((part) => part.split(PROMPT_PLACEHOLDER).join(prompt)) : command;
    return new Promise((resolve) => {
      let output = '';
      let timedOut = false;
      const child = spawn(argv[0], argv.slice(1), {
        cwd,
        env: this.environment(),
        // Its own process group, so the time limit kills everything it started.
        detached: true,
        stdio: [this.settings.prompt === 'stdin' ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      });
      const keep = (chunk: Buffer) => {
        output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
      };
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
      if (child.stdin) {
        child.stdin.on('error', () => {}); // a command that never reads its input closes the pipe early
        child.stdin.end(prompt);
      }
      const killGroup = (sig: NodeJS.Signals) => {
        try {
          if (child.pid) process.kill(-child.pid, sig);
        } catch {
          // already gone
        }
      };
      let escalation: NodeJS.Timeout | undefined;
      const stop = () => {
        killGroup('SIGTERM');
        escalation ??= setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
      };
      const timer = setTimeout(() => {
        timedOut = true;
        stop();
      }, timeoutMs);
      signal?.addEventListener('abort', stop, { once: true });
      const done = (exitCode: number | null, sig: NodeJS.Signals | null) => {
        clearTimeout(timer);
        clearTimeout(escalation);
        signal?.removeEventListener('abort', stop);
        // Whatever it left running in its group (a server, a watcher) goes with it.
        killGroup('SIGKILL');
        resolve({ exitCode, signal: sig, timedOut, output });
      };
      child.on('error', (error) => {
        output += `\n${error.message}`;
        done(null, null);
      });
      child.on('close', done);
    });
  }
}

function failed(message: string): AgentResult<CodingOutcome> {
  return { value: { ok: false, reason: 'agent-error', message }, usage: ZERO_USAGE };
}

function tailOf(output: string): string {
  const text = output.trim();
  return text ? `; the end of its output:\n${text.slice(-1_500)}` : ' (it wrote no output)';
}

function isExecutable(file: string): boolean {
  try {
    const stat = lstatSync(file);
    return (stat.isFile() || stat.isSymbolicLink()) && (stat.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** Every entry of a tree but .git (at any depth), by relative path, without following links. */
function snapshot(root: string): Map<string, Entry> {
  const entries = new Map<string, Entry>();
  const visit = (dir: string) => {
    for (const name of readdirSync(dir)) {
      if (name === '.git') continue;
      const full = path.join(dir, name);
      const stat = lstatSync(full);
      const relative = path.relative(root, full).split(path.sep).join('/');
      if (stat.isDirectory()) visit(full);
      else entries.set(relative, { kind: stat.isFile() ? 'file' : stat.isSymbolicLink() ? 'symlink' : 'other', size: stat.size, mode: stat.mode });
    }
  };
  visit(root);
  return entries;
}

/** Copies the tree (files, folders, and its own links as links), leaving .git out. */
function copyTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) {
    if (name === '.git') continue;
    const source = path.join(from, name);
    const target = path.join(to, name);
    const stat = lstatSync(source);
    if (stat.isDirectory()) copyTree(source, target);
    else if (stat.isSymbolicLink()) symlinkSync(readlinkSync(source), target);
    else if (stat.isFile()) {
      copyFileSync(source, target);
      chmodSync(target, stat.mode & 0o777);
    }
  }
}

async function initRepository(dir: string): Promise<void> {
  await runGit(dir, ['init', '-q']);
  await runGit(dir, ['config', 'core.hooksPath', '/dev/null']);
  await runGit(dir, ['add', '-A']);
  await runGit(dir, ['commit', '-q', '--allow-empty', '--no-verify', '-m', 'the idea’s code before the coder']);
}

/**
 * Takes the command's change back into the tree: every file of the copy that differs from what
 * the copy started with is written into the tree, every one it removed is deleted there. A link
 * or special file the command made or changed refuses the whole change, before anything is
 * written. Paths are written only where no link is on the way in the tree.
 */
export function takeBack(copy: string, tree: string, before: Map<string, Entry>): { ok: true } | { ok: false; message: string } {
  const after = snapshot(copy);
  const writes: string[] = [];
  for (const [relative, entry] of after) {
    const earlier = before.get(relative);
    if (entry.kind === 'symlink') {
      const same = earlier?.kind === 'symlink' && readlinkSync(path.join(copy, relative)) === readlinkSync(path.join(tree, relative));
      if (!same) return { ok: false, message: `the coder command made a symlink at ${relative}; links are never taken from a coder` };
      continue;
    }
    if (entry.kind === 'other') return { ok: false, message: `the coder command left ${relative}, which is not a regular file` };
    const unsafe = unsafePathReason(relative) ?? (symlinkOnPath(tree, relative) ? `a symlink is on its path in the code` : null);
    if (unsafe) return { ok: false, message: `the coder command wrote ${relative}: ${unsafe}` };
    if (entry.size > MAX_FILE_BYTES) return { ok: false, message: `the coder command wrote ${relative} (${entry.size} bytes), too large to be code` };
    if (earlier?.kind === 'file' && earlier.mode === entry.mode && earlier.size === entry.size && sameBytes(path.join(copy, relative), path.join(tree, relative))) continue;
    writes.push(relative);
  }
  const deletions = [...before.keys()].filter((relative) => !after.has(relative));
  for (const relative of deletions) {
    if (symlinkOnPath(tree, path.posix.dirname(relative) === '.' ? '' : path.posix.dirname(relative))) {
      return { ok: false, message: `the coder command removed ${relative}, under a symlink in the code` };
    }
  }
  for (const relative of deletions) rmSync(path.join(tree, relative), { force: true });
  for (const relative of writes) {
    const target = path.join(tree, relative);
    // Where a file of the tree stands in the way of a new folder, or a folder of a new file, it goes.
    const parent = path.dirname(target);
    const blocking = existingFileOnPath(tree, path.posix.dirname(relative));
    if (blocking) rmSync(path.join(tree, blocking), { force: true });
    mkdirSync(parent, { recursive: true });
    // Never written through: a folder or link standing where the file goes is removed first.
    const stat = lstatSync(target, { throwIfNoEntry: false });
    if (stat && !stat.isFile()) rmSync(target, { recursive: true, force: true });
    copyFileSync(path.join(copy, relative), target);
    chmodSync(target, after.get(relative)!.mode & 0o777);
  }
  return { ok: true };
}

function sameBytes(a: string, b: string): boolean {
  try {
    return readFileSync(a).equals(readFileSync(b));
  } catch {
    return false;
  }
}

/** The first component of `relative` under `root` that is a file (it blocks a folder there), or null. */
function existingFileOnPath(root: string, relative: string): string | null {
  if (relative === '.' || relative === '') return null;
  const parts = relative.split('/');
  for (let i = 1; i <= parts.length; i++) {
    const partial = parts.slice(0, i).join('/');
    const stat = lstatSync(path.join(root, partial), { throwIfNoEntry: false });
    if (!stat) return null;
    if (!stat.isDirectory()) return partial;
  }
  return null;
}
