/**
 * Tool calling through each adapter, on the real SDKs against loopback servers speaking each
 * protocol: OpenAI chat completions (`tools` / `tool_calls` / `role: tool`), OpenAI responses
 * (`function_call` / `function_call_output`) and Anthropic messages (`tool_use` / `tool_result`,
 * streamed). Each round trip: the model calls two tools, gets both results, then answers in
 * text; usage comes back normalised as each server billed it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AnthropicModel } from '../../src/models/anthropic.ts';
import type { ConversationItem, ToolModel, ToolSpec } from '../../src/models/model.ts';
import { OpenAIModel } from '../../src/models/openai.ts';
import { RetryPolicy } from '../../src/models/retry.ts';
import { FakeAnthropicServer } from '../fakes/anthropic-server.ts';
import { FakeOpenAIServer } from '../fakes/openai-server.ts';
import type { ScriptedServer } from '../fakes/scripted-server.ts';

const servers: ScriptedServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

const retry = RetryPolicy.parse({ attempts: 1, initialDelaySeconds: 0.01, maxDelaySeconds: 0.05, maxWaitSeconds: 5 });
const TOOLS: ToolSpec[] = [
  {
    name: 'read_file',
    description: 'Read a file',
    parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'], additionalProperties: false },
  },
  {
    name: 'submit',
    description: 'Hand in',
    parameters: { type: 'object', properties: { summary: { type: 'string' } }, required: ['summary'] },
  },
];

type Protocol = 'chat' | 'responses' | 'anthropic';

async function setUp(protocol: Protocol): Promise<{ server: FakeOpenAIServer | FakeAnthropicServer; model: ToolModel }> {
  if (protocol === 'anthropic') {
    const server = await FakeAnthropicServer.start({ apiKey: 'sk-ant', models: ['claude-fake'] });
    servers.push(server);
    const model = new AnthropicModel({
      model: 'claude-fake',
      baseURL: server.url,
      apiKey: 'sk-ant',
      keyVariable: 'ANTHROPIC_API_KEY',
      maxOutputTokens: 500,
      retry,
    });
    return { server, model };
  }
  const server = await FakeOpenAIServer.start({ apiKey: 'sk-oa', models: ['gpt-fake'] });
  servers.push(server);
  const model = new OpenAIModel({
    provider: 'openai-compatible',
    model: 'gpt-fake',
    baseURL: server.url,
    apiKey: 'sk-oa',
    keyVariable: 'OPENAI_API_KEY',
    maxOutputTokens: 500,
    maxTokensField: 'max_tokens',
    api: protocol,
    retry,
  });
  return { server, model };
}

describe.each(['chat', 'responses', 'anthropic'] as const)('tool calls over %s', (protocol) => {
  it('sends the tools, returns the calls, takes their results back and ends in text', async () => {
    const { server, model } = await setUp(protocol);
    server.reply(
      {
        text: 'Let me look.',
        toolCalls: [
          { name: 'read_file', arguments: { path: 'config.py' } },
          { name: 'read_file', arguments: { path: 'train.py' } },
        ],
      },
      { text: 'X is 0.5 in config.py.' },
    );
    const system = [{ text: 'You are a careful engineer.', cache: true }];
    const items: ConversationItem[] = [{ role: 'user', content: 'What is X?' }];
    const first = await model.converse({ system, items, tools: TOOLS });
    expect(first.finishReason).toBe('tool-calls');
    expect(first.text).toBe('Let me look.');
    expect(first.toolCalls.map((c) => [c.name, JSON.parse(c.arguments)])).toEqual([
      ['read_file', { path: 'config.py' }],
      ['read_file', { path: 'train.py' }],
    ]);
    expect(new Set(first.toolCalls.map((c) => c.id)).size).toBe(2);
    expect(first.usage.inputTokens).toBe(server.billed[0].input);
    expect(first.usage.outputTokens).toBe(server.billed[0].output);

    items.push(
      { role: 'assistant', content: first.text, toolCalls: first.toolCalls },
      { role: 'tool', callId: first.toolCalls[0].id, name: 'read_file', content: '1 | X = 0.5' },
      { role: 'tool', callId: first.toolCalls[1].id, name: 'read_file', content: 'no such file', isError: true },
    );
    const second = await model.converse({ system, items, tools: TOOLS });
    expect(second).toMatchObject({ text: 'X is 0.5 in config.py.', toolCalls: [], finishReason: 'stop' });
    expect(second.usage.inputTokens).toBe(server.billed[1].input);

    // What went over the wire, in the protocol's own terms.
    const [call1, call2] = server.calls;
    const ids = first.toolCalls.map((c) => c.id);
    if (protocol === 'chat') {
      expect(call1.path).toBe('/v1/chat/completions');
      expect(call1.body.tools[0]).toEqual({
        type: 'function',
        function: { name: 'read_file', description: 'Read a file', parameters: TOOLS[0].parameters },
      });
      expect(call2.body.messages.slice(2)).toEqual([
        {
          role: 'assistant',
          content: 'Let me look.',
          tool_calls: first.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })),
        },
        { role: 'tool', tool_call_id: ids[0], content: '1 | X = 0.5' },
        { role: 'tool', tool_call_id: ids[1], content: 'no such file' },
      ]);
    } else if (protocol === 'responses') {
      expect(call1.path).toBe('/v1/responses');
      expect(call1.body.instructions).toBe('You are a careful engineer.');
      expect(call1.body.tools[0]).toMatchObject({ type: 'function', name: 'read_file', parameters: TOOLS[0].parameters });
      expect(call2.body.input.slice(1)).toEqual([
        { role: 'assistant', content: 'Let me look.' },
        ...first.toolCalls.map((c) => ({ type: 'function_call', call_id: c.id, name: c.name, arguments: c.arguments })),
        { type: 'function_call_output', call_id: ids[0], output: '1 | X = 0.5' },
        { type: 'function_call_output', call_id: ids[1], output: 'no such file' },
      ]);
    } else {
      expect(call1.body.tools[0]).toEqual({ name: 'read_file', description: 'Read a file', input_schema: TOOLS[0].parameters });
      expect(call2.body.messages.slice(1)).toEqual([
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Let me look.' },
            { type: 'tool_use', id: ids[0], name: 'read_file', input: { path: 'config.py' } },
            { type: 'tool_use', id: ids[1], name: 'read_file', input: { path: 'train.py' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: ids[0], content: '1 | X = 0.5' },
            // The end of the conversation is marked for the prompt cache.
            { type: 'tool_result', tool_use_id: ids[1], content: 'no such file', is_error: true, cache_control: { type: 'ephemeral' } },
          ],
        },
      ]);
    }
  });

  it('a result that answers no call is refused by the server, and the adapter says so', async () => {
    const { server, model } = await setUp(protocol);
    server.reply({ text: 'never sent' });
    const items: ConversationItem[] = [
      { role: 'user', content: 'Go.' },
      { role: 'assistant', content: '', toolCalls: [{ id: 'call_a', name: 'submit', arguments: '{"summary":"x"}' }] },
      { role: 'tool', callId: 'call_b', name: 'submit', content: 'submitted' },
    ];
    await expect(model.converse({ system: 'S', items, tools: TOOLS })).rejects.toThrow(/400/);
  });
});

describe('the responses API for plain generation', () => {
  it('generate() goes through /v1/responses and normalises usage', async () => {
    const { server, model } = await setUp('responses');
    server.reply({ text: 'an idea' }, { text: 'cut', finish: 'length' });
    const first = await model.generate({ system: 'You are a researcher.', messages: [{ role: 'user', content: 'Propose.' }] });
    expect(first).toMatchObject({ text: 'an idea', finishReason: 'stop' });
    expect(first.usage).toMatchObject({ inputTokens: server.billed[0].input, cachedTokens: 0, outputTokens: server.billed[0].output });
    const second = await model.generate({ system: 'You are a researcher.', messages: [{ role: 'user', content: 'Again.' }] });
    expect(second.finishReason).toBe('length');
    expect(second.usage.cachedTokens).toBeGreaterThan(0); // the instructions were seen before
    expect(server.calls.map((c) => c.path)).toEqual(['/v1/responses', '/v1/responses']);
  });
});
