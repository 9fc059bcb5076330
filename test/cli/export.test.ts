/**
 * `researcher export`: a real offline sweep (two seeds per idea) and a real LLM-agent sweep
 * against a loopback OpenAI-compatible server, exported as JSON lines and loaded back with
 * Python's json, which checks every record against the field tables of docs/export.md.
 */
import { spawnSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrajectoryRecord } from '../../src/report/trajectory.ts';
import { CLEAN_ENV, researcher, showJson } from '../agents/cli-harness.ts';
import { FakeOpenAIServer } from '../fakes/openai-server.ts';
import { byRole, callsOf, idea, messagesOf, setX, systemOf } from '../fakes/researcher-replies.ts';
import { QUADRATIC, REPO_ROOT } from '../helpers/sweep.ts';

const WRONG_DIFF = { text: '```diff\n--- a/config.py\n+++ b/config.py\n@@ -1,2 +1,2 @@\n-X = 0.25\n+X = 3\n```\n' };
const UNREADABLE = [
  'I think we should raise X a little.',
  '{"title": "", "hypothesis": "bigger"}',
  '```json\n{"title": "X to 5", "hypothesis": \n```',
];
const DOCS = path.join(REPO_ROOT, 'docs/export.md');
const CHECKER = path.join(REPO_ROOT, 'test/helpers/check_export.py');

let server: FakeOpenAIServer;
let runsDir: string;
let offlineRun: string;
let llmRun: string;

beforeAll(async () => {
  runsDir = mkdtempSync(path.join(tmpdir(), 'export-'));
  offlineRun = path.join(runsDir, 'offline');
  llmRun = path.join(runsDir, 'llm');
  const offline = await researcher(
    ['run', QUADRATIC, '--ideas', '2', '--seeds', '2', '--baseline-seeds', '2', '--runs-dir', runsDir, '--run-id', 'offline'],
    CLEAN_ENV,
  );
  expect(offline.code, offline.stderr).toBe(0);

  server = await FakeOpenAIServer.start({ apiKey: 'sk-local', models: ['qwen-local'] });
  server.respond(
    byRole({
      thinker: [idea(2), idea(3), ...UNREADABLE.map((text) => ({ text }))],
      coder: [setX(2), WRONG_DIFF, setX(3)],
    }),
  );
  const llm = await researcher(
    [
      'run',
      'test/fixtures/quadratic',
      '--agent',
      'agents/openai-compatible.yaml',
      '--ideas',
      '3',
      // One evaluation per idea, as the exported records below are counted.
      '--baseline-seeds',
      '1',
      '--confirm-seeds',
      '0',
      '--runs-dir',
      runsDir,
      '--run-id',
      'llm',
    ],
    {
      ...CLEAN_ENV,
      OPENAI_BASE_URL: server.url,
      OPENAI_API_KEY: 'sk-local',
    },
  );
  expect(llm.code, llm.stderr).toBe(0);
});

afterAll(async () => {
  await server?.close();
  rmSync(runsDir, { recursive: true, force: true });
});

function python(file: string): { records: number; by_run: Record<string, number[]>; fields: string[] } {
  const result = spawnSync('python3', [CHECKER, DOCS, file], { encoding: 'utf8' });
  expect(result.status, `${result.stderr}${result.stdout}`).toBe(0);
  return JSON.parse(result.stdout);
}

function readRecords(file: string): TrajectoryRecord[] {
  return readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as TrajectoryRecord);
}

describe('researcher export', () => {
  let file: string;
  let records: TrajectoryRecord[];
  const of = (run: string, id: number) => records.find((r) => r.run === run && r.idea === id)!;

  beforeAll(async () => {
    file = path.join(runsDir, 'ideas.jsonl');
    const result = await researcher(['export', offlineRun, llmRun, '--out', file]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`wrote 7 record(s) from 2 run(s) to ${file} (jsonl)\n`);
    records = readRecords(file);
  });

  it('writes records that Python json loads, every field documented and of its documented type', () => {
    const checked = python(file);
    expect(checked.records).toBe(7);
    expect(checked.by_run).toEqual({ offline: [0, 1, 2], llm: [0, 1, 2, 3] });
    expect(checked.fields).toEqual(expect.arrayContaining(['run', 'idea', 'title', 'status', 'diff', 'reward', 'rewards']));
  });

  it('writes real numbers with a decimal point, so a whole reward still loads as a float', () => {
    const line = readFileSync(file, 'utf8')
      .split('\n')
      .find((l) => l.includes('"run":"llm"') && l.includes('"idea":2'))!;
    expect(line).toContain('"reward":10.0,');
    expect(line).toContain('"rewards":[10.0]');
    expect(line).toContain('"cost_usd":0.0');
  });

  it('gives each LLM idea the prompt the server received, the reply, the edit and the diff', () => {
    const thinkerRequests = callsOf(server.requests, 'thinker');
    const first = of('llm', 1);
    expect(first.thinker_model).toBe('qwen-local');
    expect(first.thinker_prompt).toEqual([
      { role: 'system', content: systemOf(thinkerRequests[0]) },
      ...messagesOf(thinkerRequests[0]).map((m) => ({ role: m.role, content: m.text })),
    ]);
    expect(first.thinker_prompt![0].content).toContain('Maximise the score by choosing X.');
    expect(first.environment_description).toBe('Maximise the score by choosing X. Values above 8 crash.');
    expect(first.thinker_reply).toBe(idea(2).text);
    expect(first).toMatchObject({
      title: 'X to 2',
      status: 'succeeded',
      reward: 9,
      rewards: [9],
      thinker_calls: 1,
      coder_calls: 1,
      coder_reply: setX(2).text,
    });
    expect(first.diff).toContain('+X = 2');
    expect(JSON.parse(first.edit!)).toMatchObject({ kind: 'search-replace' });
  });

  it('shows the debug round: the coder conversation with the edit that did not apply and the feedback', () => {
    const second = of('llm', 2);
    expect(second.coder_calls).toBe(2);
    expect(second.coder_prompt!.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(second.coder_prompt![2].content).toContain('-X = 0.25');
    expect(second.coder_prompt![3].content).toContain('does not match the file');
    expect(second.coder_reply).toBe(setX(3).text);
    expect(second.model_calls.map((c) => c.role)).toEqual(['thinker', 'coder', 'coder']);
    expect(second.model_calls.map((c) => c.reply)).toEqual([idea(3).text, WRONG_DIFF.text, setX(3).text]);
    expect(second).toMatchObject({ reward: 10, improvement: 6.25, diff: expect.stringContaining('+X = 3') });
  });

  it('keeps a failed idea with its reason and every unreadable reply', () => {
    const failed = of('llm', 3);
    expect(failed).toMatchObject({
      status: 'failed',
      failure_reason: 'agent-error',
      reward: null,
      rewards: [],
      seeds: [],
      diff: null,
      edit: null,
    });
    expect(failed.error).toMatch(/^the thinker failed: /);
    expect(failed.thinker_calls).toBe(3);
    expect(failed.model_calls.map((c) => c.reply)).toEqual(UNREADABLE);
    expect(failed.thinker_reply).toBe(UNREADABLE[2]);
    expect(failed.thinker_prompt!.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user', 'assistant', 'user']);
  });

  it('adds up to what the server billed, with the reflection the sweep made when it ended (a call of no idea)', async () => {
    const billed = server.billed.reduce(
      (sum, u) => ({ input: sum.input + u.input, cached: sum.cached + u.cached, output: sum.output + u.output }),
      { input: 0, cached: 0, output: 0 },
    );
    const { reflections } = await showJson(llmRun);
    expect(reflections.map((r) => [r.kind, r.ok])).toEqual([['final', true]]);
    const reflected = reflections[0].usage!;
    const llm = records.filter((r) => r.run === 'llm');
    expect(llm.reduce((sum, r) => sum + r.input_tokens, 0) + reflected.inputTokens).toBe(billed.input);
    expect(llm.reduce((sum, r) => sum + r.cached_tokens, 0) + reflected.cachedTokens).toBe(billed.cached);
    expect(llm.reduce((sum, r) => sum + r.output_tokens, 0) + reflected.outputTokens).toBe(billed.output);
    for (const r of llm) expect(r.model_calls.reduce((sum, c) => sum + c.input_tokens, 0)).toBe(r.input_tokens);
  });

  it('exports an offline run: per-seed rewards, knob edits, no prompts', () => {
    for (const id of [0, 1, 2]) {
      const r = of('offline', id);
      expect(r.seeds.length).toBeGreaterThanOrEqual(2);
      expect(r.rewards).toEqual(r.seeds.map((s) => s.reward));
      expect(r.seeds.map((s) => s.seed)).toEqual([...r.seeds.map((s) => s.seed)].sort((a, b) => a - b));
      const rewards = r.rewards.filter((x): x is number => x !== null);
      if (r.status === 'succeeded') expect(r.reward).toBeCloseTo(rewards.reduce((a, b) => a + b, 0) / rewards.length, 10);
      expect(r).toMatchObject({
        agent: 'offline',
        environment: 'quadratic',
        thinker_prompt: null,
        thinker_model: null,
        thinker_calls: 0,
        coder_calls: 0,
        model_calls: [],
        cost_usd: 0,
      });
    }
    expect(of('offline', 0)).toMatchObject({ is_baseline: true, title: 'baseline', improvement: 0 });
    expect(of('offline', 1).edit).not.toBeNull();
  });

  it('stores each distinct system prompt once, however many calls sent it', () => {
    const db = new Database(path.join(llmRun, 'run.db'), { readonly: true });
    try {
      const count = (table: string) => (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
      expect(count('model_call_requests')).toBe(count('model_calls'));
      expect(count('model_call_texts')).toBeLessThan(count('model_calls'));
    } finally {
      db.close();
    }
  });

  it('exports a run recorded before prompts were kept: prompts null, replies and tokens still there', async () => {
    const old = path.join(runsDir, 'old');
    cpSync(llmRun, old, { recursive: true });
    const db = new Database(path.join(old, 'run.db'));
    db.exec('DROP TABLE model_call_requests; DROP TABLE model_call_texts;');
    db.close();
    const out = path.join(runsDir, 'old.jsonl');
    expect((await researcher(['export', old, '--out', out])).code).toBe(0);
    expect(python(out).records).toBe(4);
    const first = readRecords(out).find((r) => r.idea === 1)!;
    expect(first).toMatchObject({ thinker_prompt: null, coder_prompt: null, thinker_reply: idea(2).text, thinker_calls: 1 });
    expect(first.model_calls.every((c) => c.prompt === null && c.reply !== null)).toBe(true);
    expect(first.input_tokens).toBe(of('llm', 1).input_tokens);
  });

  it('prints JSON lines on standard output by default', async () => {
    const result = await researcher(['export', offlineRun]);
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as TrajectoryRecord);
    expect(lines).toEqual(records.filter((r) => r.run === 'offline'));
  });

  it('stops with a one-line error on a folder that is not a run, and writes nothing', async () => {
    const out = path.join(runsDir, 'never.jsonl');
    const missing = path.join(runsDir, 'no-such-run');
    const result = await researcher(['export', offlineRun, missing, '--out', out]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`error: ${missing} is not a run: run.db is missing (runs live in runs/<run-id>/)\n`);
    expect(existsSync(out)).toBe(false);
  });

  it('refuses an unknown format and a missing run folder argument', async () => {
    const format = await researcher(['export', offlineRun, '--format', 'csv']);
    expect(format.code).toBe(2);
    expect(format.stderr).toBe('error: --format expects one of jsonl, parquet, got "csv"\n');
    const none = await researcher(['export']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^error: expected at least one run folder/);
  });
});

/** The record fields of docs/export.md with their documented types. */
function documentedFields(): Map<string, string> {
  const doc = readFileSync(DOCS, 'utf8');
  const table = doc.slice(doc.indexOf('## Record'), doc.indexOf('## Seed'));
  return new Map([...table.matchAll(/^\| `([a-z_]+)` \| ([^|]+) \|/gm)].map((m) => [m[1], m[2].trim()]));
}

describe('researcher export --format parquet', () => {
  let file: string;
  let bytes: Uint8Array;
  let jsonl: TrajectoryRecord[];

  beforeAll(async () => {
    file = path.join(runsDir, 'ideas.parquet');
    const result = await researcher(['export', offlineRun, llmRun, '--out', file]); // the format follows the file name
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe(`wrote 7 record(s) from 2 run(s) to ${file} (parquet)\n`);
    bytes = new Uint8Array(readFileSync(file));
    const lines = await researcher(['export', offlineRun, llmRun]);
    jsonl = lines.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as TrajectoryRecord);
  });

  it('writes a Parquet file whose rows, read back with hyparquet, are the JSON-lines records', async () => {
    // No Python Parquet reader (pyarrow, fastparquet) is installed here: hyparquet, the writer's
    // own reader, checks the file.
    expect(Buffer.from(bytes.subarray(0, 4)).toString()).toBe('PAR1');
    expect(Buffer.from(bytes.subarray(-4)).toString()).toBe('PAR1');
    const rows = await parquetReadObjects({
      file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
    });
    expect(rows).toHaveLength(7);
    const nested = new Set(['seeds', 'debug_rounds', 'model_calls', 'thinker_prompt', 'coder_prompt']);
    const decoded = rows.map((row) =>
      Object.fromEntries(
        Object.entries(row).map(([key, value]) => [
          key,
          typeof value === 'bigint' ? Number(value) : nested.has(key) && typeof value === 'string' ? JSON.parse(value) : value,
        ]),
      ),
    );
    expect(decoded).toEqual(jsonl);
  });

  it('has one typed column per documented field, nullable exactly where the docs say "or null"', () => {
    const metadata = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
    const top = new Map<string, (typeof metadata.schema)[number]>();
    // The root's children, skipping the inner levels of the rewards list.
    for (let i = 1; i < metadata.schema.length; i++) {
      const element = metadata.schema[i];
      top.set(element.name, element);
      if (element.converted_type === 'LIST') i += 2;
    }
    const documented = documentedFields();
    expect([...top.keys()].sort()).toEqual([...documented.keys()].sort());
    const expected = (type: string) =>
      type.startsWith('list of (number')
        ? 'LIST'
        : type.startsWith('list of')
          ? 'JSON'
          : ({ string: 'UTF8', integer: 'INT64', number: 'DOUBLE', boolean: 'BOOLEAN' } as Record<string, string>)[
              type.replace(/,? or null$/, '')
            ];
    for (const [field, type] of documented) {
      const element = top.get(field)!;
      expect(element.converted_type ?? element.type, field).toBe(expected(type));
      expect(element.repetition_type, field).toBe(type.endsWith('or null') && !type.startsWith('list of (') ? 'OPTIONAL' : 'REQUIRED');
    }
  });

  it('needs --out: a binary file is never written to standard output', async () => {
    const result = await researcher(['export', offlineRun, '--format', 'parquet']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('error: --format parquet writes a binary file: give --out FILE\n');
  });
});
