/**
 * One model call as a run makes it: content-addressed and answered from the run's response
 * cache when the same request was paid for before (so `resume` never pays twice), checked
 * against --max-cost before it is sent, and recorded in the run (tokens, cost, latency, reply).
 */
import { createHash } from 'node:crypto';
import { BudgetExceeded, ConfigError } from '../../core/errors.ts';
import type { ResearchContext } from '../../core/interfaces.ts';
import { addUsage, ZERO_USAGE, type Usage } from '../../core/types.ts';
import type { GenerateRequest, Model, ModelMessage } from '../../models/model.ts';
import { joinParts } from '../../models/model.ts';
import { costOf } from '../../models/prices.ts';

/** What a call needs of its context: which idea it is for, the ledger, the stop signal (a reflection has no idea: it passes its own). */
export type CallContext = Pick<ResearchContext, 'ideaId' | 'ledger' | 'signal'>;

export interface CallReply {
  text: string;
  usage: Usage;
  /** Answered from the run's response cache (nothing was sent or paid). */
  fromCache: boolean;
}

/** Bump when the request shape changes in a way old cached replies no longer fit. */
const CACHE_KEY_VERSION = 1;

export async function cacheKey(model: Model, role: string, context: CallContext, request: GenerateRequest): Promise<string> {
  const payload = {
    v: CACHE_KEY_VERSION,
    // The idea and role are part of the address: two ideas that happen to see the same prompt
    // (parallel search) must not share one reply; a resumed idea gets its own back.
    idea: context.ideaId,
    role,
    settings: await model.settings(),
    system: request.system,
    messages: request.messages,
  };
  return createHash('sha256').update(JSON.stringify(payload)).digest('hex');
}

/**
 * What the call can cost at most: the prompt (estimated generously, three characters per token,
 * none of it cached) plus the most output tokens the call may produce.
 */
export function worstCaseCost(model: Model, request: GenerateRequest, price: Parameters<typeof costOf>[1]): number {
  const chars = joinParts(request.system).length + request.messages.reduce((sum, m) => sum + joinParts(m.content).length, 0);
  const inputTokens = Math.ceil(chars / 3);
  return costOf({ inputTokens, cachedTokens: 0, cacheWriteTokens: 0, outputTokens: model.maxOutputTokens }, price);
}

export async function callModel(model: Model, role: string, context: CallContext, request: GenerateRequest): Promise<CallReply> {
  const key = await cacheKey(model, role, context, request);
  const cached = context.ledger.cached(key);
  if (cached !== null) return { text: cached, usage: ZERO_USAGE, fromCache: true };

  const name = await model.modelName();
  const cap = context.ledger.maxCostUsd;
  if (cap !== null) {
    const price = await model.price();
    if (!price) {
      throw new ConfigError(`--max-cost needs the price of model "${name}": add it under prices: in the agent file (0 for a free local server)`);
    }
    const spent = context.ledger.spentUsd();
    const next = worstCaseCost(model, request, price);
    if (spent + next > cap) {
      throw new BudgetExceeded(`the next ${role} call (up to $${next.toFixed(4)}) would pass --max-cost $${cap} ($${spent.toFixed(4)} spent)`);
    }
  }

  const { system, messages, signal } = request;
  const result = await model.generate({ system, messages, signal });
  context.ledger.record({
    role,
    provider: model.provider,
    model: name,
    cacheKey: key,
    usage: result.usage,
    latencyMs: result.latencyMs,
    response: result.text,
    request: { system: joinParts(system), messages: messages.map((m) => ({ role: m.role, content: joinParts(m.content) })) },
  });
  return { text: result.text, usage: result.usage, fromCache: false };
}

export function retryMessage(problem: string, what: string): string {
  return `Your reply could not be used: ${problem}\n\nReply again with ${what} only — complete, and short enough not to be cut off.`;
}

/** No reply of the model could be read, after every retry: the message says why; `usage` is what the tries cost. */
export class UnreadableReply extends Error {
  constructor(
    message: string,
    readonly usage: Usage,
  ) {
    super(message);
  }
}

/** Thrown by a reply parser when the reply is unusable but worth asking again. */
export type ReplyProblem = new (...args: never[]) => Error;

/**
 * Calls the model until `parse` accepts its reply: an unreadable reply goes back to the model
 * with the reason, up to `retries` more times; then the call fails with the last reason.
 */
export async function askUntilParsed<T>(
  model: Model,
  role: string,
  context: CallContext,
  request: { system: GenerateRequest['system']; messages: ModelMessage[] },
  reply: { parse: (text: string) => T; problem: ReplyProblem; what: string; retries: number },
): Promise<{ value: T; usage: Usage }> {
  const messages = [...request.messages];
  let usage = ZERO_USAGE;
  let problem = '';
  for (let attempt = 0; attempt <= reply.retries; attempt++) {
    const answer = await callModel(model, role, context, { system: request.system, messages, signal: context.signal });
    usage = addUsage(usage, answer.usage);
    try {
      return { value: reply.parse(answer.text), usage };
    } catch (error) {
      if (!(error instanceof reply.problem)) throw error;
      problem = error.message;
      messages.push({ role: 'assistant', content: answer.text }, { role: 'user', content: retryMessage(problem, reply.what) });
    }
  }
  throw new UnreadableReply(`its reply held no usable ${reply.what.replace(/^the /, '')} after ${reply.retries + 1} attempt(s): ${problem.split('\n').join(' ')}`, usage);
}
