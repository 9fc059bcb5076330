/**
 * One turn of a conversation with tools, as a run makes it (the agentic coder's model calls):
 * like `callModel` (./call.ts) it is content-addressed and answered from the run's response cache
 * when the same turn was paid for before (a resumed idea replays its conversation for free),
 * checked against --max-cost before it is sent, and recorded in the run — the conversation as
 * text, so `researcher export` shows every turn, and the reply with its tool calls.
 */
import { createHash } from 'node:crypto';
import { BudgetExceeded, ConfigError } from '../../core/errors.ts';
import type { ResearchContext } from '../../core/interfaces.ts';
import { ZERO_USAGE } from '../../core/types.ts';
import { type ConverseRequest, type ConverseResult, conversationText, joinParts, type ToolCall, type ToolModel, toolCallText } from '../../models/model.ts';
import { worstCaseCost } from './call.ts';

/** Bump when the turn's request or the recorded reply changes shape. */
const TURN_KEY_VERSION = 1;

/** What the run keeps of a reply: its text and tool calls, as JSON (so a cached turn replays exactly). */
interface RecordedTurn {
  text: string;
  toolCalls: ToolCall[];
}

export interface TurnReply extends ConverseResult {
  /** Answered from the run's response cache (nothing was sent or paid). */
  fromCache: boolean;
}

export async function converseTurn(model: ToolModel, role: string, context: ResearchContext, request: ConverseRequest): Promise<TurnReply> {
  const payload = {
    v: TURN_KEY_VERSION,
    kind: 'tools',
    idea: context.ideaId,
    role,
    settings: await model.settings(),
    system: request.system,
    items: request.items,
    tools: request.tools,
  };
  const key = createHash('sha256').update(JSON.stringify(payload)).digest('hex');
  const cached = readRecorded(context.ledger.cached(key));
  if (cached) return { ...cached, usage: ZERO_USAGE, latencyMs: 0, finishReason: cached.toolCalls.length ? 'tool-calls' : 'stop', fromCache: true };

  const name = await model.modelName();
  const messages = conversationText(request.items);
  const cap = context.ledger.maxCostUsd;
  if (cap !== null) {
    const price = await model.price();
    if (!price) {
      throw new ConfigError(`--max-cost needs the price of model "${name}": add it under prices: in the agent file (0 for a free local server)`);
    }
    const spent = context.ledger.spentUsd();
    // The tool definitions are sent each turn too.
    const next = worstCaseCost(model, { system: [joinParts(request.system), JSON.stringify(request.tools)].join('\n'), messages }, price);
    if (spent + next > cap) {
      throw new BudgetExceeded(`the next ${role} turn (up to $${next.toFixed(4)}) would pass --max-cost $${cap} ($${spent.toFixed(4)} spent)`);
    }
  }

  const result = await model.converse(request);
  const recorded: RecordedTurn = { text: result.text, toolCalls: result.toolCalls };
  context.ledger.record({
    role,
    provider: model.provider,
    model: name,
    cacheKey: key,
    usage: result.usage,
    latencyMs: result.latencyMs,
    response: JSON.stringify(recorded),
    request: { system: joinParts(request.system), messages },
  });
  return { ...result, fromCache: false };
}

function readRecorded(text: string | null): RecordedTurn | null {
  if (text === null) return null;
  try {
    const value = JSON.parse(text) as Partial<RecordedTurn>;
    if (typeof value.text === 'string' && Array.isArray(value.toolCalls)) return { text: value.text, toolCalls: value.toolCalls };
  } catch {
    // Not a turn this version recorded: ask the model again.
  }
  return null;
}

/** A reply as a line of the conversation's record (for messages and logs). */
export function turnText(reply: { text: string; toolCalls: ToolCall[] }): string {
  return [reply.text, ...reply.toolCalls.map(toolCallText)].filter(Boolean).join('\n');
}
