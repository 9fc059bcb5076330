/**
 * A step's log with a size cap. Output past the cap is not an error (a chatty training script is
 * not a broken one) and must neither fill the disk nor kill the step: the log keeps its first
 * half-cap bytes as they came, then a marker saying how much was dropped, then the latest
 * half-cap bytes, rewritten in place at most every `flushMs` so that a live reader (`watch`, the
 * heartbeat) sees the newest lines and a killed researcher leaves a readable log behind.
 */
import { closeSync, fstatSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { formatBytes } from '../core/format.ts';

/** Default log cap: generous for training logs, small next to a disk. */
export const DEFAULT_LOG_LIMIT_BYTES = 32 * 2 ** 20;

export class CappedLog {
  private readonly fd: number;
  private readonly headLimit: number;
  private readonly tailLimit: number;
  private headBytes = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  private dropped = 0;
  private dirty = false;
  private lastFlush = 0;
  private closed = false;
  /** Where this step's output begins in the file (after what earlier steps appended). */
  private readonly headStart: number;

  constructor(
    readonly file: string,
    readonly limitBytes: number = DEFAULT_LOG_LIMIT_BYTES,
    private readonly flushMs = 1_000,
  ) {
    // Appended to: a step may add to a log the researcher has already started (a retried seed).
    this.fd = openSync(file, 'a');
    this.headStart = fstatSync(this.fd).size;
    this.headLimit = Math.floor(limitBytes / 2);
    this.tailLimit = limitBytes - this.headLimit;
  }

  /** Bytes of output the cap has thrown away so far. */
  get droppedBytes(): number {
    return this.dropped;
  }

  write(chunk: Buffer): void {
    if (this.closed) return;
    let rest = chunk;
    if (this.headBytes < this.headLimit) {
      const take = Math.min(rest.length, this.headLimit - this.headBytes);
      writeSync(this.fd, rest, 0, take);
      this.headBytes += take;
      rest = rest.subarray(take);
    }
    if (rest.length === 0) return;
    this.tail.push(Buffer.from(rest));
    this.tailBytes += rest.length;
    while (this.tailBytes > this.tailLimit) {
      const excess = this.tailBytes - this.tailLimit;
      const first = this.tail[0];
      if (first.length <= excess) {
        this.tail.shift();
        this.tailBytes -= first.length;
        this.dropped += first.length;
      } else {
        this.tail[0] = first.subarray(excess);
        this.tailBytes -= excess;
        this.dropped += excess;
      }
    }
    this.dirty = true;
    if (Date.now() - this.lastFlush >= this.flushMs) this.flush();
  }

  /** Writes the marker and the tail after the head (only once the log is past its head). */
  flush(): void {
    if (!this.dirty || this.closed) return;
    this.dirty = false;
    this.lastFlush = Date.now();
    // The file's head is opened with O_APPEND, so rewrite the part after it through truncation.
    ftruncateSync(this.fd, this.headStart + this.headBytes);
    const marker =
      this.dropped > 0
        ? Buffer.from(
            `\n[… ${this.dropped} bytes of output dropped here: the log passed its ${formatBytes(this.limitBytes)} limit; its first and last ${formatBytes(this.headLimit)} are kept …]\n`,
          )
        : Buffer.alloc(0);
    writeSync(this.fd, Buffer.concat([marker, ...this.tail]));
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    closeSync(this.fd);
  }
}
