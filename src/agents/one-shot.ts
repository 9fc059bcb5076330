/**
 * The one-shot coder: asks an edit writer (a model, the offline knob coder) for the idea's edit,
 * applies it to the session's tree, and when it does not apply, or changes nothing, sends the
 * writer the exact reason and asks again (repair rounds). An edit that reaches outside the
 * editable code is refused, not repaired: a coder that tries it once does not get to try again.
 */
import type { AgentResult, ApplyFeedback, Coder, CodingOutcome, CodingTask, EditWriter } from '../core/interfaces.ts';
import { addUsage, Edit, ZERO_USAGE } from '../core/types.ts';

export class OneShotCoder implements Coder {
  readonly name: string;

  constructor(readonly writer: EditWriter) {
    this.name = writer.name;
  }

  async code({ idea, context, session, repairRounds, failures }: CodingTask): Promise<AgentResult<CodingOutcome>> {
    const feedback: ApplyFeedback[] = [];
    let usage = ZERO_USAGE;
    for (let round = 0; round <= repairRounds; round++) {
      // No model spend on an idea the sweep is about to stop (Ctrl-C, --max-hours).
      context.signal?.throwIfAborted();
      // In a debug round the writer hears why its committed code failed (`failures`), and fixes it.
      const written = await this.writer.implement(idea, context, feedback, failures);
      usage = addUsage(usage, written.usage);
      const edit = Edit.parse(written.value);
      if (round > 0) await session.reset();
      const applied = await session.apply(edit);
      if (!applied.ok && applied.refused) return { value: { ok: false, reason: 'refused', message: applied.message, edit }, usage };
      if (!applied.ok) {
        feedback.push({ edit, message: applied.message });
        continue;
      }
      if ((await session.changedPaths()).length === 0) {
        feedback.push({ edit, message: 'the edit applied but changed nothing' });
        continue;
      }
      return { value: { ok: true, edit }, usage };
    }
    const last = feedback[feedback.length - 1];
    return {
      value: {
        ok: false,
        reason: 'patch-failed',
        message: `the edit did not apply after ${feedback.length} attempt(s): ${last?.message ?? 'no edit'}`,
        edit: last?.edit,
      },
      usage,
    };
  }
}

/** A coder as the sweep takes it: edit writers become one-shot coders. */
export function asCoder(coder: Coder | EditWriter): Coder {
  return 'code' in coder ? coder : new OneShotCoder(coder);
}
