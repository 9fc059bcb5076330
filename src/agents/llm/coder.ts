/**
 * The LLM coder: turns an idea into an edit (search/replace blocks or a unified diff) against
 * the files as they are at the idea's parent. In a repair round it sees its earlier edits and
 * exactly why each did not apply (which hunk or block, and what the file really says there).
 * A reply with no readable edit is sent back with the reason and tried again.
 */
import type { AgentResult, ApplyFeedback, Coder, ResearchContext } from '../../core/interfaces.ts';
import { addUsage, type Edit, type IdeaDraft, ZERO_USAGE } from '../../core/types.ts';
import type { Model, ModelMessage } from '../../models/model.ts';
import { EditParseError, parseEditText, renderEdit } from '../../patch/edit-text.ts';
import { callModel } from './call.ts';
import { CommitFiles, codeSection, fileTree, goalText, parentCommit, parentSection } from './context.ts';
import { renderTemplate } from './template.ts';
import { retryMessage } from './thinker.ts';

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

export class LlmCoder implements Coder {
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
    const { config } = context.environment;
    const code = await codeSection(context, this.files, parentCommit(context), this.options.contextTokens);
    const values: Record<(typeof CODER_PLACEHOLDERS)[number], string> = {
      task: config.description.trim(),
      goal: goalText(context.environment),
      runCommand: `\`${config.run.command}\` (time limit ${Math.round(config.run.timeout / 1000)} s)`,
      editable: config.editable.join(', '),
      protected: config.protected.length ? config.protected.join(', ') : '(none)',
      fileTree: await fileTree(context),
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

    let usage = ZERO_USAGE;
    let problem = '';
    for (let attempt = 0; attempt <= this.options.parseRetries; attempt++) {
      const reply = await callModel(this.model, 'coder', context, { system, messages, signal: context.signal });
      usage = addUsage(usage, reply.usage);
      try {
        return { value: parseEditText(reply.text), usage };
      } catch (error) {
        if (!(error instanceof EditParseError)) throw error;
        problem = error.message;
        messages.push({ role: 'assistant', content: reply.text }, { role: 'user', content: retryMessage(problem, 'the edit') });
      }
    }
    throw new Error(`its reply held no usable edit after ${this.options.parseRetries + 1} attempt(s): ${problem}`);
  }
}
