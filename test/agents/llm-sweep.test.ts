/**
 * A full serial sweep with the LLM agent on an OpenAI-compatible server, through the real CLI
 * (`researcher run … --agent agents/openai-compatible.yaml`, then `show --json`): the real
 * openai client talks to a loopback server that speaks chat completions and answers from a
 * script — a rate limit and a server error on the way, a diff that needs a repair round, and a
 * thinker whose replies never parse.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunSummary } from '../../src/report/run-summary.ts';
import { FakeOpenAIServer } from '../fakes/openai-server.ts';
import { byRole, callsOf, idea, messagesOf, setX } from '../fakes/researcher-replies.ts';
import { CLEAN_ENV, type CliResult, researcher, showJson } from './cli-harness.ts';

const WRONG_DIFF = { text: '```diff\n--- a/config.py\n+++ b/config.py\n@@ -1,2 +1,2 @@\n-X = 0.25\n+X = 3\n```\n' };

let server: FakeOpenAIServer;
let runsDir: string;
let result: CliResult;
let summary: RunSummary;

beforeAll(async () => {
  server = await FakeOpenAIServer.start({ apiKey: 'sk-local', models: ['qwen-local'] });
  server.respond(
    byRole({
      thinker: [
        idea(2),
        { status: 429, message: 'Rate limit reached for requests', headers: { 'retry-after': '0.05' } },
        { status: 500, message: 'The server had an error while processing your request' },
        idea(3),
        // Idea 3: three replies that cannot be read (the agent file allows two retries).
        { text: 'I think we should raise X a little.' },
        { text: '{"title": "", "hypothesis": "bigger"}' },
        { text: '```json\n{"title": "X to 5", "hypothesis": \n```' },
      ],
      coder: [setX(2), WRONG_DIFF, setX(3)],
    }),
  );
  runsDir = mkdtempSync(path.join(tmpdir(), 'llm-sweep-'));
  result = await researcher(['run', 'test/fixtures/quadratic', '--agent', 'agents/openai-compatible.yaml', '--ideas', '3', '--baseline-seeds', '1', '--confirm-seeds', '0', '--runs-dir', runsDir, '--run-id', 'sweep'], {
    ...CLEAN_ENV,
    OPENAI_BASE_URL: server.url,
    OPENAI_API_KEY: 'sk-local',
  });
  summary = await showJson(path.join(runsDir, 'sweep'));
});

afterAll(async () => {
  await server?.close();
  rmSync(runsDir, { recursive: true, force: true });
});

describe('a serial sweep driven by an OpenAI-compatible server', () => {
  it('runs to the end and show --json lists the ideas with their rewards', () => {
    expect(result.code, result.stderr).toBe(0);
    const ideas = summary.ideas.map((i) => ({ id: i.id, title: i.title, status: i.status, reward: i.reward, failureReason: i.failureReason }));
    expect(ideas).toEqual([
      { id: 0, title: 'baseline', status: 'succeeded', reward: 3.75, failureReason: null },
      { id: 1, title: 'X to 2', status: 'succeeded', reward: 9, failureReason: null },
      { id: 2, title: 'X to 3', status: 'succeeded', reward: 10, failureReason: null },
      { id: 3, title: expect.any(String), status: 'failed', reward: null, failureReason: 'agent-error' },
    ]);
    expect(summary.best).toMatchObject({ id: 2, reward: 10 });
    expect(summary.run.agent).toBe(path.resolve('agents/openai-compatible.yaml'));
  });

  it('records usage exactly as the server billed it', () => {
    const billed = server.billed.reduce(
      (sum, u) => ({ inputTokens: sum.inputTokens + u.input, cachedTokens: sum.cachedTokens + u.cached, outputTokens: sum.outputTokens + u.output }),
      { inputTokens: 0, cachedTokens: 0, outputTokens: 0 },
    );
    expect(summary.usage).toEqual({ ...billed, cacheWriteTokens: 0, costUsd: 0 }); // a local server: no price, no cost
    expect(summary.usage.cachedTokens).toBeGreaterThan(0); // the stable prompt prefix came from the server's cache
    // Each idea's share adds up to the run's.
    expect(summary.ideas.reduce((sum, i) => sum + i.usage.inputTokens, 0)).toBe(billed.inputTokens);
  });

  it('retries a rate limit (after its retry-after) and a server error, and says so', () => {
    const thinkerStatuses = callsOf(server.requests, 'thinker').length;
    expect(thinkerStatuses).toBe(7); // 2 ideas + 429 + 500 + 3 unreadable replies
    expect(result.stderr).toMatch(/openai-compatible qwen-local at http:\/\/127\.0\.0\.1:\d+\/v1: 429 from openai-compatible \(Rate limit reached for requests\); retrying in/);
    expect(result.stderr).toMatch(/500 from openai-compatible/);
  });

  it('shows the thinker the run so far, so serial search learns from it', () => {
    const second = messagesOf(callsOf(server.requests, 'thinker')[1]);
    expect(second[0].text).toContain('Baseline (the unmodified code): reward 3.75.');
    expect(second[0].text).toContain('#1 "X to 2": reward 9, +5.25 vs baseline (better)');
    expect(second[0].text).toContain('+X = 2');
    const third = messagesOf(callsOf(server.requests, 'thinker')[4]);
    expect(third[0].text).toMatch(/Best ideas so far[\s\S]*#2 "X to 3": reward 10[\s\S]*#1 "X to 2": reward 9/);
  });

  it('sends a diff that did not apply back to the coder with what the file really says', () => {
    const coderCalls = callsOf(server.requests, 'coder');
    expect(coderCalls).toHaveLength(3);
    const repair = messagesOf(coderCalls[2]);
    expect(repair.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(repair[1].text).toContain('-X = 0.25');
    expect(repair[2].text).toContain('hunk 1 of config.py (@@ -1,2 +1,2 @@) does not match the file');
    expect(repair[2].text).toContain('1 | X = 0.5');
    const idea2 = summary.ideas.find((i) => i.id === 2)!;
    expect(idea2.status).toBe('succeeded');
  });

  it('retries unreadable thinker replies with the reason, then records the idea as failed with agent-error', () => {
    const thinkerCalls = callsOf(server.requests, 'thinker');
    const lastTry = messagesOf(thinkerCalls[6]);
    expect(lastTry.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user']);
    expect(lastTry[2].text).toMatch(/^Your reply could not be used: the reply holds no JSON object/);
    expect(lastTry[4].text).toMatch(/the JSON does not fit the schema:\n✖ Too small: expected string to have >=1 characters\n {2}→ at title/);
    const failed = summary.ideas.find((i) => i.id === 3)!;
    expect(failed.error).toMatch(/^the thinker failed: its reply held no usable JSON object after 3 attempt\(s\): the JSON does not parse/);
  });
});
