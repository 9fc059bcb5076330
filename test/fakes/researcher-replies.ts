/**
 * Scripted model replies for sweeps on test/fixtures/quadratic (reward = 10 − (X − 3)², X in
 * config.py): what a thinker, a coder and a reflector might answer, good and bad. The servers answer each
 * role from its own queue, telling the roles apart by the system prompt's first line.
 */
import type { RecordedRequest, Reply } from './scripted-server.ts';

export type Role = 'thinker' | 'coder' | 'reflector';

type WireBlock = { type?: string; text?: string; content?: string | WireBlock[] };
type WireMessage = { role?: string; type?: string; content?: string | null | WireBlock[]; output?: string; arguments?: string };

/** The system prompt of a request, for any of the three protocols (chat, responses, Anthropic messages). */
export function systemOf(request: RecordedRequest): string {
  const body = request.body as { system?: string | { text: string }[]; instructions?: string; messages?: WireMessage[] };
  if (body.system !== undefined) return typeof body.system === 'string' ? body.system : body.system.map((b) => b.text).join('');
  if (body.instructions !== undefined) return body.instructions;
  const system = body.messages?.find((m) => m.role === 'system');
  return typeof system?.content === 'string' ? system.content : '';
}

function blockText(block: WireBlock): string {
  if (block.type === 'tool_result')
    return typeof block.content === 'string' ? block.content : (block.content ?? []).map(blockText).join('\n\n');
  return block.text ?? '';
}

/**
 * The conversation after the system prompt, as plain text per message: tool results as their
 * text (role `tool` on OpenAI's protocols; a user turn of tool_result blocks on Anthropic's).
 */
export function messagesOf(request: RecordedRequest): { role: string; text: string }[] {
  const body = request.body as { messages?: WireMessage[]; input?: WireMessage[] | string };
  const items = body.messages ?? (typeof body.input === 'string' ? [{ role: 'user', content: body.input }] : (body.input ?? []));
  return items
    .filter((m) => m.role !== 'system' && m.type !== 'function_call')
    .map((m) => {
      if (m.type === 'function_call_output') return { role: 'tool', text: m.output ?? '' };
      const content = m.content ?? '';
      return { role: m.role ?? '', text: typeof content === 'string' ? content : content.map(blockText).join('\n\n') };
    });
}

export function roleOf(request: RecordedRequest): Role {
  const system = systemOf(request);
  if (system.startsWith('You are a research scientist')) return 'thinker';
  return system.startsWith('You keep the lab notebook') ? 'reflector' : 'coder';
}

/** A reflection on a quadratic sweep, as the reflector answers (src/core/reflection.ts). */
export function reflection(summary = 'X near 3 scores best; X far from 3 scores worse.'): { text: string } {
  return {
    text: `\`\`\`json\n${JSON.stringify({
      summary,
      findings: [{ claim: 'moving X towards 3 raised the score', evidence: 'ideas #1 and #2 against the baseline' }],
      deadEnds: ['X below 1'],
      openQuestions: ['whether X = 3 exactly is the peak'],
    })}\n\`\`\``,
  };
}

export function idea(x: number): { text: string } {
  return {
    text: `\`\`\`json\n${JSON.stringify({
      title: `X to ${x}`,
      hypothesis: `The score peaks near X = 3; X = ${x} should score ${10 - (x - 3) ** 2}.`,
      plan: `In config.py set X = ${x}.`,
      expectedEffect: 'a higher score',
    })}\n\`\`\``,
  };
}

export function setX(x: number): { text: string } {
  return { text: `I will change the constant.\n\nconfig.py\n<<<<<<< SEARCH\nX = 0.5\n=======\nX = ${x}\n>>>>>>> REPLACE\n` };
}

/**
 * Answers each role from its own queue of replies, in order. The reflector, when the script
 * gives it no queue, answers every call with `reflection()` (each sweep reflects when it ends).
 */
export function byRole(queues: Record<'thinker' | 'coder', Reply[]> & { reflector?: Reply[] }): (request: RecordedRequest) => Reply {
  return (request) => {
    const role = roleOf(request);
    if (role === 'reflector' && !queues.reflector) return reflection();
    return queues[role]!.shift() ?? { status: 500, message: `no ${role} reply left in the script` };
  };
}

/** The model calls of one role, in order. */
export function callsOf(requests: RecordedRequest[], role: Role): RecordedRequest[] {
  return requests.filter((r) => r.method === 'POST' && roleOf(r) === role);
}
