/**
 * The LLM coder: turns an idea into an edit (search/replace blocks or a unified diff) against
 * the files as they are at the idea's parent. In a repair round it sees its earlier edits and
 * exactly why each did not apply (which hunk or block, and what the file really says there).
 * A reply with no readable edit is sent back with the reason and tried again.
 */
import type { AgentResult, ApplyFeedback, EditWriter, ResearchContext } from '../../core/interfaces.ts';
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

  async implement(idea: IdeaDraft, context: ResearchContext, feedback: readonly ApplyFeedback[]): Promise<AgentResult<Edit>> {
    const code = await codeSection(context, this.files, parentCommit(context), this.options.contextTokens);
    const values: Record<(typeof CODER_PLACEHOLDERS)[number], string> = {
      ...(await environmentValues(context)),
      editFormat: this.options.editFormat.trim(),
      code: code.text,
      parent: parentSection(context, this.options.diffLines),
      title: idea.title,
      hypothesis: idea.hypothesis,
      plan: idea.plan || '(none given: decide the details yourself)',
      expectedEffect: idea.expectedEffect || '(not stated)',
      instruction: context.instruction ?? '',
    };
    const system = renderTemplate(this.options.prompts.system, values).map((part) => ({ ...part, cache: true }));
    const messages: ModelMessage[] = [{ role: 'user', content: renderTemplate(this.options.prompts.user, values) }];
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
