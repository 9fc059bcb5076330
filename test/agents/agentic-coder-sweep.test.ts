/**
 * Serial sweeps with the agentic coder (`coder: { mode: agent }`) through the real CLI, on the
 * real SDKs against loopback servers speaking OpenAI chat completions and Anthropic messages
 * tool calls. The scripted coder works the way a model does: it lists and reads files, writes an
 * edit that does not apply and reads why, fixes it, runs the (absent) smoke step and submits; it
 * tries to read outside the code and to edit a protected file and is told no; it runs out of
 * turns with a change (handed in) and without one (the idea fails with the reason).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunSummary } from '../../src/report/run-summary.ts';
import { FakeAnthropicServer } from '../fakes/anthropic-server.ts';
import { FakeOpenAIServer } from '../fakes/openai-server.ts';
import { byRole, callsOf, idea, messagesOf } from '../fakes/researcher-replies.ts';
import type { Reply } from '../fakes/scripted-server.ts';
import { CLEAN_ENV, type CliResult, researcher, showJson } from './cli-harness.ts';

const block = (search: string, replace: string) => `config.py\n<<<<<<< SEARCH\n${search}\n=======\n${replace}\n>>>>>>> REPLACE\n`;
const calls = (...toolCalls: { name: string; arguments: Record<string, unknown> }[]): Reply => ({ text: '', toolCalls });

const CODER: Reply[] = [
  // Idea 1: reads, a wrong edit, the right one, the smoke step, submit.
  calls({ name: 'list_files', arguments: {} }, { name: 'read_file', arguments: { path: 'config.py' } }),
  calls({ name: 'apply_edit', arguments: { edit: block('X = 0.25', 'X = 3') } }),
  calls({ name: 'apply_edit', arguments: { edit: block('X = 0.5', 'X = 3') } }),
  calls({ name: 'run_smoke', arguments: {} }),
  calls({ name: 'submit', arguments: { summary: 'X set to 3' } }),
  // Idea 2: out of the code, a protected file, then a change and no submit: the turns run out.
  calls({ name: 'read_file', arguments: { path: '../evaluator/answer.json' } }, { name: 'search', arguments: { pattern: 'X =' } }),
  { text: '', toolCalls: [{ name: 'apply_edit', arguments: { edit: 'data/public.json\n<<<<<<< SEARCH\n=======\n{}\n>>>>>>> REPLACE\n' } }] },
  calls({ name: 'apply_edit', arguments: { edit: block('X = 0.5', 'X = 2') } }),
  { text: 'I think that is it.' },
  { text: 'Yes, that is it.' },
  // Idea 3: talks, submits nothing, never edits.
  { text: 'Let me think.' },
  { text: 'Still thinking.' },
  calls({ name: 'submit', arguments: { summary: 'nothing' } }),
  { text: 'Done?' },
  { text: 'Done.' },
];

function agentFile(dir: string, protocol: 'chat' | 'anthropic'): string {
  const file = path.join(dir, `agentic-${protocol}.yaml`);
  const model = protocol === 'chat' ? '{ provider: openai-compatible, model: qwen-local }' : '{ provider: anthropic, model: claude-fake }';
  writeFileSync(file, `name: agentic\nmodel: ${model}\ncoder:\n  mode: agent\n  maxTurns: 5\n  maxTokens: 1000000\n`);
  return file;
}

describe.each(['chat', 'anthropic'] as const)('a sweep with the agentic coder over %s tool calls', (protocol) => {
  let server: FakeOpenAIServer | FakeAnthropicServer;
  let runsDir: string;
  let result: CliResult;
  let summary: RunSummary;
  let exported: { idea: number; model_calls: { role: string; prompt: unknown; reply: string }[] }[];

  beforeAll(async () => {
    server = protocol === 'chat' ? await FakeOpenAIServer.start({ models: ['qwen-local'] }) : await FakeAnthropicServer.start({ models: ['claude-fake'] });
    server.respond(byRole({ thinker: [idea(3), idea(2), idea(5)], coder: [...CODER] }));
    runsDir = mkdtempSync(path.join(tmpdir(), `agentic-${protocol}-`));
    const env =
      protocol === 'chat'
        ? { ...CLEAN_ENV, OPENAI_BASE_URL: server.url }
        : { ...CLEAN_ENV, ANTHROPIC_BASE_URL: server.url };
    result = await researcher(['run', 'test/fixtures/quadratic', '--agent', agentFile(runsDir, protocol), '--ideas', '3', '--baseline-seeds', '1', '--confirm-seeds', '0', '--runs-dir', runsDir, '--run-id', 'r'], env);
    summary = await showJson(path.join(runsDir, 'r'));
    const lines = await researcher(['export', path.join(runsDir, 'r')]);
    exported = lines.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
  });

  afterAll(async () => {
    await server?.close();
    rmSync(runsDir, { recursive: true, force: true });
  });

  it('runs the ideas the agent coded, and fails the one it never changed', () => {
    expect(result.code, result.stderr).toBe(0);
    expect(summary.ideas.map((i) => [i.id, i.status, i.reward, i.failureReason])).toEqual([
      [0, 'succeeded', 3.75, null],
      [1, 'succeeded', 10, null],
      [2, 'succeeded', 9, null],
      [3, 'failed', null, 'patch-failed'],
    ]);
    expect(summary.ideas[3].error).toBe('the agentic coder used its 5 turns without changing the code');
  });

  it('gives each tool its result: the files, the applier’s exact failure, no smoke step', () => {
    const coder = callsOf(server.requests, 'coder');
    expect(coder.length).toBe(5 + 5 + 5);
    const tools = (n: number) => messagesOf(coder[n]).filter((m) => m.role === 'tool' || m.role === 'user').map((m) => m.text);
    const afterReads = tools(1).join('\n');
    expect(afterReads).toMatch(/config\.py \(\d+ bytes\)/);
    expect(afterReads).toContain('config.py (1 lines)\n1 | X = 0.5');
    const afterWrongEdit = tools(2).at(-1)!;
    expect(afterWrongEdit).toMatch(/^not applied, nothing was changed:\n/);
    expect(afterWrongEdit).toContain('X = 0.5'); // what the file really says
    expect(tools(3).at(-1)).toBe('applied: config.py changed');
    expect(tools(4).at(-1)).toMatch(/^no smoke step declared/);
  });

  it('keeps reads inside the code and edits inside the editable files', () => {
    const coder = callsOf(server.requests, 'coder');
    const idea2 = (n: number) => messagesOf(coder[5 + n]).map((m) => m.text);
    expect(idea2(1).join('\n')).toContain('../evaluator/answer.json: the path climbs out of the code with ".."');
    expect(idea2(1).join('\n')).toContain('config.py:1: X = 0.5');
    expect(idea2(2).at(-1)).toMatch(/^not applied: data\/public\.json may not be changed \(the editable files are \*\.py\)/);
    // A reply with no tool call is answered with what to do.
    expect(idea2(4).at(-1)).toBe('Work through the tools: change the code with apply_edit, then call submit.');
    const idea3 = messagesOf(coder[10 + 3]).map((m) => m.text);
    expect(idea3.at(-1)).toBe('nothing to submit: the code is unchanged. Implement the idea with apply_edit first.');
    expect(summary.ideas[2].diff).toContain('+X = 2');
  });

  it('records every turn, so export shows the conversation', () => {
    const record = exported.find((r) => r.idea === 1)!;
    const turns = record.model_calls.filter((c) => c.role === 'coder');
    expect(turns).toHaveLength(5);
    expect(JSON.parse(turns[4].reply)).toMatchObject({ toolCalls: [{ name: 'submit' }] });
    expect(JSON.stringify(turns[4].prompt)).toContain('no smoke step declared');
    expect(summary.ideas[1].usage.inputTokens).toBeGreaterThan(0);
  });
});
