/**
 * The LLM reflector: asks a model (the agent file's `reflector:`, by default the thinker's model)
 * what the run so far established, given the run's history and the environment's lab notebook.
 * Its reply must be the `Reflection` JSON object; one that is not is sent back with the reason,
 * and after `parseRetries` more tries the reflection fails — and the sweep leaves the notebook as
 * it was. Its calls are recorded and priced like the thinker's (role "reflector").
 */
import type { AgentResult } from '../../core/interfaces.ts';
import { Reflection, type ReflectionInput, type ReflectionOutcome, type Reflector } from '../../core/reflection.ts';
import { type Model, parseStructured, ReplyParseError } from '../../models/model.ts';
import { bestIdeaSettings } from '../knobs.ts';
import { askUntilParsed } from './call.ts';
import { goalText, historySection, notebookExcerpt } from './context.ts';
import { renderTemplate } from './template.ts';

export const REFLECTOR_PLACEHOLDERS = ['task', 'goal', 'notebook', 'runId', 'afterIdeas', 'history', 'previous', 'when'] as const;

export interface LlmReflectorOptions {
  prompts: { system: string; user: string };
  historyTokens: number;
  diffLines: number;
  notebookTokens: number;
  parseRetries: number;
}

/** The id a reflection's calls are addressed under in the run's response cache (no idea has it). */
const REFLECTION_CALL_ID = -1;

export class LlmReflector implements Reflector {
  readonly name: string;

  constructor(
    private readonly model: Model,
    private readonly options: LlmReflectorOptions,
    name = 'llm',
  ) {
    this.name = name;
  }

  async reflect(input: ReflectionInput): Promise<AgentResult<ReflectionOutcome>> {
    const { environment } = input;
    const values: Record<(typeof REFLECTOR_PLACEHOLDERS)[number], string> = {
      task: environment.config.description.trim(),
      goal: goalText(environment),
      // The notebook gets twice the thinker's share: merging it is the reflector's job.
      notebook: input.notebook ? notebookExcerpt(input.notebook, Math.max(1, 2 * this.options.notebookTokens)) : '(empty: this is the first run that writes it)',
      runId: input.runId,
      afterIdeas: String(input.afterIdeas),
      history: historySection(input, { budgetTokens: this.options.historyTokens, diffLines: this.options.diffLines }),
      previous: input.previous ? `## What this run's previous reflection said\n${input.previous}` : '',
      when:
        input.kind === 'final'
          ? 'The sweep has ended: write what it established, for the next sweeps on this task.'
          : 'The sweep goes on: write what the ideas so far established, for the ideas that come next.',
    };
    const system = renderTemplate(this.options.prompts.system, values).map((part) => ({ ...part, cache: true }));
    const messages = [{ role: 'user' as const, content: renderTemplate(this.options.prompts.user, values) }];
    const context = { ideaId: REFLECTION_CALL_ID, ledger: input.ledger, signal: input.signal };
    const { value, usage } = await askUntilParsed(this.model, 'reflector', context, { system, messages }, {
      parse: (reply) => parseStructured(reply, Reflection),
      problem: ReplyParseError,
      what: 'the JSON object',
      retries: this.options.parseRetries,
    });
    return { value: { reflection: value, bestSettings: await bestIdeaSettings(input) }, usage };
  }
}
