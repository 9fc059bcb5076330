/**
 * Code written by a model never runs unisolated silently: without bubblewrap, an LLM-agent run
 * refuses to start unless `--unisolated` is given (and then records it); the offline agent's
 * knob edits may run unisolated, saying so. AI_RESEARCHER_BWRAP points the check at a binary
 * that does not exist, as on a machine without bubblewrap.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLEAN_ENV, researcher, showJson } from '../agents/cli-harness.ts';
import { FakeOpenAIServer } from '../fakes/openai-server.ts';
import { byRole, idea, setX } from '../fakes/researcher-replies.ts';
import { bubblewrapTestsRun } from '../helpers/bubblewrap.ts';

const NO_BWRAP = { AI_RESEARCHER_BWRAP: '/nonexistent/bwrap' };
let runsDir: string;
let server: FakeOpenAIServer;

beforeAll(async () => {
  runsDir = mkdtempSync(path.join(tmpdir(), 'isolation-cli-'));
  server = await FakeOpenAIServer.start({ apiKey: 'sk-local', models: ['qwen-local'] });
  server.respond(byRole({ thinker: [idea(2)], coder: [setX(2)] }));
});

afterAll(async () => {
  await server?.close();
  rmSync(runsDir, { recursive: true, force: true });
});

const llm = (runId: string, extra: string[] = []) => [
  'run',
  'test/fixtures/quadratic',
  '--agent',
  'agents/openai-compatible.yaml',
  '--ideas',
  '1',
  // Exact rewards below: one baseline seed, no confirmation seeds.
  '--baseline-seeds',
  '1',
  '--confirm-seeds',
  '0',
  '--runs-dir',
  runsDir,
  '--run-id',
  runId,
  ...extra,
];
const llmEnv = () => ({ ...CLEAN_ENV, ...NO_BWRAP, OPENAI_BASE_URL: server.url, OPENAI_API_KEY: 'sk-local' });

describe('without bubblewrap', () => {
  it('refuses to start an LLM-agent run, saying how to install it, and creates nothing', async () => {
    const result = await researcher(llm('refused'), llmEnv());
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/bubblewrap \(bwrap\) is not installed/);
    expect(result.stderr).toMatch(/apt-get install bubblewrap/);
    expect(result.stderr).toMatch(/--unisolated/);
    expect(existsSync(path.join(runsDir, 'refused'))).toBe(false);
  });

  it('runs it with --unisolated, recorded in the run and shown by show', async () => {
    const result = await researcher(llm('opted-in', ['--unisolated']), llmEnv());
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/unisolated \(--unisolated\)/);
    const summary = await showJson(path.join(runsDir, 'opted-in'));
    expect(summary.run.unisolated).toBe(true);
    expect(summary.ideas.find((i) => i.id === 1)?.reward).toBe(9);
    const shown = await researcher(['show', path.join(runsDir, 'opted-in')]);
    expect(shown.stdout).toMatch(/unisolated: run steps ran as plain processes/);
  });

  it('lets the offline agent run unisolated, and says so', async () => {
    const result = await researcher(['run', 'test/fixtures/quadratic', '--ideas', '1', '--runs-dir', runsDir, '--run-id', 'offline'], {
      ...CLEAN_ENV,
      ...NO_BWRAP,
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(
      /unisolated: bubblewrap \(bwrap\) is not installed; the offline agent's knob edits run as plain processes/,
    );
    expect((await showJson(path.join(runsDir, 'offline'))).run.unisolated).toBe(true);
  });
});

describe.skipIf(!bubblewrapTestsRun('the isolated-by-default CLI test'))('with bubblewrap', () => {
  it('isolates an offline run without being asked', async () => {
    const result = await researcher(
      ['run', 'test/fixtures/quadratic', '--ideas', '1', '--runs-dir', runsDir, '--run-id', 'isolated'],
      CLEAN_ENV,
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).not.toMatch(/unisolated/);
    const summary = await showJson(path.join(runsDir, 'isolated'));
    expect(summary.run.unisolated).toBe(false);
    expect(summary.run.sandboxOptions).toMatchObject({ isolation: 'bubblewrap' });
  });
});
