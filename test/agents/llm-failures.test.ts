/**
 * How a sweep with the LLM agent ends when money or the provider says stop, through the real
 * CLI against a loopback OpenAI-compatible server: --max-cost stops cleanly before the call that
 * would pass it; a bad key or unknown model stops with one line before anything is created; a
 * key that stops working mid-run stops the run, and `resume` finishes it without paying twice
 * for a reply it already has.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeOpenAIServer } from '../fakes/openai-server.ts';
import { byRole, callsOf, idea, setX } from '../fakes/researcher-replies.ts';
import { CLEAN_ENV, researcher, showJson } from './cli-harness.ts';

let dir: string;
let server: FakeOpenAIServer;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'llm-failures-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => server?.close());

async function start(): Promise<FakeOpenAIServer> {
  server = await FakeOpenAIServer.start({ apiKey: 'sk-local', models: ['qwen-local'] });
  return server;
}

const env = () => ({ ...CLEAN_ENV, OPENAI_BASE_URL: server.url, OPENAI_API_KEY: 'sk-local' });
const run = (runId: string, ...extra: string[]) => ['run', 'test/fixtures/quadratic', '--baseline-seeds', '1', '--confirm-seeds', '0', '--runs-dir', dir, '--run-id', runId, ...extra];

describe('spending and provider failures', () => {
  it('--max-cost stops the sweep cleanly before the call that could pass it', async () => {
    await start();
    // Output at $100 per million tokens and at most 100 output tokens: a call may cost $0.01;
    // each scripted reply is billed 20 output tokens ($0.002).
    const agentFile = path.join(dir, 'priced.yaml');
    writeFileSync(agentFile, 'name: priced\nmodel:\n  provider: openai-compatible\n  model: qwen-local\n  maxOutputTokens: 100\nprices:\n  qwen-local: { input: 0, output: 100 }\n');
    const billed = (reply: { text: string }) => ({ ...reply, usage: { output: 20 } });
    server.respond(byRole({ thinker: [billed(idea(2)), billed(idea(3))], coder: [billed(setX(2)), billed(setX(3))] }));

    const result = await researcher(run('budget', '--agent', agentFile, '--ideas', '3', '--max-cost', '0.015'), env());
    expect(result.code, result.stderr).toBe(0);
    // thinker 1 (0 + 0.01 ≤ 0.015), coder 1 (0.002 + 0.01), thinker 2 (0.004 + 0.01); coder 2 would be 0.006 + 0.01 > 0.015
    expect(callsOf(server.requests, 'thinker')).toHaveLength(2);
    expect(callsOf(server.requests, 'coder')).toHaveLength(1);
    const summary = await showJson(path.join(dir, 'budget'));
    expect(summary.usage.costUsd).toBeCloseTo(0.006, 10);
    expect(summary.usage.outputTokens).toBe(60);
    expect(summary.run.status).toBe('stopped');
    expect(summary.ideas.filter((i) => i.id > 0).map((i) => [i.id, i.status])).toEqual([
      [1, 'succeeded'],
      [2, 'proposed'], // left for `researcher resume --max-cost …` with more money
    ]);
  });

  it('--max-cost stops the agentic coder between its turns, before the turn that could pass it', async () => {
    await start();
    const agentFile = path.join(dir, 'priced-agent.yaml');
    writeFileSync(
      agentFile,
      'name: priced-agent\nmodel:\n  provider: openai-compatible\n  model: qwen-local\n  maxOutputTokens: 100\ncoder:\n  mode: agent\n  maxTurns: 40\nprices:\n  qwen-local: { input: 0, output: 100 }\n',
    );
    // A coder that keeps looking and never submits: only the budget can end it.
    const looking = { text: '', toolCalls: [{ name: 'list_files', arguments: {} }], usage: { output: 20 } };
    server.respond(byRole({ thinker: [{ ...idea(2), usage: { output: 20 } }], coder: Array.from({ length: 40 }, () => looking) }));

    const result = await researcher(run('agent-budget', '--agent', agentFile, '--ideas', '1', '--max-cost', '0.015'), env());
    expect(result.code, result.stderr).toBe(0);
    // thinker (0 + 0.01 ≤ 0.015), coder turn 1 (0.002 + 0.01), turn 2 (0.004 + 0.01); turn 3 would be 0.006 + 0.01 > 0.015
    expect(callsOf(server.requests, 'thinker')).toHaveLength(1);
    expect(callsOf(server.requests, 'coder')).toHaveLength(2);
    const summary = await showJson(path.join(dir, 'agent-budget'));
    expect(summary.usage.costUsd).toBeCloseTo(0.006, 10);
    expect(summary.run.status).toBe('stopped');
    expect(summary.ideas[1].status).toBe('proposed'); // left for `researcher resume --max-cost …` with more money
  });

  it('--max-cost with a model that has no price is refused before the run is created', async () => {
    await start();
    const result = await researcher(run('unpriced', '--agent', 'agents/openai-compatible.yaml', '--max-cost', '1'), { ...env(), OPENAI_MODEL: 'qwen-local' });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`error: --max-cost needs the price of model "qwen-local": add it under prices: in agents/openai-compatible.yaml (0 for a free local server)\n`);
    expect(existsSync(path.join(dir, 'unpriced'))).toBe(false);
  });

  it('a bad key stops at once with one line naming the variable, before anything is created', async () => {
    await start();
    const result = await researcher(run('badkey', '--agent', 'agents/openai-compatible.yaml'), { ...env(), OPENAI_API_KEY: 'sk-wrong' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: OPENAI_API_KEY was rejected by http:\/\/127\.0\.0\.1:\d+\/v1 \(401: Incorrect API key provided: sk-\*\*\*\. .*\); set a valid key in OPENAI_API_KEY\n$/);
    expect(result.stderr).not.toContain('sk-wrong');
    expect(server.calls).toHaveLength(0);
    expect(existsSync(path.join(dir, 'badkey'))).toBe(false);
  });

  it('an unknown model stops at once with one line naming it', async () => {
    await start();
    const result = await researcher(run('nomodel', '--agent', 'agents/openai-compatible.yaml'), { ...env(), OPENAI_MODEL: 'llama-99b' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: model "llama-99b" is unknown to http:\/\/127\.0\.0\.1:\d+\/v1 \(404: The model `llama-99b` does not exist or you do not have access to it\.\); check the model name \(model: in the agent file, or OPENAI_MODEL\) and the base URL\n$/);
    expect(existsSync(path.join(dir, 'nomodel'))).toBe(false);
  });

  it('a key that stops working mid-run stops it; resume finishes without paying twice for a reply it has', async () => {
    await start();
    server.respond(
      byRole({
        thinker: [idea(3)],
        coder: [
          { text: 'config.py\n<<<<<<< SEARCH\nX = 0.25\n=======\nX = 3\n>>>>>>> REPLACE\n' }, // does not apply: a repair round follows
          { status: 401, message: 'Incorrect API key provided: sk-***' },
          setX(3),
        ],
      }),
    );
    const first = await researcher(run('revoked', '--agent', 'agents/openai-compatible.yaml', '--ideas', '1', '--baseline-seeds', '1', '--confirm-seeds', '0'), env());
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(/^error: OPENAI_API_KEY was rejected by .*\(401: Incorrect API key provided: sk-\*\*\*\); set a valid key in OPENAI_API_KEY\n$/m);
    expect(callsOf(server.requests, 'coder')).toHaveLength(2);

    const resumed = await researcher(['resume', path.join(dir, 'revoked')], env());
    expect(resumed.code, resumed.stderr).toBe(0);
    // The first coder reply came from the run's response cache; only the repair call was sent again.
    expect(callsOf(server.requests, 'thinker')).toHaveLength(1);
    expect(callsOf(server.requests, 'coder')).toHaveLength(3);
    const summary = await showJson(path.join(dir, 'revoked'));
    expect(summary.ideas.find((i) => i.id === 1)).toMatchObject({ status: 'succeeded', reward: 10 });
    // Usage counts each paid call once.
    expect(summary.usage.outputTokens).toBe(server.billed.reduce((sum, u) => sum + u.output, 0));
  });
});
