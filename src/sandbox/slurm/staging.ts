/**
 * Staging on the shared folder: a job can only see what the cluster shares, so every step lives
 * under `<shared-dir>/researcher-jobs/<run-id>/idea-<id>/seed-<seed>/<kind>/`: a copy of the code,
 * the outputs, the job's log, and the small files its batch script writes (`started`, `ended`,
 * `exit`), which tell the step's outcome without accounting storage, and after a restart.
 */
import { closeSync, constants, cpSync, existsSync, fstatSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { SandboxRequest } from '../../core/interfaces.ts';
import { readFileNoFollow } from '../../reward/safe-read.ts';

/** Where the stage of every run lives inside the shared folder. */
export const STAGE_FOLDER = 'researcher-jobs';

/** The files of one step on the shared folder. */
export interface StepFiles {
  /** The idea-and-seed folder: outputs are shared by its run and evaluate steps. */
  seedDir: string;
  /** The step's own folder (run/ or evaluate/). */
  dir: string;
  work: string;
  home: string;
  outputs: string;
  /** $EVAL_DIR of the evaluate step. */
  evalOut: string;
  script: string;
  stepScript: string;
  log: string;
  jobId: string;
  started: string;
  ended: string;
  exit: string;
  result: string;
}

export function stepFiles(seedDir: string, kind: SandboxRequest['kind']): StepFiles {
  const dir = path.join(seedDir, kind);
  return {
    seedDir,
    dir,
    work: path.join(dir, 'work'),
    home: path.join(dir, 'home'),
    outputs: path.join(seedDir, 'outputs'),
    evalOut: path.join(dir, 'eval'),
    script: path.join(dir, 'job.sh'),
    stepScript: path.join(dir, 'step.sh'),
    log: path.join(dir, 'job.log'),
    jobId: path.join(dir, 'job-id'),
    started: path.join(dir, 'started'),
    ended: path.join(dir, 'ended'),
    exit: path.join(dir, 'exit'),
    result: path.join(dir, 'result.json'),
  };
}

export function readText(file: string): string | null {
  const read = readFileNoFollow(file, { maxBytes: 64 * 1024 });
  return read.ok ? read.text.trim() : null;
}

export function readNumber(file: string): number | null {
  const text = readText(file);
  if (text === null || !/^-?\d+$/.test(text)) return null;
  return Number(text);
}

/** Copies a folder's contents (not a worktree's `.git` link, which points off the shared folder). */
export function copyContents(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  if (!existsSync(from)) return;
  cpSync(from, to, {
    recursive: true,
    force: true,
    filter: (source) => !(path.basename(source) === '.git' && path.dirname(source) === from),
  });
}

/**
 * Appends what a job wrote to its staged log since the last call to the idea's log (and hands it
 * to `onData`: the sweep reads the run's learning curve from it while the job runs).
 */
export class LogMirror {
  private offset = 0;
  constructor(
    private readonly from: string,
    private readonly to: string,
    private readonly onData?: (chunk: Buffer) => void,
  ) {}

  sync(): void {
    let source: number;
    try {
      source = openSync(this.from, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK); // the job could swap in a link or fifo
    } catch {
      return; // the job has not started writing yet
    }
    try {
      const stat = fstatSync(source);
      if (!stat.isFile()) return; // a fifo or device is never read
      const size = stat.size;
      if (size <= this.offset) return;
      const target = openSync(this.to, 'a');
      try {
        const buffer = Buffer.alloc(Math.min(size - this.offset, 1 << 20));
        while (this.offset < size) {
          const read = readSync(source, buffer, 0, Math.min(buffer.length, size - this.offset), this.offset);
          if (read <= 0) break;
          writeSync(target, buffer, 0, read);
          this.offset += read;
          this.onData?.(Buffer.from(buffer.subarray(0, read)));
        }
      } finally {
        closeSync(target);
      }
    } finally {
      closeSync(source);
    }
  }
}

/**
 * What is copied from a step's stage to the host while its job runs: the log (its bytes also go
 * to `onOutput`) and, for a run step whose environment reports progress in a file, that file
 * from the staged outputs into the host's outputs folder, so the sweep reads the curve live.
 */
export function stepMirror(
  files: StepFiles,
  request: { kind: 'run' | 'evaluate'; logPath: string; outputDir: string; onOutput?: (chunk: Buffer) => void; progressFile?: string },
): { sync(): void } {
  const mirrors = [new LogMirror(files.log, request.logPath, request.onOutput)];
  if (request.kind === 'run' && request.progressFile && /^[\w.-]+$/.test(request.progressFile) && !/^\.\.?$/.test(request.progressFile)) {
    mirrors.push(new LogMirror(path.join(files.outputs, request.progressFile), path.join(request.outputDir, request.progressFile)));
  }
  return { sync: () => mirrors.forEach((mirror) => mirror.sync()) };
}
