/**
 * The LLM auditor: reads the diff of an idea that would become the best, with the environment's
 * task and rules, and answers ok or flagged with a reason. A reply that holds no verdict is sent
 * back with the reason (parseRetries times); if none is readable the outcome is `unreadable`,
 * recorded like a verdict, never an exception. The call is priced and recorded like the
 * thinker's and coder's (the ledger), and answered from the run's cache on resume.
 */
import { z } from 'zod';
import type { AgentResult, AuditOutcome, AuditRequest, Auditor } from '../../core/interfaces.ts';
import { formatNumber } from '../../core/format.ts';
import { type Model, parseStructured, ReplyParseError } from '../../models/model.ts';
import { askUntilParsed, UnreadableReply } from './call.ts';
import { goalText } from './context.ts';
import { renderTemplate } from './template.ts';

/** The reply. Lenient about case and spacing of the verdict, strict about there being one. */
export const AuditorReply = z.object({
  verdict: z
    .string()
    .transform((value) => value.trim().toLowerCase())
    .pipe(z.enum(['ok', 'flagged'])),
  reason: z.string().trim().min(1),
});

export const AUDITOR_PLACEHOLDERS = ['task', 'goal', 'editable', 'protected', 'rules', 'ideaNumber', 'title', 'hypothesis', 'reward', 'best', 'diff'] as const;

/** A diff longer than this is cut (with a note): a shortcut is a few lines, and the prompt has a budget. */
const MAX_DIFF_CHARS = 60_000;

export interface LlmAuditorOptions {
  prompts: { system: string; user: string };
  parseRetries: number;
}

export class LlmAuditor implements Auditor {
  constructor(
    private readonly model: Model,
    private readonly options: LlmAuditorOptions,
    readonly name: string,
  ) {}

  async review(request: AuditRequest): Promise<AgentResult<AuditOutcome>> {
    const { idea, environment } = request;
    const { config } = environment;
    const diff = idea.diff ?? '';
    const values: Record<(typeof AUDITOR_PLACEHOLDERS)[number], string> = {
      task: config.description.trim(),
      goal: goalText(environment),
      editable: config.editable.join(', '),
      protected: config.protected.length ? config.protected.join(', ') : '(none)',
      rules: config.rules.length
        ? config.rules.map((rule) => `- ${rule}`).join('\n')
        : '(environment.yaml states no rules: judge by the task above and what research on it means)',
      ideaNumber: String(idea.id),
      title: idea.title,
      hypothesis: idea.hypothesis,
      reward: formatNumber(request.reward),
      best: request.best
        ? request.best.id === 0
          ? `the baseline, ${formatNumber(request.best.reward)}`
          : `#${request.best.id} "${request.best.title}", ${formatNumber(request.best.reward)}`
        : 'none yet',
      diff: diff.length > MAX_DIFF_CHARS ? `${diff.slice(0, MAX_DIFF_CHARS)}\n… (the diff is cut here: ${diff.length} characters in all)` : diff,
    };
    const system = renderTemplate(this.options.prompts.system, values).map((part) => ({ ...part, cache: true }));
    const user = renderTemplate(this.options.prompts.user, values);
    const context = { ideaId: idea.id, ledger: request.ledger, signal: request.signal };
    const reviewer = `${this.name} (${await this.model.modelName()})`;
    try {
      const { value, usage } = await askUntilParsed(this.model, 'auditor', context, { system, messages: [{ role: 'user', content: user }] }, {
        parse: (reply) => parseStructured(reply, AuditorReply),
        problem: ReplyParseError,
        what: 'the JSON object',
        retries: this.options.parseRetries,
      });
      return { value: { ...value, reviewer }, usage };
    } catch (error) {
      // Only an unreadable reply is an outcome; the provider, the budget or a stop are the caller's to handle.
      if (!(error instanceof UnreadableReply)) throw error;
      return { value: { verdict: 'unreadable', reason: `auditor reply unreadable: ${error.message}`, reviewer }, usage: error.usage };
    }
  }
}
