/**
 * Reflection with the LLM agent against a loopback OpenAI-compatible server (the real `openai`
 * client, the real CLI): a sweep whose agent file says `reflection: { every: 1 }` reflects after
 * its first idea — the next thinker prompt carries what was learned, and the idea records which
 * reflection it saw — and again when it ends, writing the lab notebook from the reflector's
 * reply. The next sweep in the same runs folder shows the notebook to its thinker; when its
 * reflector answers garbage, the notebook is left byte for byte as it was, saying so.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunSummary } from '../../src/report/run-summary.ts';
import type { TrajectoryRecord } from '../../src/report/trajectory.ts';
import { notebookHash } from '../../src/store/notebook.ts';
import { FakeOpenAIServer } from '../fakes/openai-server.ts';
import { byRole, callsOf, idea, messagesOf, reflection, setX, systemOf } from '../fakes/researcher-replies.ts';
import { REPO_ROOT } from '../helpers/sweep.ts';
import { CLEAN_ENV, type CliResult, researcher, showJson } from './cli-harness.ts';

const PERIODIC = 'After one idea: X = 2 beat the baseline.';
const FINAL = 'X near 3 is best: X = 3 scored 10.';

let server: FakeOpenAIServer;
let runsDir: string;
let agentFile: string;
let first: RunSummary;
let second: RunSummary;
let secondResult: CliResult;
let firstCalls: { thinker: ReturnType<typeof callsOf>; reflector: ReturnType<typeof callsOf> };
let secondCalls: typeof firstCalls;
let notebookAfterFirst: string;
let notebookAfterSecond: string;
let exported: TrajectoryRecord[];

function env() {
  return { ...CLEAN_ENV, OPENAI_BASE_URL: server.url, OPENAI_API_KEY: 'sk-local' };
}

function userText(request: ReturnType<typeof callsOf>[number]): string {
  return messagesOf(request)
    .map((m) => m.text)
    .join('\n');
}

beforeAll(async () => {
  server = await FakeOpenAIServer.start({ apiKey: 'sk-local', models: ['qwen-local'] });
  runsDir = mkdtempSync(path.join(tmpdir(), 'llm-notebook-'));
  // The bundled agent, reflecting after every finished idea (its prompts resolve to the bundled ones).
  agentFile = path.join(runsDir, 'reflective.yaml');
  writeFileSync(agentFile, `${readFileSync(path.join(REPO_ROOT, 'agents/openai-compatible.yaml'), 'utf8')}\nreflection:\n  every: 1\n`);
  const notebook = path.join(runsDir, 'notebooks', 'quadratic.md');

  server.respond(byRole({ thinker: [idea(2), idea(3)], coder: [setX(2), setX(3)], reflector: [reflection(PERIODIC), reflection(FINAL)] }));
  const one = await researcher(['run', 'test/fixtures/quadratic', '--agent', agentFile, '--ideas', '2', '--baseline-seeds', '1', '--confirm-seeds', '0', '--runs-dir', runsDir, '--run-id', 'one'], env());
  expect(one.code, one.stderr).toBe(0);
  first = await showJson(path.join(runsDir, 'one'));
  firstCalls = { thinker: callsOf(server.requests, 'thinker'), reflector: callsOf(server.requests, 'reflector') };
  notebookAfterFirst = readFileSync(notebook, 'utf8');
  const out = await researcher(['export', path.join(runsDir, 'one')]);
  exported = out.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as TrajectoryRecord);

  server.requests.length = 0;
  // Three unusable replies: the agent file allows two retries, then the reflection fails.
  server.respond(
    byRole({ thinker: [idea(3.5)], coder: [setX(3.5)], reflector: [{ text: 'I reflected a lot.' }, { text: '{"summary": ""}' }, { text: '```json\n{"summary": \n```' }] }),
  );
  secondResult = await researcher(
    ['run', 'test/fixtures/quadratic', '--agent', 'agents/openai-compatible.yaml', '--ideas', '1', '--baseline-seeds', '1', '--confirm-seeds', '0', '--runs-dir', runsDir, '--run-id', 'two'],
    env(),
  );
  second = await showJson(path.join(runsDir, 'two'));
  secondCalls = { thinker: callsOf(server.requests, 'thinker'), reflector: callsOf(server.requests, 'reflector') };
  notebookAfterSecond = readFileSync(notebook, 'utf8');
}, 300_000);

afterAll(async () => {
  await server?.close();
  rmSync(runsDir, { recursive: true, force: true });
});

describe('reflection with the LLM agent', () => {
  it('reflects after every finished idea and when the sweep ends, each recorded with its usage', () => {
    expect(first.ideas.map((i) => i.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(first.reflections.map((r) => [r.kind, r.afterIdeas, r.ok])).toEqual([
      ['periodic', 1, true],
      ['final', 2, true],
    ]);
    expect(firstCalls.reflector).toHaveLength(2);
    expect(first.reflections[0].learned).toMatch(new RegExp(`^${PERIODIC.replace(/[.]/g, '\\.')}\\n\\nFindings:\\n- moving X towards 3`));
    for (const r of first.reflections) expect(r.usage!.inputTokens).toBeGreaterThan(0);
    // The reflector was shown the run: the baseline and the ideas with their rewards.
    expect(userText(firstCalls.reflector[1])).toMatch(/## This run \(one\), after 2 finished ideas\nBaseline \(the unmodified code\): reward [\d.]+/);
    expect(userText(firstCalls.reflector[1])).toContain(`## What this run's previous reflection said\n${PERIODIC}`);
  });

  it('shows what was learned to the thinker from then on, before the history, and records which reflection each idea saw', () => {
    const [before, after] = firstCalls.thinker.map(userText);
    expect(before).not.toContain('What we have learned so far');
    expect(after).toContain(`## What we have learned so far in this run\n${PERIODIC}`);
    expect(after.indexOf('What we have learned so far')).toBeLessThan(after.indexOf('## The run so far'));
    expect(first.ideas[1].meta).not.toHaveProperty('reflection');
    expect(first.ideas[2].meta.reflection).toEqual({ id: first.reflections[0].id, sha256: first.reflections[0].learnedSha256 });
    expect(exported.map((r) => r.reflection)).toEqual([null, null, first.reflections[0].learned]);
  });

  it("writes the notebook from the final reflection (the run's part replaced, not doubled)", () => {
    expect(notebookAfterFirst).toContain(`**What we have learned.** ${FINAL}`);
    expect(notebookAfterFirst).not.toContain(PERIODIC);
    expect(notebookAfterFirst.match(/^### Run one /gm)).toHaveLength(1);
    expect(notebookAfterFirst).toContain('- moving X towards 3 raised the score — evidence: ideas #1 and #2 against the baseline');
    expect(notebookAfterFirst).toMatch(/- reward 10 \(1 seed\): run one, idea #2 "X to 3"/);
    expect(first.reflections[1].notebookSha256).toBe(notebookHash(notebookAfterFirst));
  });

  it("gives the next sweep's thinker the notebook in its system prompt (cached), and records it", () => {
    expect(second.notebook).toEqual({ path: 'notebooks/quadratic.md', fresh: false, sha256: notebookHash(notebookAfterFirst) });
    expect(second.ideas[1].meta.notebook).toEqual({ path: 'notebooks/quadratic.md', sha256: notebookHash(notebookAfterFirst) });
    const system = systemOf(secondCalls.thinker[0]);
    expect(system).toContain('## The lab notebook (notebooks/quadratic.md)');
    expect(system).toContain(FINAL);
    expect(userText(secondCalls.thinker[0])).not.toContain('lab notebook');
    // The reflector merges into the notebook: it is shown it too.
    expect(userText(secondCalls.reflector[0])).toContain(`## The lab notebook so far\n${notebookAfterFirst.trim().slice(0, 200)}`);
  });

  it('a reflector that answers garbage leaves the notebook byte for byte as it was, saying so', () => {
    expect(secondResult.code, secondResult.stderr).toBe(0);
    expect(secondCalls.reflector).toHaveLength(3);
    expect(notebookAfterSecond).toBe(notebookAfterFirst);
    expect(second.reflections).toHaveLength(1);
    expect(second.reflections[0]).toMatchObject({ kind: 'final', ok: false, learned: null, notebookSha256: null });
    expect(second.reflections[0].message).toMatch(/^the reflection after 1 ideas failed: its reply held no usable JSON object after 3 attempt\(s\)/);
    expect(`${secondResult.stdout}${secondResult.stderr}`).toMatch(/the reflection after 1 ideas failed: .*; the lab notebook is left as it was/);
  });
});
