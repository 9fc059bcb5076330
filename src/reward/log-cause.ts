/**
 * Reading a failed step's log the way a person would: the exception line that says why it died
 * (not the last line printed, which after a Python traceback or a test runner's banner is noise),
 * the lines that led to it, and — when no metric was found — the lines that nearly matched.
 *
 * The log was written by the code under test: only its tail is read, and what is shown is
 * stripped of control characters so it cannot rewrite the user's terminal.
 */
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';

/** How much of a log's end is read: a traceback and its context fit many times over. */
const TAIL_BYTES = 64 * 1024;

/** The last `bytes` of a file as text ('' when it does not exist). */
export function readLogTail(logPath: string, bytes = TAIL_BYTES): string {
  if (!existsSync(logPath)) return '';
  const fd = openSync(logPath, 'r');
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, bytes);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    const text = buffer.toString('utf8');
    // A cut in the middle of the first line leaves half a line: drop it.
    return size > length ? text.slice(text.indexOf('\n') + 1) : text;
  } finally {
    closeSync(fd);
  }
}

/** One printable line: escape sequences and control characters removed, carriage-return progress bars reduced to their last state. */
export function printable(line: string, max = 200): string {
  const lastFrame =
    line
      .split('\r')
      .filter((part) => part.trim() !== '')
      .pop() ?? '';
  // Terminal escapes and control bytes are what this strips.
  const clean = lastFrame
    // eslint-disable-next-line no-control-regex
    .replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '')
    // eslint-disable-next-line no-control-regex
    .replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, '')
    .trimEnd();
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

export interface CrashCause {
  /** The line that says why: "ZeroDivisionError: division by zero". Null when none stands out. */
  cause: string | null;
  /** Up to five lines before the cause (or the log's last lines when there is no cause). */
  before: string[];
}

// Python's last traceback line ("ValueError: …", "torch.cuda.OutOfMemoryError: …", "KeyboardInterrupt").
const PYTHON_EXCEPTION = /^([A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)|AssertionError|StopIteration)\b(:.*)?$/;
// Other languages and the shell: "error: …", "fatal: …", "panic: …", "Segmentation fault", "Killed".
const OTHER_CAUSE =
  /^(error|fatal|panic|FATAL|ERROR)\b.*|.*\b(Segmentation fault|core dumped|command not found|No such file or directory|Killed)\b.*$/;

export function crashCause(logText: string): CrashCause {
  const lines = logText
    .split('\n')
    .map((line) => printable(line))
    .filter((line) => line.trim() !== '');
  // The last traceback's exception line: after "Traceback (most recent call last):", the first
  // unindented line that reads like an exception.
  const tracebackAt = lines
    .map((line, i) => (line.startsWith('Traceback (most recent call last)') ? i : -1))
    .filter((i) => i >= 0)
    .pop();
  let at = -1;
  if (tracebackAt !== undefined) {
    for (let i = tracebackAt + 1; i < lines.length; i++) {
      if (!/^\s/.test(lines[i]) && PYTHON_EXCEPTION.test(lines[i].trim())) {
        at = i;
        break;
      }
    }
  }
  if (at < 0) at = findLast(lines, (line) => PYTHON_EXCEPTION.test(line.trim()) && !/^\s/.test(line));
  if (at < 0) at = findLast(lines, (line) => OTHER_CAUSE.test(line.trim()));
  if (at < 0) return { cause: null, before: lines.slice(-5) };
  return { cause: lines[at].trim(), before: lines.slice(Math.max(0, at - 5), at) };
}

/** The module a Python import error names ("No module named 'torch'" → "torch"), or null. */
export function missingModule(cause: string | null): string | null {
  return cause ? (/No module named '([^']+)'/.exec(cause)?.[1] ?? null) : null;
}

/**
 * Lines of the log that look like what the reward pattern wanted: they hold one of the pattern's
 * words, or failing that a number next to a metric-like word. The last few, most recent last.
 */
export function nearMatches(pattern: string, logText: string, count = 3): string[] {
  const lines = logText
    .split('\n')
    .map((line) => printable(line))
    .filter((line) => line.trim() !== '');
  const words =
    pattern
      .replace(/\\[a-zA-Z]/g, ' ') // \s, \d, \S: regex classes, not words
      .match(/[A-Za-z_]{3,}/g)
      ?.map((word) => word.toLowerCase()) ?? [];
  let near = words.length ? lines.filter((line) => words.some((word) => line.toLowerCase().includes(word))) : [];
  if (near.length === 0) near = lines.filter((line) => /\b(acc\w*|score|loss|reward|f1|error|ppl|bpb)\b\W{0,3}[-+]?\d/i.test(line));
  return near.slice(-count);
}

function findLast<T>(items: T[], test: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (test(items[i])) return i;
  return -1;
}
