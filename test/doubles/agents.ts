/**
 * A scripted thinker and coder: they answer from a script instead of a model, record what they
 * were told, and honour the sweep's stop signal the way the model-backed agents do.
 */
import type { AgentResult, ApplyFeedback, EditWriter, ResearchContext, RunFailureFeedback, Thinker } from '../../src/core/interfaces.ts';
import { ZERO_USAGE, type Edit, type IdeaDraft, type IdeaRecord } from '../../src/core/types.ts';

/** What an agent saw when it was called: the idea, and the status of every idea then. */
export interface AgentCall {
  ideaId: number;
  parentId: number | null;
  instruction: string | undefined;
  history: Pick<IdeaRecord, 'id' | 'status' | 'reward'>[];
}

function seen(context: ResearchContext): AgentCall {
  return {
    ideaId: context.ideaId,
    parentId: context.parent?.id ?? null,
    instruction: context.instruction,
    history: context.history.map(({ id, status, reward }) => ({ id, status, reward })),
  };
}

/** Resolves when the signal aborts, with the error a model call would throw. */
function aborted(signal: AbortSignal | undefined): Promise<never> {
  return new Promise((_, reject) => {
    const fail = () => reject(new Error('the model call was cancelled'));
    if (signal?.aborted) fail();
    else signal?.addEventListener('abort', fail, { once: true });
  });
}

export type ThinkerStep = Partial<IdeaDraft> | Error | ((context: ResearchContext) => Partial<IdeaDraft> | Promise<Partial<IdeaDraft>>);

/** Proposes the script's drafts in order (the last one repeats); an Error in the script is thrown. */
export class ScriptedThinker implements Thinker {
  readonly name = 'scripted';
  readonly calls: AgentCall[] = [];

  constructor(private readonly script: ThinkerStep[]) {}

  async propose(context: ResearchContext): Promise<AgentResult<IdeaDraft>> {
    this.calls.push(seen(context));
    const step = this.script[Math.min(this.calls.length - 1, this.script.length - 1)];
    if (step instanceof Error) throw step;
    const draft = typeof step === 'function' ? await Promise.race([step(context), aborted(context.signal)]) : step;
    const title = draft.title ?? `idea ${context.ideaId}`;
    return {
      value: {
        title,
        hypothesis: draft.hypothesis ?? `hypothesis of ${title}`,
        plan: draft.plan ?? '',
        expectedEffect: draft.expectedEffect ?? '',
      },
      usage: ZERO_USAGE,
    };
  }
}

export type CoderStep = (
  idea: IdeaDraft,
  context: ResearchContext,
  feedback: readonly ApplyFeedback[],
  /** Earlier commits of this idea that ran and failed (debug rounds). */
  failures: readonly RunFailureFeedback[],
) => Edit | Error | Promise<Edit | Error>;

/** Writes each idea's edit with `script`; an Error it returns is thrown. */
export class ScriptedCoder implements EditWriter {
  readonly name = 'scripted';
  readonly calls: (AgentCall & { feedback: number })[] = [];

  constructor(private readonly script: CoderStep) {}

  async implement(
    idea: IdeaDraft,
    context: ResearchContext,
    feedback: readonly ApplyFeedback[],
    failures: readonly RunFailureFeedback[] = [],
  ): Promise<AgentResult<Edit>> {
    this.calls.push({ ...seen(context), feedback: feedback.length });
    const edit = await Promise.race([this.script(idea, context, feedback, failures), aborted(context.signal)]);
    if (edit instanceof Error) throw edit;
    return { value: edit, usage: ZERO_USAGE };
  }
}

/**
 * The coder for memoryEnvironment's one knob: an idea titled "x=<value>" sets X in config.py
 * (written against the parent's code, as a real coder would).
 */
export function knobCoder(): ScriptedCoder {
  return new ScriptedCoder(async (idea, context) => {
    const value = /x=(\S+)/.exec(idea.title)?.[1];
    if (value === undefined) return new Error(`the title "${idea.title}" names no x=<value>`);
    const current = (await context.readFile('config.py')) ?? '';
    const line = /^X = .*$/m.exec(current)?.[0] ?? 'X = ?';
    return { kind: 'search-replace', blocks: [{ path: 'config.py', search: line, replace: `X = ${value}` }] };
  });
}
