import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BUNDLED_AGENTS_DIR, loadAgentFile, resolveAgentFile } from '../../src/agents/agent-file.ts';
import { createAgents, defaultAgentNotice, OFFLINE_AGENT, prepareAgent } from '../../src/agents/index.ts';
import { ConfigError } from '../../src/core/errors.ts';

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
    expect(agent.coder).toMatchObject({ provider: 'openai-compatible', model: 'qwen', apiKey: 'not-needed', maxTokensField: 'max_tokens', temperature: 0.2 });
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
    expect(() => loadAgentFile(noProvider, {})).toThrow(/thinker.provider: say which provider/);
  });

  it('reads prompt templates beside the agent file, and refuses placeholders it cannot fill', () => {
    mkdirSync(path.join(dir, 'mine'), { recursive: true });
    writeFileSync(path.join(dir, 'mine', 'system.md'), 'You are a research scientist. Task: {{task}}. Also {{weather}}.');
    const file = agentFile('custom.yaml', 'name: custom\nmodel: { provider: openai-compatible, baseUrl: "http://127.0.0.1:1/v1", model: m }\nthinker:\n  prompts: { system: mine/system.md, user: prompts/thinker-user.md }\n');
    const agent = loadAgentFile(file, {});
    if (agent.offline) throw new Error('expected an LLM agent');
    expect(agent.thinker.prompts.system).toContain('{{weather}}');
    expect(() => createAgents(file)).toThrow(/thinker prompt mine\/system.md: unknown placeholder \{\{weather\}\}; the template can use: \{\{task\}\}/);
  });

  it('resolves bundled agents by name, and the offline agent file to the offline agent', () => {
    expect(resolveAgentFile('anthropic')).toBe(bundled('anthropic'));
    expect(() => resolveAgentFile('gemini')).toThrow(/agent "gemini" not found: give an agent file .* or a bundled agent: offline, anthropic, openai, openai-compatible/);
    expect(createAgents(bundled('offline')).name).toBe(OFFLINE_AGENT);
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
