/**
 * Reading a repository's objects (file contents at a commit) through one long-lived, hardened
 * `git cat-file --batch` process: the agents read many files per idea.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { safeGitEnvironment, safeGitOptions } from './git-command.ts';

/**
 * Reads objects through one long-lived `git cat-file --batch`, so the agents' many file reads
 * cost a line on a pipe each instead of a git process each. It holds the event loop open only
 * while a read is pending.
 */
export class ObjectReader {
  private child: ChildProcessWithoutNullStreams | null = null;
  private buffer: Buffer = Buffer.alloc(0);
  private readonly waiting: { resolve: (blob: Buffer | null) => void; reject: (error: Error) => void }[] = [];

  constructor(private readonly repoDir: string) {}

  async read(spec: string): Promise<Buffer | null> {
    if (/[\r\n]/.test(spec)) return null; // cannot be asked on a line; no such path is worth reading
    const child = this.start();
    const result = new Promise<Buffer | null>((resolve, reject) => this.waiting.push({ resolve, reject }));
    if (this.waiting.length === 1) this.setRef(true);
    child.stdin.write(`${spec}\n`);
    return result;
  }

  close(): void {
    this.child?.kill();
    this.child = null;
  }

  private start(): ChildProcessWithoutNullStreams {
    if (this.child) return this.child;
    const child = spawn('git', [...safeGitOptions(), `--git-dir=${path.join(this.repoDir, '.git')}`, 'cat-file', '--batch'], {
      cwd: this.repoDir,
      env: safeGitEnvironment(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child = child;
    this.buffer = Buffer.alloc(0);
    child.stdout.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
      this.drain();
    });
    const fail = (error: Error) => {
      if (this.child === child) this.child = null;
      for (const waiter of this.waiting.splice(0)) waiter.reject(error);
    };
    child.on('error', fail);
    child.on('exit', () => fail(new Error('git cat-file exited')));
    child.stdin.on('error', () => {}); // reported by 'exit'
    child.stderr.resume();
    child.unref();
    this.setRef(false);
    return child;
  }

  private setRef(ref: boolean): void {
    const child = this.child;
    if (!child) return;
    for (const stream of [child.stdout, child.stdin, child.stderr] as unknown as { ref?: () => void; unref?: () => void }[]) {
      if (ref) stream.ref?.();
      else stream.unref?.();
    }
  }

  /** Answers: "<name> missing\n", or "<sha> <type> <size>\n<content>\n". */
  private drain(): void {
    while (this.waiting.length) {
      const lineEnd = this.buffer.indexOf(10);
      if (lineEnd === -1) return;
      const header = this.buffer.subarray(0, lineEnd).toString('utf8');
      const [, type, sizeText] = header.split(' ');
      if (header.endsWith(' missing') || header.endsWith(' ambiguous') || sizeText === undefined) {
        this.buffer = this.buffer.subarray(lineEnd + 1);
        this.waiting.shift()!.resolve(null);
      } else {
        const size = Number(sizeText);
        if (this.buffer.length < lineEnd + 1 + size + 1) return;
        const content = Buffer.from(this.buffer.subarray(lineEnd + 1, lineEnd + 1 + size));
        this.buffer = this.buffer.subarray(lineEnd + 1 + size + 1);
        this.waiting.shift()!.resolve(type === 'blob' ? content : null);
      }
      if (this.waiting.length === 0) this.setRef(false);
    }
  }
}
