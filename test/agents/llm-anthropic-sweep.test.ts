/**
 * A serial sweep with agents/anthropic.yaml against a loopback server that speaks the Anthropic
 * messages protocol (ANTHROPIC_BASE_URL), through the real CLI and the real @anthropic-ai/sdk
 * client: the stable prompt prefix is marked for caching, the server's cache reads and writes are
 * recorded as billed, and the run's cost follows the model's prices.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_PRICES, costOf } from '../../src/models/prices.ts';
import type { RunSummary } from '../../src/report/run-summary.ts';
import { FakeAnthropicServer } from '../fakes/anthropic-server.ts';
import { byRole, callsOf, idea, setX } from '../fakes/researcher-replies.ts';
import { CLEAN_ENV, type CliResult, researcher, showJson } from './cli-harness.ts';

let server: FakeAnthropicServer;
let runsDir: string;
let result: CliResult;
let summary: RunSummary;

beforeAll(async () => {
  server = await FakeAnthropicServer.start({ apiKey: 'sk-ant-local', models: ['claude-sonnet-5-5'] });
  server.respond(byRole({ thinker: [idea(4), idea(3)], coder: [setX(4), setX(3)] }));
  runsDir = mkdtempSync(path.join(tmpdir(), 'anthropic-sweep-'));
  result = await researcher(['run', 'test/fixtures/quadratic', '--agent', 'agents/anthropic.yaml', '--ideas', '2', '--baseline-seeds', '1', '--confirm-seeds', '0', '--runs-dir', runsDir, '--run-id', 'claude'], {
    ...CLEAN_ENV,
    ANTHROPIC_BASE_URL: server.url,
    ANTHROPIC_API_KEY: 'sk-ant-local',
  });
  summary = await showJson(path.join(runsDir, 'claude'));
});

afterAll(async () => {
  await server?.close();
  rmSync(runsDir, { recursive: true, force: true });
});

describe('a serial sweep driven by an Anthropic messages server', () => {
  it('runs the ideas and show --json lists them with their rewards', () => {
    expect(result.code, result.stderr).toBe(0);
    expect(summary.ideas.map((i) => [i.id, i.title, i.status, i.reward])).toEqual([
      [0, 'baseline', 'succeeded', 3.75],
      [1, 'X to 4', 'succeeded', 9],
      [2, 'X to 3', 'succeeded', 10],
    ]);
  });

  it('marks the stable prefix for the cache: the system prompt, and the coder’s view of the code', () => {
    const [thinker] = callsOf(server.requests, 'thinker');
    expect(thinker.body.system.at(-1).cache_control).toEqual({ type: 'ephemeral' });
    expect(thinker.body.system.map((b: { text: string }) => b.text).join('')).toContain('### config.py');
    const [coder] = callsOf(server.requests, 'coder');
    const parts = coder.body.messages[0].content;
    expect(parts[0].text).toMatch(/^## The code as it is now/);
    expect(parts[0].cache_control).toEqual({ type: 'ephemeral' });
    expect(parts[1].text).toMatch(/^## The idea to implement/);
    expect(parts[1].cache_control).toBeUndefined();
    expect(thinker.body).not.toHaveProperty('temperature');
  });

  it('records cache writes and reads as billed, with the cost at the model’s prices', () => {
    const total = { inputTokens: 0, cachedTokens: 0, cacheWriteTokens: 0, outputTokens: 0 };
    for (const u of server.billed) {
      total.inputTokens += u.input;
      total.cachedTokens += u.cached;
      total.cacheWriteTokens += u.cacheWrite;
      total.outputTokens += u.output;
    }
    expect(total.cacheWriteTokens).toBeGreaterThan(0);
    expect(total.cachedTokens).toBeGreaterThan(0);
    const price = BUILTIN_PRICES['claude-sonnet-5-5'];
    const cost = server.billed.reduce((sum, u) => sum + costOf({ inputTokens: u.input, cachedTokens: u.cached, cacheWriteTokens: u.cacheWrite, outputTokens: u.output }, price), 0);
    expect(summary.usage).toEqual({ ...total, costUsd: expect.closeTo(cost, 12) });
    expect(summary.usage.costUsd).toBeGreaterThan(0);
    expect(result.stdout).toMatch(/usage: .*\$0\.0\d+/);
  });
});
