import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ModelError } from '../../src/core/errors.ts';
import { parseStructured, ReplyParseError } from '../../src/models/model.ts';
import { OpenAIModel, type OpenAIModelOptions } from '../../src/models/openai.ts';
import { ModelUnavailableError, RetryPolicy } from '../../src/models/retry.ts';
import { FakeOpenAIServer } from '../fakes/openai-server.ts';

const servers: FakeOpenAIServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

async function fake(options: ConstructorParameters<typeof FakeOpenAIServer>[0] = {}): Promise<FakeOpenAIServer> {
  const server = await FakeOpenAIServer.start({ apiKey: 'sk-test', models: ['gpt-5.6-terra'], ...options });
  servers.push(server);
  return server;
}

const FAST_RETRY = RetryPolicy.parse({ attempts: 4, initialDelaySeconds: 0.01, maxDelaySeconds: 0.05, maxWaitSeconds: 5 });

function model(server: FakeOpenAIServer, overrides: Partial<OpenAIModelOptions> = {}, retries: string[] = []): OpenAIModel {
  return new OpenAIModel({
    provider: 'openai-compatible',
    model: 'gpt-5.6-terra',
    baseURL: server.url,
    apiKey: 'sk-test',
    keyVariable: 'OPENAI_API_KEY',
    maxOutputTokens: 500,
    maxTokensField: 'max_tokens',
    retry: FAST_RETRY,
    onRetry: (line) => retries.push(line),
    ...overrides,
  });
}

const ask = { system: 'You are a researcher.', messages: [{ role: 'user' as const, content: 'Propose an idea.' }] };

describe('OpenAI adapter (chat completions, real openai client)', () => {
  it('sends the prompt and normalises usage: prompt tokens include cached ones, cost from the price table', async () => {
    const server = await fake();
    server.reply({ text: 'first' }, { text: 'second' });
    const m = model(server, { temperature: 0.7 });
    const first = await m.generate(ask);
    const second = await m.generate(ask);
    expect(first.text).toBe('first');
    expect(server.calls[0].body).toMatchObject({
      model: 'gpt-5.6-terra',
      max_tokens: 500,
      temperature: 0.7,
      messages: [
        { role: 'system', content: 'You are a researcher.' },
        { role: 'user', content: 'Propose an idea.' },
      ],
    });
    const [billed1, billed2] = server.billed;
    expect(first.usage).toMatchObject({ inputTokens: billed1.input, cachedTokens: 0, outputTokens: billed1.output });
    // The second call's system prompt came from the cache: still counted in inputTokens.
    expect(billed2.cached).toBeGreaterThan(0);
    expect(second.usage).toMatchObject({ inputTokens: billed2.input, cachedTokens: billed2.cached, outputTokens: billed2.output });
    // gpt-5.6-terra: $2 / M input, $0.20 / M cached, $12 / M output
    expect(second.usage.costUsd).toBeCloseTo(((billed2.input - billed2.cached) * 2 + billed2.cached * 0.2 + billed2.output * 12) / 1e6, 12);
  });

  it('retries a 429 after the retry-after the server asked for, then a 500, then a cut-off body', async () => {
    const server = await fake();
    server.reply(
      { status: 429, message: 'Rate limit reached', headers: { 'retry-after': '0.05' } },
      { status: 500, message: 'The server had an error' },
      { truncate: true, text: 'lost' },
      { text: 'finally' },
    );
    const retries: string[] = [];
    const result = await model(server, {}, retries).generate(ask);
    expect(result.text).toBe('finally');
    expect(server.calls).toHaveLength(4);
    expect(retries).toHaveLength(3);
    expect(retries[0]).toMatch(/429 from openai-compatible \(Rate limit reached\); retrying in 0\.\d s \(attempt 2 of 4\)/);
    expect(retries[1]).toMatch(/500 from openai-compatible/);
    expect(retries[2]).toMatch(/broke off or was garbled/);
    // Only the call that came through is billed.
    expect(result.usage.outputTokens).toBe(server.billed[0].output);
  });

  it('stops with one line naming the variable when the key is rejected, without retrying', async () => {
    const server = await fake();
    const error = await model(server, { apiKey: 'sk-wrong' })
      .generate(ask)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelError);
    expect((error as Error).message).toMatch(
      /^OPENAI_API_KEY was rejected by http:\/\/127\.0\.0\.1:\d+\/v1 \(401: Incorrect API key provided: sk-\*\*\*\..*\); set a valid key in OPENAI_API_KEY$/,
    );
    expect((error as Error).message).not.toContain('\n');
    expect((error as Error).message).not.toContain('sk-wrong');
    expect(server.calls).toHaveLength(1);
  });

  it('stops with one line naming the model when the server does not know it', async () => {
    const server = await fake();
    const error = await model(server, { model: 'gpt-9' })
      .generate(ask)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelError);
    expect((error as Error).message).toMatch(
      /^model "gpt-9" is unknown to .* \(404: The model `gpt-9` does not exist.*\); check the model name/,
    );
  });

  it('gives up at once when the server asks for a wait longer than the retry budget', async () => {
    const server = await fake();
    server.reply({ status: 429, headers: { 'retry-after': '3600' } });
    const error = await model(server)
      .generate(ask)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelUnavailableError);
    expect((error as Error).message).toMatch(/waiting 3600\.0 s more would pass the 5 s retry budget/);
    expect(server.calls).toHaveLength(1);
  });

  it('gives up after the last attempt, as a ModelError that stops the run', async () => {
    const server = await fake();
    server.respond(() => ({ status: 503, message: 'overloaded' }));
    const error = await model(server)
      .generate(ask)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelUnavailableError);
    expect(error).toBeInstanceOf(ModelError);
    expect((error as Error).message).toMatch(/gave up after 4 attempts \(last: 503 from openai-compatible \(overloaded\)\)/);
    expect(server.calls).toHaveLength(4);
  });

  it('stops waiting when the sweep is stopped', async () => {
    const server = await fake();
    server.reply({ status: 429, headers: { 'retry-after': '4' } });
    const controller = new AbortController();
    // Stop the sweep as the back-off wait begins (Ctrl-C during a 4 s retry-after).
    const m = model(server, { onRetry: () => controller.abort(new Error('stopped')) });
    await expect(m.generate({ ...ask, signal: controller.signal })).rejects.toThrow('stopped');
    expect(server.calls).toHaveLength(1);
  });

  it('asks the server which model it serves when none is configured', async () => {
    const single = await fake({ models: ['qwen2.5-coder'] });
    single.reply({ text: 'ok' });
    const m = model(single, { model: null });
    expect(await m.modelName()).toBe('qwen2.5-coder');
    await m.generate(ask);
    expect(single.calls[0].body.model).toBe('qwen2.5-coder');

    const several = await fake({ models: ['a', 'b'] });
    await expect(model(several, { model: null }).modelName()).rejects.toThrow(/serves 2 models \(a, b\); choose one with OPENAI_MODEL/);
  });

  it('checks the key before a sweep without spending tokens', async () => {
    const server = await fake();
    await model(server).check();
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v1/models/gpt-5.6-terra']);
    await expect(model(server, { apiKey: 'nope' }).check()).rejects.toThrow(ModelError);
    await expect(model(server, { model: 'gpt-9' }).check()).rejects.toThrow(/model "gpt-9" is unknown/);
  });

  it('parses structured replies and reports a reply that does not fit, with what it cost', async () => {
    const server = await fake();
    server.reply({ text: 'Here:\n```json\n{"title": "warmup", "score": 3}\n```' }, { text: '{"title": 5}' });
    const schema = z.object({ title: z.string(), score: z.number() });
    const m = model(server);
    expect(parseStructured((await m.generate(ask)).text, schema)).toEqual({ title: 'warmup', score: 3 });
    const unfit = await m.generate(ask);
    expect(unfit.usage.outputTokens).toBe(server.billed[1].output);
    const error = (() => {
      try {
        return parseStructured(unfit.text, schema);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ReplyParseError);
    expect((error as ReplyParseError).message).toMatch(/does not fit the schema/);
  });
});
