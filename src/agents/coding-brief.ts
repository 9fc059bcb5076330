/**
 * What a coder that works in the tree itself (the agentic coder, a coding-agent CLI) is told
 * about the idea, in plain text: the idea, what it builds on, the strategy's instruction, and —
 * in a debug round — what the earlier attempts did when they ran, with the end of each log, and
 * that the tree already holds the last of them.
 */
import type { CodingTask, RunFailureFeedback } from '../core/interfaces.ts';

/** Lines of a failed attempt's log shown to a coder (the traceback is at the end). */
const LOG_TAIL_LINES = 60;
/** Characters of a failed attempt's diff shown to a coder. */
const DIFF_CHARS = 6_000;

export function ideaBrief(task: Pick<CodingTask, 'idea' | 'context'>): string {
  const { idea, context } = task;
  const parent = context.parent && context.parent.id !== 0 ? `It builds on idea #${context.parent.id} "${context.parent.title}", whose change the tree already holds.` : '';
  return [
    `Title: ${idea.title}`,
    `Hypothesis: ${idea.hypothesis}`,
    `Plan: ${idea.plan || '(none given: decide the details yourself)'}`,
    `Expected effect: ${idea.expectedEffect || '(not stated)'}`,
    parent,
    context.instruction ?? '',
  ]
    .filter(Boolean)
    .join('\n');
}

/** The failed attempts, newest last, for the start of a debug round; empty when there are none. */
export function failuresBrief(failures: readonly RunFailureFeedback[]): string {
  if (failures.length === 0) return '';
  const attempts = failures.map((failure) => {
    const log = tail(failure.logTail, LOG_TAIL_LINES);
    const diff = failure.diff.length > DIFF_CHARS ? `${failure.diff.slice(0, DIFF_CHARS)}\n… (diff cut at ${DIFF_CHARS} characters)` : failure.diff;
    return [
      `### Attempt ${failure.attempt + 1}: the ${failure.step} step failed (${failure.reason}${failure.exitCode !== null ? `, exit code ${failure.exitCode}` : ''})`,
      failure.message,
      `The end of its log:\n\`\`\`\n${log || '(the log is empty)'}\n\`\`\``,
      diff ? `Its change:\n\`\`\`diff\n${diff.trimEnd()}\n\`\`\`` : '',
    ]
      .filter(Boolean)
      .join('\n\n');
  });
  return [
    '## The last attempt failed when it ran',
    `The tree already holds the last attempt (attempt ${failures[failures.length - 1].attempt + 1}). Find why it failed and fix it; keep the idea.`,
    ...attempts,
  ].join('\n\n');
}

function tail(text: string, lines: number): string {
  const all = text.trimEnd().split('\n');
  return all.length > lines ? all.slice(-lines).join('\n') : all.join('\n');
}
