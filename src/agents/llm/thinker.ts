/**
 * The LLM thinker: proposes the next idea as a structured reply (title, hypothesis, plan,
 * expected effect), validated with zod. A reply that does not parse is sent back with the
 * reason and tried again; after `parseRetries` more tries it fails (the loop records the idea as
 * failed with agent-error).
 */
import { z } from 'zod';
import type { AgentResult, ResearchContext, Thinker } from '../../core/interfaces.ts';
import type { IdeaDraft } from '../../core/types.ts';
import { type Model, type ModelMessage, parseStructured, ReplyParseError } from '../../models/model.ts';
import { askUntilParsed } from './call.ts';
import {
  baseCommit,
  CommitFiles,
  codeSection,
  environmentValues,
  guidanceSection,
  historySection,
  learnedSection,
  notebookSection,
  parentSection,
} from './context.ts';
import { renderTemplate } from './template.ts';

const text = z.union([z.string(), z.array(z.string()).transform((items) => items.map((item, i) => `${i + 1}. ${item}`).join('\n'))]);

/** The thinker's reply. Lenient where models vary harmlessly (a plan as a list), strict where it matters. */
export const ThinkerReply = z.object({
  title: z.string().trim().min(1).max(200),
  hypothesis: z.string().trim().min(1),
  plan: text.default(''),
  expectedEffect: text.default(''),
});

export const THINKER_PLACEHOLDERS = [
  'task',
  'goal',
  'runCommand',
  'editable',
  'protected',
  'fileTree',
  'code',
  'notebook',
  'learned',
  'history',
  'parent',
  'instruction',
  'ideaNumber',
] as const;

export interface LlmThinkerOptions {
  prompts: { system: string; user: string };
  contextTokens: number;
  historyTokens: number;
  diffLines: number;
  parseRetries: number;
  /** Tokens of the lab notebook shown (0: none). */
  notebookTokens: number;
}

export class LlmThinker implements Thinker {
  readonly name: string;
  private readonly files = new CommitFiles();

  constructor(
    private readonly model: Model,
    private readonly options: LlmThinkerOptions,
    name = 'llm',
    /** The portfolio's models by name (empty without one): the sweep names the one for each idea. */
    private readonly portfolio: ReadonlyMap<string, Model> = new Map(),
  ) {
    this.name = name;
  }

  /** The model for this proposal: the portfolio's choice for the idea, else the thinker's one model. */
  private modelFor(context: ResearchContext): Model {
    if (context.thinkerModel === undefined || this.portfolio.size === 0) return this.model;
    const model = this.portfolio.get(context.thinkerModel);
    if (!model) throw new Error(`idea ${context.ideaId} is to be proposed by "${context.thinkerModel}", which thinker.models no longer lists`);
    return model;
  }

  async propose(context: ResearchContext): Promise<AgentResult<IdeaDraft>> {
    // The stable part (task, files at the base commit) first, so the provider's cache covers it.
    const code = await codeSection(context, this.files, baseCommit(context), this.options.contextTokens);
    const values: Record<(typeof THINKER_PLACEHOLDERS)[number], string> = {
      ...(await environmentValues(context)),
      code: code.text,
      history: historySection(context, { budgetTokens: this.options.historyTokens, diffLines: this.options.diffLines }),
      parent: parentSection(context, this.options.diffLines),
      notebook: notebookSection(context, this.options.notebookTokens),
      learned: learnedSection(context),
      instruction: context.instruction ?? '',
      ideaNumber: String(context.ideaId),
    };
    const { prompts } = this.options;
    const system = renderTemplate(prompts.system, values).map((part) => ({ ...part, cache: true }));
    const user = renderTemplate(prompts.user, values);
    // A template of the user's own that places neither still gets them: the notebook (the same all
    // run) after the system prompt, what was learned before the rest of the message.
    const uses = (name: string) => new RegExp(`\\{\\{\\s*${name}\\s*\\}\\}`).test(prompts.system + prompts.user);
    if (values.notebook && !uses('notebook')) system.push({ text: values.notebook, cache: true });
    if (values.learned && !uses('learned')) user.unshift({ text: values.learned });
    // Appended after the template (any template, the user's own included), uncached: it changes mid-run.
    const guidance = guidanceSection(context);
    if (guidance) user.push({ text: guidance });
    const messages: ModelMessage[] = [{ role: 'user', content: user }];

    return askUntilParsed(this.modelFor(context), 'thinker', context, { system, messages }, {
      parse: (reply) => parseStructured(reply, ThinkerReply),
      problem: ReplyParseError,
      what: 'the JSON object',
      retries: this.options.parseRetries,
    });
  }
}
