/**
 * Guidance a person writes into a running sweep: runs/<run-id>/steer.md, plain Markdown that
 * `researcher steer` appends to and a person may also edit by hand. The sweep reads it each time
 * it asks the thinker for an idea, so the next proposals see it.
 *
 * The run folder is also where run steps leave their outputs, and a local run step can write
 * anywhere: steer.md is read without following a symbolic link, only when it is a regular file,
 * and only its last MAX_GUIDANCE_BYTES (the newest guidance is what matters most).
 */
import { closeSync, constants, existsSync, openSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { UsageError } from '../core/errors.ts';
import { readFileNoFollow } from '../reward/safe-read.ts';
import { DATABASE_FILE } from './tables.ts';

export const GUIDANCE_FILE = 'steer.md';

/** The most of steer.md shown to the thinker (about 4k tokens). */
export const MAX_GUIDANCE_BYTES = 16 * 1024;

/** The longest one `researcher steer` entry may be: a single write of it is never seen half-done. */
export const MAX_ENTRY_BYTES = 8 * 1024;

export type GuidanceRead = { ok: true; text: string | null } | { ok: false; message: string };

export function guidanceFile(runDir: string): string {
  return path.join(runDir, GUIDANCE_FILE);
}

/** The guidance in the run folder now: null when there is none (no steer.md, or only blank lines). */
export function readGuidance(runDir: string): GuidanceRead {
  const read = readFileNoFollow(guidanceFile(runDir), { maxBytes: MAX_GUIDANCE_BYTES, overflow: 'tail' }, GUIDANCE_FILE);
  if (!read.ok) return read.why === 'missing' ? { ok: true, text: null } : { ok: false, message: read.message };
  // A tail starts mid-line (maybe mid-character): start at the first whole line.
  const text = (read.dropped > 0 ? read.text.slice(read.text.indexOf('\n') + 1) : read.text).trim();
  return { ok: true, text: text === '' ? null : text };
}

/** A short fingerprint of guidance text, so ideas that saw the same guidance can be told apart from others at a glance. */
export function guidanceHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

/** The run folder, checked: a folder holding a run's database. */
export function requireRunDir(runDir: string): void {
  if (!existsSync(path.join(runDir, DATABASE_FILE))) {
    throw new UsageError(`${runDir} is not a run: ${DATABASE_FILE} is missing (runs live in runs/<run-id>/)`);
  }
}

/**
 * Appends one timestamped entry to steer.md (created when missing). The entry goes out in one
 * write to a file opened for appending, so a sweep reading it at the same moment sees all of the
 * entry or none of it; a steer.md that is a symbolic link is refused, not written through.
 */
export function appendGuidance(runDir: string, text: string, at = new Date()): string {
  const body = text.trim();
  if (body === '') throw new UsageError('the guidance is empty; write what the next ideas should do');
  const entry = `## ${at.toISOString().replace(/\.\d+Z$/, 'Z')}\n\n${body}\n\n`;
  const bytes = Buffer.from(entry, 'utf8');
  if (bytes.length > MAX_ENTRY_BYTES) {
    throw new UsageError(
      `the guidance is ${bytes.length} bytes; write at most ${MAX_ENTRY_BYTES} at a time (or edit ${GUIDANCE_FILE} by hand)`,
    );
  }
  let fd: number;
  try {
    fd = openSync(guidanceFile(runDir), constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o644);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new UsageError(`${guidanceFile(runDir)} is a symbolic link; refused (remove it and steer again)`);
    throw new UsageError(`${guidanceFile(runDir)} could not be opened for writing (${code ?? 'error'})`);
  }
  try {
    writeSync(fd, bytes);
  } finally {
    closeSync(fd);
  }
  return entry;
}
