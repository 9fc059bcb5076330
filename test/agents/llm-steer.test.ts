/**
 * Steering a running sweep: a serial sweep with the LLM agent on a loopback OpenAI-compatible
 * server, where the person runs `researcher steer` (the real command, in its own process) while
 * the thinker is still working on the first idea. The second proposal's prompt carries the
 * guidance, the second idea records it, and the first idea — proposed before it — does not.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunSummary } from '../../src/report/run-summary.ts';
import { FakeOpenAIServer } from '../fakes/openai-server.ts';
import { callsOf, idea, messagesOf, reflection, roleOf, setX } from '../fakes/researcher-replies.ts';
import type { Reply } from '../fakes/scripted-server.ts';
import { REPO_ROOT } from '../helpers/sweep.ts';
import { CLEAN_ENV, type CliResult, researcher, showJson } from './cli-harness.ts';

const CLI = path.join(REPO_ROOT, 'bin/researcher.js');
const GUIDANCE = 'Stop lowering X; try values of X above 2.';

let server: FakeOpenAIServer;
let runsDir: string;
let runDir: string;
let result: CliResult;
let summary: RunSummary;
let steerOutput = '';

beforeAll(async () => {
  server = await FakeOpenAIServer.start({ apiKey: 'sk-local', models: ['qwen-local'] });
  const thinker: Reply[] = [idea(2), idea(3)];
  const coder: Reply[] = [setX(2), setX(3)];
  let thinkerCalls = 0;
  server.respond((request) => {
    if (roleOf(request) === 'coder') return coder.shift() ?? { status: 500, message: 'no coder reply left' };
    if (roleOf(request) === 'reflector') return reflection();
    thinkerCalls++;
    // While the first idea is being proposed, the person steers. The command runs to its end
    // before this reply goes out (execFileSync), so the order is certain, not a race.
    if (thinkerCalls === 1) {
      steerOutput = execFileSync(process.execPath, [CLI, 'steer', runDir, GUIDANCE], { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, ...CLEAN_ENV } });
    }
    return thinker.shift() ?? { status: 500, message: 'no thinker reply left' };
  });
  runsDir = mkdtempSync(path.join(tmpdir(), 'llm-steer-'));
  runDir = path.join(runsDir, 'steered');
  result = await researcher(['run', 'test/fixtures/quadratic', '--agent', 'agents/openai-compatible.yaml', '--ideas', '2', '--runs-dir', runsDir, '--run-id', 'steered'], {
    ...CLEAN_ENV,
    OPENAI_BASE_URL: server.url,
    OPENAI_API_KEY: 'sk-local',
  });
  summary = await showJson(runDir);
}, 240_000);

afterAll(async () => {
  await server?.close();
  rmSync(runsDir, { recursive: true, force: true });
});

describe('steering a running sweep with researcher steer', () => {
  it('runs to the end, the steer command having written steer.md mid-run', () => {
    expect(result.code, result.stderr).toBe(0);
    expect(steerOutput).toContain('the next idea proposed will see it');
    expect(readFileSync(path.join(runDir, 'steer.md'), 'utf8')).toMatch(/^## \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n\nStop lowering X; try values of X above 2\.\n\n$/);
    expect(summary.ideas.map((i) => [i.id, i.status])).toEqual([
      [0, 'succeeded'],
      [1, 'succeeded'],
      [2, 'succeeded'],
    ]);
  });

  it('shows the guidance to the next thinker call only, as the last part of its prompt', () => {
    const calls = callsOf(server.requests, 'thinker');
    expect(calls).toHaveLength(2);
    const first = messagesOf(calls[0]);
    const second = messagesOf(calls[1]);
    expect(first.map((m) => m.text).join('\n')).not.toContain('Guidance from the researcher');
    expect(second).toHaveLength(1);
    expect(second[0].text).toMatch(/## Guidance from the researcher\n[^\n]+\n\n## \d{4}-[^\n]+\n\nStop lowering X; try values of X above 2\.$/);
    // After the history, so the prompt's stable prefix is unchanged by it.
    expect(second[0].text.indexOf('## The run so far')).toBeLessThan(second[0].text.indexOf('## Guidance from the researcher'));
  });

  it('records in each idea the guidance it was proposed under', () => {
    const [, first, second] = summary.ideas;
    expect(first.meta).not.toHaveProperty('guidance');
    expect(second.meta.guidance).toEqual({ text: expect.stringMatching(/Stop lowering X; try values of X above 2\.$/), sha256: expect.stringMatching(/^[0-9a-f]{12}$/) });
    const ideaMd = readFileSync(path.join(runDir, 'ideas', '2', 'idea.md'), 'utf8');
    expect(ideaMd).toMatch(/## Guidance it was proposed under \(steer\.md, sha256 [0-9a-f]{12}\)\n\n> ## \d{4}-[^\n]+\n>\n> Stop lowering X; try values of X above 2\.\n/);
    expect(readFileSync(path.join(runDir, 'ideas', '1', 'idea.md'), 'utf8')).not.toContain('Guidance');
  });
});
