/**
 * Reading a run's learning curve from what it writes while it runs: its output, matched line by
 * line against the environment's `progress.pattern`, or a JSON-lines file in $OUTPUT_DIR
 * (`progress.file`, one {"step": …, "value": …} per line), read as it grows.
 *
 * Everything a run writes is hostile. Lines are cut into at most MAX_LINE_BYTES (a longer line is
 * skipped whole, so no regular expression ever runs over megabytes), a step or value that is not
 * a finite number (NaN, inf, 1e999) is ignored, a curve keeps at most MAX_POINTS points (later
 * ones are dropped and counted), and the file is read without following links and only while it
 * is a regular file (src/reward/safe-read.ts).
 */
import type { Progress } from '../environment/schema.ts';
import { readRunFileFrom } from './safe-read.ts';

/** The longest line looked at; progress lines are short. */
export const MAX_LINE_BYTES = 4096;
/** The most points one evaluation's curve keeps (a run printing a point per microstep stays small). */
export const MAX_POINTS = 5000;
/** The most bytes of the progress file read per poll. */
const FILE_READ_BYTES = 1 << 20;

export interface ParsedPoint {
  step: number;
  value: number;
}

/** Splits a byte stream into bounded lines ("\n" or "\r": a progress bar redraws with "\r"). */
export class LineSplitter {
  private partial: Buffer[] = [];
  private partialBytes = 0;
  /** Inside a line longer than MAX_LINE_BYTES: its rest is skipped up to the next line end. */
  private skipping = false;

  constructor(private readonly maxLineBytes = MAX_LINE_BYTES) {}

  /** The complete lines the chunk ends. */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      if (byte !== 0x0a && byte !== 0x0d) continue;
      this.take(chunk.subarray(start, i));
      if (!this.skipping && this.partialBytes > 0) lines.push(Buffer.concat(this.partial).toString('utf8'));
      this.partial = [];
      this.partialBytes = 0;
      this.skipping = false;
      start = i + 1;
    }
    this.take(chunk.subarray(start));
    return lines;
  }

  /** The last line, when the output ended without a line end. */
  end(): string[] {
    const rest = !this.skipping && this.partialBytes > 0 ? [Buffer.concat(this.partial).toString('utf8')] : [];
    this.partial = [];
    this.partialBytes = 0;
    this.skipping = false;
    return rest;
  }

  private take(bytes: Buffer): void {
    if (this.skipping || bytes.length === 0) return;
    if (this.partialBytes + bytes.length > this.maxLineBytes) {
      this.skipping = true;
      this.partial = [];
      this.partialBytes = 0;
      return;
    }
    this.partial.push(Buffer.from(bytes));
    this.partialBytes += bytes.length;
  }
}

/** Turns lines into points: the pattern's named groups, or a JSON object per line. */
export function lineParser(progress: Progress): (line: string) => ParsedPoint | null {
  if (progress.pattern !== undefined) {
    const pattern = new RegExp(progress.pattern);
    return (line) => {
      const groups = pattern.exec(line)?.groups;
      return groups ? finitePoint(Number(groups.step), Number(groups.value)) : null;
    };
  }
  return (line) => {
    const text = line.trim();
    if (!text.startsWith('{')) return null;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return null;
    }
    if (typeof parsed !== 'object' || parsed === null) return null;
    const { step, value } = parsed as { step?: unknown; value?: unknown };
    return typeof step === 'number' && typeof value === 'number' ? finitePoint(step, value) : null;
  };
}

function finitePoint(step: number, value: number): ParsedPoint | null {
  return Number.isFinite(step) && Number.isFinite(value) ? { step, value } : null;
}

/** One evaluation's curve as it comes in: bytes in, new points out, never more than MAX_POINTS. */
export class ProgressReader {
  private readonly lines = new LineSplitter();
  private readonly parse: (line: string) => ParsedPoint | null;
  private kept = 0;
  /** Points past MAX_POINTS, not kept. */
  dropped = 0;
  /** Offset of the next byte to read from the progress file (file mode). */
  private fileOffset = 0;

  constructor(
    readonly progress: Progress,
    private readonly maxPoints = MAX_POINTS,
  ) {
    this.parse = lineParser(progress);
  }

  /** Output the run wrote (pattern mode). */
  push(chunk: Buffer): ParsedPoint[] {
    return this.points(this.lines.push(chunk));
  }

  /** The end of the output: a last line without a line end. */
  end(): ParsedPoint[] {
    return this.points(this.lines.end());
  }

  /**
   * File mode: what the progress file under `outputDir` gained since the last call. A link, a
   * fifo or anything but a regular file is never read; a file that shrank (rewritten) is read
   * again from its start.
   */
  pollFile(outputDir: string): ParsedPoint[] {
    if (this.progress.file === undefined) return [];
    const points: ParsedPoint[] = [];
    for (let round = 0; round < 8; round++) {
      const read = readRunFileFrom(outputDir, this.progress.file, this.fileOffset, FILE_READ_BYTES);
      if (!read.ok) break;
      if (read.size < this.fileOffset) {
        this.fileOffset = 0;
        continue;
      }
      if (read.bytes.length === 0) break;
      this.fileOffset += read.bytes.length;
      points.push(...this.push(read.bytes));
      if (this.fileOffset >= read.size) break;
    }
    return points;
  }

  private points(lines: string[]): ParsedPoint[] {
    const points: ParsedPoint[] = [];
    for (const line of lines) {
      const point = this.parse(line);
      if (point === null) continue;
      if (this.kept >= this.maxPoints) {
        this.dropped++;
        continue;
      }
      this.kept++;
      points.push(point);
    }
    return points;
  }
}
