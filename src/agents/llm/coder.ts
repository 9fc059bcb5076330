/**
 * The LLM coder: turns an idea into an edit (search/replace blocks or a unified diff) against
 * the files as they are at the idea's parent. In a repair round it sees its earlier edits and
 * exactly why each did not apply (which hunk or block, and what the file really says there).
 * In a debug round it sees its committed change as it ran (the failed attempt's files), how it
 * failed and the end of its log, and writes a fix.
 * A reply with no readable edit is sent back with the reason and tried again.
 */
import type { AgentResult, ApplyFeedback, EditWriter, ResearchContext, RunFailureFeedback } from '../../core/interfaces.ts';
import type { Edit, IdeaDraft } from '../../core/types.ts';
import type { Model, ModelMessage } from '../../models/model.ts';
import { EditParseError, parseEditText, renderEdit } from '../../patch/edit-text.ts';
import { askUntilParsed } from './call.ts';
import { CommitFiles, codeSection, environmentValues, parentCommit, parentSection } from './context.ts';
import { renderTemplate } from './template.ts';

export const CODER_PLACEHOLDERS = [
  'task',
  'goal',
  'runCommand',
  'editable',
  'protected',
  'fileTree',
  'editFormat',
  'code',
  'parent',
  'title',
  'hypothesis',
  'plan',
  'expectedEffect',
  'instruction',
] as const;

/**
 * The values of CODER_PLACEHOLDERS for an idea, the same for the one-shot and the agentic coder;
 * `code` is the code section the caller built (or '' when its templates do not use it).
 */
export async function coderValues(
  idea: IdeaDraft,
  context: ResearchContext,
  options: { editFormat: string; diffLines: number; code: string },
): Promise<Record<(typeof CODER_PLACEHOLDERS)[number], string>> {
  return {
    ...(await environmentValues(context)),
    editFormat: options.editFormat.trim(),
    code: options.code,
    parent: parentSection(context, options.diffLines),
    title: idea.title,
    hypothesis: idea.hypothesis,
    plan: idea.plan || '(none given: decide the details yourself)',
    expectedEffect: idea.expectedEffect || '(not stated)',
    instruction: context.instruction ?? '',
  };
}

export interface LlmCoderOptions {
  prompts: { system: string; user: string };
  /** The edit-format instructions (agents/prompts/edit-*.md). */
  editFormat: string;
  contextTokens: number;
  diffLines: number;
  parseRetries: number;
}

export function repairMessage(feedback: ApplyFeedback): string {
  return (
    `That edit did not apply, so nothing was changed:\n\n${feedback.message}\n\n` +
    'The files are still exactly as shown at the start. Reply with the complete corrected edit (all of it, not only the part that failed), in the same format.'
  );
}

const STEP_NAMES: Record<RunFailureFeedback['step'], string> = { smoke: 'the smoke step', run: 'the run', evaluate: 'scoring the run' };

/** Lines of a failed attempt's diff shown in a debug round (its files are shown whole above it). */
const FAILED_DIFF_LINES = 200;

/**
 * What the coder is told in a debug round: its change ran and failed — how, with the log's end
 * (already capped and cleaned of control characters, src/core/sweep/run-failure.ts) — and that
 * the files shown are its change, to be fixed. Earlier failed attempts come first, oldest first.
 */
export function debugMessage(failures: readonly RunFailureFeedback[]): string {
  const blocks = failures.map((failure) => {
    const exit = failure.exitCode === null ? '' : `, exit code ${failure.exitCode}`;
    const diffLines = failure.diff.trimEnd().split('\n');
    const diff = diffLines.slice(0, FAILED_DIFF_LINES).join('\n') + (diffLines.length > FAILED_DIFF_LINES ? `\n… (${diffLines.length - FAILED_DIFF_LINES} more lines)` : '');
    const f = fenceFor;
    return [
      `### Attempt ${failure.attempt + 1}: ${STEP_NAMES[failure.step]} failed (${failure.reason}${exit})`,
      failure.message,
      '',
      'The change that ran (against the code the idea builds on):',
      `${f(diff)}diff\n${diff}\n${f(diff)}`,
      '',
      'The end of its log:',
      `${f(failure.logTail)}text\n${failure.logTail}\n${f(failure.logTail)}`,
    ].join('\n');
  });
  return [
    '## Your change ran and failed',
    'Your change for this idea was committed and run, and it failed. The files shown above are your change as it ran: the edit you write now applies to them. ' +
      'Read the log below (the traceback is at its end), find the cause and fix it, still implementing the idea. Reply with the complete fix as one edit, in the same format.',
    '',
    ...blocks,
  ].join('\n');
}

function fenceFor(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`{3,}/g)].map((m) => m[0].length));
  return '`'.repeat(Math.max(3, longest + 1));
}

export class LlmCoder implements EditWriter {
  readonly name: string;
  private readonly files = new CommitFiles();

  constructor(
    private readonly model: Model,
    private readonly options: LlmCoderOptions,
    name = 'llm',
  ) {
    this.name = name;
  }

  async implement(
    idea: IdeaDraft,
    context: ResearchContext,
    feedback: readonly ApplyFeedback[],
    failures: readonly RunFailureFeedback[] = [],
  ): Promise<AgentResult<Edit>> {
    // In a debug round the code shown is the failed attempt's: what the fix applies to.
    const code = await codeSection(context, this.files, context.attemptCommit ?? parentCommit(context), this.options.contextTokens);
    const values = await coderValues(idea, context, { ...this.options, code: code.text });
    const system = renderTemplate(this.options.prompts.system, values).map((part) => ({ ...part, cache: true }));
    const user = renderTemplate(this.options.prompts.user, values);
    if (failures.length) user.push({ text: debugMessage(failures) });
    const messages: ModelMessage[] = [{ role: 'user', content: user }];
    for (const attempt of feedback) {
      messages.push({ role: 'assistant', content: renderEdit(attempt.edit) }, { role: 'user', content: repairMessage(attempt) });
    }

    return askUntilParsed(this.model, 'coder', context, { system, messages }, {
      parse: parseEditText,
      problem: EditParseError,
      what: 'the edit',
      retries: this.options.parseRetries,
    });
  }
}
