/**
 * What a coder is told when its committed code failed when it ran (a debug round's input): the
 * reason, the message, the exit code and the end of the run's log, where the traceback is.
 *
 * The log was written by the code under test, so it is hostile: it is read without following
 * links and never whole (its last LOG_TAIL_BYTES, then its last LOG_TAIL_LINES lines), and
 * control characters (terminal escapes, NULs, carriage-return rewrites) are taken out before it
 * goes into a prompt. The evaluator's own log is never shown to the coder: the evaluator holds
 * the held-out answers, and what it prints may quote them.
 */
import { readFileNoFollow } from '../../reward/safe-read.ts';
import type { RunFailureFeedback } from '../interfaces.ts';
import type { FailureReason } from '../types.ts';

/** The most of a log that goes to the coder: enough for a Python traceback, never a flood. */
export const LOG_TAIL_BYTES = 4096;
export const LOG_TAIL_LINES = 80;

/**
 * Failures of a full run that get a debug round: the code ran and broke in a way its log can
 * explain (a traceback, a metric it did not write or wrote wrong, outputs the evaluator
 * refused). A run that timed out or ran out of memory gets none: re-running it costs another
 * full time limit, the most expensive failure to retry, and its log rarely says what to change;
 * the smoke step is where such code is caught cheaply. Infrastructure failures and interruptions
 * are not the idea's fault.
 */
export const DEBUGGABLE_RUN_FAILURES: readonly FailureReason[] = ['crashed', 'no-metric', 'bad-metric', 'evaluator-failed'];

/** A failed smoke step gets a debug round unless the engine failed or the sweep stopped it: it is short, so retrying is cheap. */
export const DEBUGGABLE_SMOKE_FAILURES: readonly FailureReason[] = ['crashed', 'timed-out', 'oom'];

/**
 * The end of a log as a coder may see it: at most LOG_TAIL_BYTES read from its end, the last
 * LOG_TAIL_LINES lines, control characters other than newline and tab removed, each line as a
 * terminal would show it after carriage returns (progress bars).
 */
export function feedbackLogTail(logPath: string | null): string {
  if (!logPath) return '(no log)';
  const read = readFileNoFollow(logPath, { maxBytes: LOG_TAIL_BYTES, overflow: 'tail' }, 'the log');
  if (!read.ok) return `(${read.message})`;
  return sanitizeLogTail(read.text, read.dropped > 0);
}

/** The text part of feedbackLogTail, for a log already read. `cut`: the text starts mid-file (its first line is partial). */
export function sanitizeLogTail(text: string, cut = false): string {
  let lines = text.split('\n');
  if (cut && lines.length > 1) lines = lines.slice(1);
  const shown = lines.map((line) =>
    line
      .slice(line.lastIndexOf('\r', line.length - 2) + 1)
      // ANSI escape sequences first (colours, cursor moves), then any other control character.
      // eslint-disable-next-line no-control-regex -- control characters are what is being removed
      .replace(/\u001b\[[0-?]*[ -/]*[@-~]/g, '')
      // eslint-disable-next-line no-control-regex -- as above
      .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, ''),
  );
  while (shown.length && shown[shown.length - 1].trim() === '') shown.pop();
  const kept = shown.slice(-LOG_TAIL_LINES);
  return (kept.length < shown.length || cut ? '… (earlier lines left out)\n' : '') + kept.join('\n');
}

/** A failure as the coder hears it. */
export function runFailureFeedback(fields: Omit<RunFailureFeedback, 'logTail'> & { logPath: string | null }): RunFailureFeedback {
  const { logPath, ...rest } = fields;
  return { ...rest, logTail: feedbackLogTail(logPath) };
}
