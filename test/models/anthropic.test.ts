import { afterEach, describe, expect, it } from 'vitest';
import { ModelError } from '../../src/core/errors.ts';
import { AnthropicModel, type AnthropicModelOptions } from '../../src/models/anthropic.ts';
import { RetryPolicy } from '../../src/models/retry.ts';
import { FakeAnthropicServer } from '../fakes/anthropic-server.ts';

const servers: FakeAnthropicServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

async function fake(): Promise<FakeAnthropicServer> {
  const server = await FakeAnthropicServer.start({ apiKey: 'sk-ant-test', models: ['claude-sonnet-5-5'] });
  servers.push(server);
  return server;
}

function model(server: FakeAnthropicServer, overrides: Partial<AnthropicModelOptions> = {}, retries: string[] = []): AnthropicModel {
  return new AnthropicModel({
    model: 'claude-sonnet-5-5',
    baseURL: server.url,
    apiKey: 'sk-ant-test',
    keyVariable: 'ANTHROPIC_API_KEY',
    maxOutputTokens: 1000,
    retry: RetryPolicy.parse({ attempts: 4, initialDelaySeconds: 0.01, maxDelaySeconds: 0.05, maxWaitSeconds: 5 }),
    onRetry: (line) => retries.push(line),
    ...overrides,
  });
}

const prompt = {
  system: [{ text: 'You are a researcher. The environment: a tiny GRPO trainer.', cache: true }],
  messages: [{ role: 'user' as const, content: [{ text: 'The code: train.py …', cache: true }, { text: 'Propose idea 1.' }] }],
};

describe('Anthropic adapter (messages API, streamed, real @anthropic-ai/sdk client)', () => {
  it('marks the stable prefix for caching and normalises usage: input includes cache reads and writes', async () => {
    const server = await fake();
    server.reply({ text: 'idea one' }, { text: 'idea two' });
    const m = model(server);
    const first = await m.generate(prompt);
    const second = await m.generate({
      ...prompt,
      messages: [{ role: 'user', content: [prompt.messages[0].content[0], { text: 'Propose idea 2.' }] }],
    });
    expect(first.text).toBe('idea one');
    const body = server.calls[0].body;
    expect(body.stream).toBe(true);
    expect(body.max_tokens).toBe(1000);
    expect(body.temperature).toBeUndefined();
    expect(body.system).toEqual([{ type: 'text', text: prompt.system[0].text, cache_control: { type: 'ephemeral' } }]);
    expect(body.messages[0].content).toEqual([
      { type: 'text', text: 'The code: train.py …', cache_control: { type: 'ephemeral' } },
      { type: 'text', text: 'Propose idea 1.' },
    ]);
    expect(server.calls[0].headers.authorization).toBe('Bearer sk-ant-test');
    expect(server.calls[0].headers['anthropic-version']).toBeTruthy();

    const [billed1, billed2] = server.billed;
    expect(billed1.cacheWrite).toBeGreaterThan(0);
    expect(first.usage).toMatchObject({
      inputTokens: billed1.input,
      cachedTokens: 0,
      cacheWriteTokens: billed1.cacheWrite,
      outputTokens: billed1.output,
    });
    expect(billed2.cached).toBeGreaterThan(0);
    expect(second.usage).toMatchObject({
      inputTokens: billed2.input,
      cachedTokens: billed2.cached,
      cacheWriteTokens: 0,
      outputTokens: billed2.output,
    });
    // claude-sonnet-5-5: $2 / M input, $2.50 / M cache write, $0.10 / M cache read, $10 / M output
    const fresh = billed1.input - billed1.cacheWrite;
    expect(first.usage.costUsd).toBeCloseTo((fresh * 2 + billed1.cacheWrite * 2.5 + billed1.output * 10) / 1e6, 12);
  });

  it('retries 529 overloaded, a 429 with retry-after and a stream that breaks off', async () => {
    const server = await fake();
    server.reply(
      { status: 529, message: 'Overloaded' },
      { status: 429, headers: { 'retry-after': '0.02' } },
      { truncate: true, text: 'half of a long reply' },
      { text: 'whole' },
    );
    const retries: string[] = [];
    const result = await model(server, {}, retries).generate(prompt);
    expect(result.text).toBe('whole');
    expect(retries.map((line) => line.replace(/;.*/, ''))).toEqual([
      expect.stringMatching(/529 from anthropic \(Overloaded\)$/),
      expect.stringMatching(/429 from anthropic/),
      expect.stringMatching(/broke off or was garbled/),
    ]);
    expect(result.usage.outputTokens).toBe(server.billed[0].output);
  });

  it('stops with one line naming the variable when the key is rejected, and the model when unknown', async () => {
    const server = await fake();
    const bad = await model(server, { apiKey: 'sk-ant-wrong' })
      .generate(prompt)
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ModelError);
    expect((bad as Error).message).toMatch(
      /^ANTHROPIC_API_KEY was rejected by http:\/\/127\.0\.0\.1:\d+ \(401: invalid x-api-key\); set a valid key in ANTHROPIC_API_KEY$/,
    );
    const unknown = await model(server, { model: 'claude-nope' })
      .generate(prompt)
      .catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(ModelError);
    expect((unknown as Error).message).toMatch(/^model "claude-nope" is unknown to .* \(404: model: claude-nope\)/);
    await expect(model(server, { model: 'claude-nope' }).check()).rejects.toThrow(/model "claude-nope" is unknown/);
    await model(server).check();
  });

  it('says when the reply was cut off at the output limit', async () => {
    const server = await fake();
    server.reply({ text: '{"title": "warm', finish: 'length' });
    expect((await model(server).generate(prompt)).finishReason).toBe('length');
  });
});
