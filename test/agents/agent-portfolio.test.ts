/**
 * Agent files that list several thinker models (`thinker.models`, a model portfolio): how each
 * model's settings are merged, what a portfolio defaults to, what is refused and how it is said,
 * and that each model is checked with its server before a sweep starts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAgentFile } from '../../src/agents/agent-file.ts';
import { createAgents } from '../../src/agents/index.ts';
import { FakeOpenAIServer } from '../fakes/openai-server.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'agent-portfolio-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function agentFile(name: string, yaml: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, yaml);
  return file;
}

const SERVER = 'model: { provider: openai-compatible, baseUrl: "http://127.0.0.1:1/v1" }\n';

describe('a thinker with several models', () => {
  it('merges each model’s settings over the thinker’s and the shared ones, with weights and the policy', () => {
    const file = agentFile(
      'two.yaml',
      `name: two\n${SERVER}thinker:\n  temperature: 0.8\n  maxOutputTokens: 999\n  models:\n    - { model: alpha, weight: 2 }\n    - { model: beta, baseUrl: "http://127.0.0.1:2/v1", temperature: 0.1 }\n  portfolio: { policy: thompson, perDollar: true }\ncoder: { model: coder-model }\n`,
    );
    const agent = loadAgentFile(file, {});
    if (agent.offline) throw new Error('expected an LLM agent');
    const [alpha, beta] = agent.thinkerPortfolio!.models;
    expect(alpha).toMatchObject({ weight: 2, settings: { role: 'thinker', model: 'alpha', baseURL: 'http://127.0.0.1:1/v1', maxOutputTokens: 999, options: { temperature: 0.8 } } });
    expect(beta).toMatchObject({ weight: 1, settings: { model: 'beta', baseURL: 'http://127.0.0.1:2/v1', maxOutputTokens: 999, options: { temperature: 0.1 } } });
    expect(agent.thinkerPortfolio).toMatchObject({ role: 'thinker', policy: 'thompson', perDollar: true, exploration: 1 });
    expect(agent.thinker.model).toBe('alpha'); // the first model stands for the thinker where one is needed
    expect(agent.coder).toMatchObject({ model: 'coder-model' });
  });

  it('defaults to UCB, not per dollar; one listed model is a plain thinker', () => {
    const two = loadAgentFile(agentFile('default.yaml', `name: d\n${SERVER}thinker: { models: [{ model: a }, { model: b }] }\ncoder: { model: c }\n`), {});
    if (two.offline) throw new Error('expected an LLM agent');
    expect(two.thinkerPortfolio).toMatchObject({ policy: 'ucb', perDollar: false, exploration: 1 });
    const one = loadAgentFile(agentFile('one.yaml', `name: o\n${SERVER}thinker: { models: [{ model: solo }] }\ncoder: { model: c }\n`), {});
    if (one.offline) throw new Error('expected an LLM agent');
    expect(one.thinkerPortfolio).toBeNull();
    expect(one.thinker.model).toBe('solo');
  });

  it('refuses what cannot be meant, in one line naming the field', () => {
    const refused = (yaml: string) => () => loadAgentFile(agentFile('bad.yaml', `name: bad\n${SERVER}${yaml}`), {});
    expect(refused('thinker: { models: [{ model: a }, { model: a }] }\n')).toThrow(/bad.yaml: thinker.models: "a" is listed twice; list each model once/);
    expect(refused('thinker: { model: a, portfolio: { policy: ucb } }\n')).toThrow(/bad.yaml: thinker.portfolio: list the models to choose among under thinker.models/);
    expect(refused('thinker: { model: x, models: [{ model: a }, { model: b }] }\n')).toThrow(/bad.yaml: thinker: give either model: or models:, not both/);
    expect(refused('thinker: { models: [{ model: a }], portfolio: {} }\n')).toThrow(/thinker.portfolio: there is only one model to choose from/);
    expect(refused('thinker: { models: [{ model: a }, { model: b }], portfolio: { policy: greedy } }\n')).toThrow(/bad.yaml: thinker.portfolio.policy: .*"ucb"\|"thompson"/);
    expect(refused('thinker: { models: [{ model: a, weight: 0 }, { model: b }] }\n')).toThrow(/bad.yaml: thinker.models.0.weight/);
    expect(refused('thinker: { models: [{ weight: 2 }, { model: b }] }\n')).toThrow(/bad.yaml: thinker.models.0.model/);
    expect(refused('thinker: { models: [] }\n')).toThrow(/bad.yaml: thinker.models/);
    expect(refused('coder: { models: [{ model: a }] }\n')).toThrow(/bad.yaml: coder.models: a model portfolio is for the thinker only: give the coder one model/);
  });

  it('gives the sweep the models and weights, and checks every model with its server', async () => {
    const server = await FakeOpenAIServer.start({ models: ['alpha', 'beta', 'coder-model'] });
    try {
      const yaml = (second: string) =>
        `name: p\nmodel: { provider: openai-compatible, baseUrl: "${server.url}" }\nthinker: { models: [{ model: alpha, weight: 3 }, { model: ${second} }] }\ncoder: { model: coder-model }\n`;
      const agents = await createAgents(agentFile('served.yaml', yaml('beta')));
      expect(agents.portfolio).toEqual({
        role: 'thinker',
        policy: 'ucb',
        perDollar: false,
        exploration: 1,
        models: [
          { model: 'alpha', weight: 3 },
          { model: 'beta', weight: 1 },
        ],
      });
      await agents.check!();
      const unserved = await createAgents(agentFile('unserved.yaml', yaml('gamma')));
      await expect(unserved.check!()).rejects.toThrow(/gamma/);
      await expect(unserved.check!({ maxCostUsd: 1 })).rejects.toThrow(/gamma/);
    } finally {
      await server.close();
    }
  });
});
