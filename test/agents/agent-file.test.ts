import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BUNDLED_AGENTS_DIR, isCommandCoder, loadAgentFile, resolveAgentFile } from '../../src/agents/agent-file.ts';
import { createAgents, defaultAgentNotice, OFFLINE_AGENT, prepareAgent } from '../../src/agents/index.ts';
import { ConfigError } from '../../src/core/errors.ts';
import { PROVIDERS } from '../../src/models/providers/index.ts';
import { RetryPolicy } from '../../src/models/retry.ts';
import { FakeOpenAIServer } from '../fakes/openai-server.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'agent-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function agentFile(name: string, yaml: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, yaml);
  return file;
}

const bundled = (name: string) => path.join(BUNDLED_AGENTS_DIR, `${name}.yaml`);

describe('agent files', () => {
  it('loads the bundled Anthropic agent with its key, base URL and prompt templates', () => {
    const agent = loadAgentFile(bundled('anthropic'), { ANTHROPIC_API_KEY: 'sk-ant-1', ANTHROPIC_BASE_URL: 'http://127.0.0.1:9/' });
    expect(agent.offline).toBe(false);
    if (agent.offline) return;
    expect(agent.thinker).toMatchObject({ provider: 'anthropic', model: 'claude-sonnet-5-5', apiKey: 'sk-ant-1', keyVariable: 'ANTHROPIC_API_KEY', baseURL: 'http://127.0.0.1:9/', maxOutputTokens: 4000 });
    expect(agent.coder).toMatchObject({ maxOutputTokens: 16000, editFormat: 'search-replace' });
    expect(agent.thinker.prompts.system).toContain('{{task}}');
    if (isCommandCoder(agent.coder)) throw new Error('expected a model coder');
    expect(agent.coder.editFormatText).toContain('<<<<<<< SEARCH');
  });

  it('says which variable is missing, and offers the offline agent', () => {
    expect(() => loadAgentFile(bundled('openai'), {})).toThrow(
      new ConfigError(`${path.relative(process.cwd(), bundled('openai'))}: the thinker uses openai and OPENAI_API_KEY is not set; export it, or run with --agent offline`),
    );
    expect(() => loadAgentFile(bundled('anthropic'), {})).toThrow(/ANTHROPIC_API_KEY is not set/);
  });

  it('takes an OpenAI-compatible server from OPENAI_BASE_URL and OPENAI_MODEL, with no key needed', () => {
    expect(() => loadAgentFile(bundled('openai-compatible'), {})).toThrow(/neither baseUrl: nor OPENAI_BASE_URL says where it is/);
    const agent = loadAgentFile(bundled('openai-compatible'), { OPENAI_BASE_URL: 'http://127.0.0.1:8000/v1', OPENAI_MODEL: 'qwen' });
    if (agent.offline) throw new Error('expected an LLM agent');
    expect(agent.coder).toMatchObject({ provider: 'openai-compatible', model: 'qwen', apiKey: 'not-needed', options: { temperature: 0.2 } });
    const discovered = loadAgentFile(bundled('openai-compatible'), { OPENAI_BASE_URL: 'http://127.0.0.1:8000/v1' });
    if (discovered.offline) throw new Error('expected an LLM agent');
    expect(discovered.thinker.model).toBeNull(); // asked of the server on first use
  });

  it('refuses settings a provider does not take, and unknown fields, naming the field', () => {
    const withTemperature = agentFile('t.yaml', 'name: t\nmodel: { provider: anthropic, model: claude-sonnet-5-5 }\nthinker: { temperature: 0.5 }\n');
    expect(() => loadAgentFile(withTemperature, { ANTHROPIC_API_KEY: 'k' })).toThrow(/thinker: Anthropic's current models take no temperature or topP/);
    const typo = agentFile('typo.yaml', 'name: typo\nmodel: { provider: openai, model: gpt-5.6-terra, maxOutputToken: 10 }\n');
    expect(() => loadAgentFile(typo, { OPENAI_API_KEY: 'k' })).toThrow(/typo.yaml: model: Unrecognized key: "maxOutputToken"/);
    const noProvider = agentFile('np.yaml', 'name: np\n');
    expect(() => loadAgentFile(noProvider, {})).toThrow(/thinker.provider: say which provider the thinker uses \(openai, anthropic or openai-compatible\)/);
    const effort = agentFile('e.yaml', 'name: e\nmodel: { provider: openai, model: gpt-5.6-terra }\ncoder: { effort: high }\n');
    expect(() => loadAgentFile(effort, { OPENAI_API_KEY: 'k' })).toThrow(/e.yaml: coder: effort is for Anthropic models; OpenAI reasoning models take reasoningEffort/);
    const tokensField = agentFile('f.yaml', 'name: f\nmodel: { provider: anthropic, model: claude-sonnet-5-5, maxTokensField: max_tokens }\n');
    expect(() => loadAgentFile(tokensField, { ANTHROPIC_API_KEY: 'k' })).toThrow(/f.yaml: thinker: anthropic takes no maxTokensField; remove it/);
    const unknownProvider = agentFile('u.yaml', 'name: u\nmodel: { provider: gemini, model: g }\n');
    expect(() => loadAgentFile(unknownProvider, {})).toThrow(/u.yaml: model.provider: .*"openai"\|"anthropic"\|"openai-compatible"/);
    const badValue = agentFile('b.yaml', 'name: b\nmodel: { provider: openai, model: m, temperature: 7 }\n');
    expect(() => loadAgentFile(badValue, { OPENAI_API_KEY: 'k' })).toThrow(/b.yaml: model.temperature/);
  });

  it('reads prompt templates beside the agent file, and refuses placeholders it cannot fill', async () => {
    mkdirSync(path.join(dir, 'mine'), { recursive: true });
    writeFileSync(path.join(dir, 'mine', 'system.md'), 'You are a research scientist. Task: {{task}}. Also {{weather}}.');
    const file = agentFile('custom.yaml', 'name: custom\nmodel: { provider: openai-compatible, baseUrl: "http://127.0.0.1:1/v1", model: m }\nthinker:\n  prompts: { system: mine/system.md, user: prompts/thinker-user.md }\n');
    const agent = loadAgentFile(file, {});
    if (agent.offline) throw new Error('expected an LLM agent');
    expect(agent.thinker.prompts.system).toContain('{{weather}}');
    await expect(createAgents(file)).rejects.toThrow(/thinker prompt mine\/system.md: unknown placeholder \{\{weather\}\}; the template can use: \{\{task\}\}/);
  });

  it('resolves bundled agents by name, and the offline agent file to the offline agent', async () => {
    expect(resolveAgentFile('anthropic')).toBe(bundled('anthropic'));
    expect(() => resolveAgentFile('gemini')).toThrow(/agent "gemini" not found: give an agent file .* or a bundled agent: offline, anthropic, openai, openai-compatible/);
    expect((await createAgents(bundled('offline'))).name).toBe(OFFLINE_AGENT);
  });
});

describe('the provider registry', () => {
  it('builds each provider\'s own model (no provider falls through to another), loading its SDK only then', async () => {
    const options = { retry: RetryPolicy.parse({}) };
    for (const provider of Object.values(PROVIDERS)) {
      const model = await provider.create(
        { provider: provider.name, model: 'm', baseURL: 'http://127.0.0.1:9', apiKey: 'k', keyVariable: provider.keyVariable, maxOutputTokens: 10, options: provider.settings.parse({}) },
        options,
      );
      expect(model.provider).toBe(provider.name);
      expect(await model.modelName()).toBe('m');
    }
  });

  it('sends the token limit in each OpenAI provider\'s field: max_completion_tokens for api.openai.com, max_tokens for compatible servers', async () => {
    const server = await FakeOpenAIServer.start({ apiKey: 'k', models: ['m'] });
    try {
      server.reply({ text: 'a' }, { text: 'b' });
      for (const name of ['openai', 'openai-compatible']) {
        const provider = PROVIDERS[name];
        const role = { provider: name, model: 'm', baseURL: server.url, apiKey: 'k', keyVariable: 'K', maxOutputTokens: 10, options: provider.settings.parse({}) };
        await (await provider.create(role, { retry: RetryPolicy.parse({}) })).generate({ system: 's', messages: [{ role: 'user', content: 'u' }] });
      }
      expect(server.calls.map((call) => [call.body.max_completion_tokens, call.body.max_tokens])).toEqual([
        [10, undefined],
        [undefined, 10],
      ]);
    } finally {
      await server.close();
    }
  });
});

describe('the default agent', () => {
  it('is offline, in one line that says why — even when a key is set', async () => {
    expect(defaultAgentNotice({})).toBe('agent: offline (knob search, no model calls): neither OPENAI_API_KEY nor ANTHROPIC_API_KEY is set');
    expect(defaultAgentNotice({ ANTHROPIC_API_KEY: 'k' })).toBe('agent: offline (knob search, no model calls); --agent anthropic uses ANTHROPIC_API_KEY');
    const lines: string[] = [];
    expect(await prepareAgent(undefined, null, (line) => lines.push(line))).toBe(OFFLINE_AGENT);
    expect(lines).toHaveLength(1);
  });
});
