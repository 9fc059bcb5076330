/**
 * Issue 14's execution rate, end to end: the bundled agents/openai-compatible.yaml (debug rounds
 * on by default) against a loopback server speaking chat completions, through the real CLI, on
 * environments/grpo-tiny in the default sandbox. The scripted coder writes a change that crashes
 * at run time (a NameError) on every second idea, and writes the correct change when it is shown
 * the failure; a 10-idea sweep must run at least 95 % of its coded ideas to a reward, each fix a
 * debug round carrying its traceback (read back with `show --json`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunSummary } from '../../src/report/run-summary.ts';
import { FakeOpenAIServer } from '../fakes/openai-server.ts';
import { callsOf, messagesOf, roleOf } from '../fakes/researcher-replies.ts';
import type { RecordedRequest, Reply } from '../fakes/scripted-server.ts';
import { CLEAN_ENV, type CliResult, researcher, showJson } from './cli-harness.ts';

const IDEAS = 10;
const UNDEFINED_NAME = 'lr_schedule_base';
const FAILURE_HEADING = '## Your change ran and failed';

/** Idea k sets LEARNING_RATE to its own value (distinct code for each idea). */
const learningRate = (k: number) => (0.2 + 0.01 * k).toFixed(2);

function thinkerReply(k: number): Reply {
  return {
    text: `\`\`\`json\n${JSON.stringify({
      title: `Idea ${k}: learning rate ${learningRate(k)}`,
      hypothesis: `A GRPO step size of ${learningRate(k)} trades speed against stability differently (variant ${k}).`,
      plan: `In config.py set LEARNING_RATE = ${learningRate(k)}.`,
      expectedEffect: 'a slightly different accuracy',
    })}\n\`\`\``,
  };
}

/** Idea k's crashing change: distinct per idea, or the sweep would skip the later ones as duplicates. */
const crashingLine = (k: number) => `LEARNING_RATE = ${UNDEFINED_NAME} * ${learningRate(k)}`;

/**
 * The coder: reads the idea's number from the prompt's title and the LEARNING_RATE line from the
 * code it is shown (the parent's, or in a debug round the failed attempt's); on even ideas its
 * first change refers to a name that does not exist, and once shown the failure it fixes it.
 */
function coderReply(request: RecordedRequest): Reply {
  const prompt = messagesOf(request)[0].text;
  const k = Number(/Title: Idea (\d+):/.exec(prompt)?.[1]);
  const line = /^LEARNING_RATE = .*$/m.exec(prompt)?.[0];
  if (!k || !line) return { status: 500, message: 'the script could not read the prompt' };
  const debugging = prompt.includes(FAILURE_HEADING);
  const replace = !debugging && k % 2 === 0 ? crashingLine(k) : `LEARNING_RATE = ${learningRate(k)}`;
  return { text: `config.py\n<<<<<<< SEARCH\n${line}\n=======\n${replace}\n>>>>>>> REPLACE\n` };
}

const ideaNumber = (title: string) => Number(/^Idea (\d+):/.exec(title)?.[1]);

let server: FakeOpenAIServer;
let runsDir: string;
let result: CliResult;
let summary: RunSummary;

beforeAll(async () => {
  server = await FakeOpenAIServer.start({ apiKey: 'sk-local', models: ['qwen-local'] });
  let proposals = 0;
  server.respond((request) => (roleOf(request) === 'thinker' ? thinkerReply(++proposals) : coderReply(request)));
  runsDir = mkdtempSync(path.join(tmpdir(), 'llm-debug-rounds-'));
  result = await researcher(
    ['run', 'environments/grpo-tiny', '--agent', 'agents/openai-compatible.yaml', '--ideas', String(IDEAS), '--runs-dir', runsDir, '--run-id', 'debug'],
    { ...CLEAN_ENV, OPENAI_BASE_URL: server.url, OPENAI_API_KEY: 'sk-local' },
  );
  summary = await showJson(path.join(runsDir, 'debug'));
}, 900_000);

afterAll(async () => {
  await server?.close();
  rmSync(runsDir, { recursive: true, force: true });
});

describe('debug rounds with the default OpenAI-compatible agent on grpo-tiny', () => {
  it('runs at least 95 % of its coded ideas to a reward (half of them would crash without debug rounds)', () => {
    expect(result.code, result.stderr).toBe(0);
    const ideas = summary.ideas.filter((idea) => idea.id !== 0);
    expect(ideas).toHaveLength(IDEAS);
    expect(summary.execution.coded).toBe(IDEAS);
    expect(summary.execution.executed / summary.execution.coded).toBeGreaterThanOrEqual(0.95);
    expect(summary.execution.rateWithoutDebugRounds).toBe(0.5);
    expect(result.stdout).toMatch(/execution: \d+\/10 coded ideas ran to a reward/);
  });

  it('shows each fix as a debug round with its traceback', () => {
    const crashing = summary.ideas.filter((idea) => idea.id !== 0 && ideaNumber(idea.title) % 2 === 0);
    expect(crashing).toHaveLength(IDEAS / 2);
    for (const idea of crashing) {
      expect(idea.status, idea.error ?? '').toBe('succeeded');
      expect(idea.debugRounds).toHaveLength(1);
      const [round] = idea.debugRounds;
      // grpo-tiny declares a smoke step: the crash is caught there, before any full run.
      expect(round).toMatchObject({ round: 1, status: 'committed', outcome: 'executed', failure: { attempt: 0, step: 'smoke', reason: 'crashed', exitCode: 1 } });
      expect(round.failure.logTail).toContain('Traceback (most recent call last)');
      expect(round.failure.logTail).toContain(`NameError: name '${UNDEFINED_NAME}' is not defined`);
      expect(round.diff).toContain(`-${crashingLine(ideaNumber(idea.title))}`);
      expect(round.commit).toBe(idea.commit);
      expect(idea.diff).not.toContain(UNDEFINED_NAME);
      expect(idea.smokeRuns.map((s) => [s.attempt, s.status])).toEqual([
        [0, 'failed'],
        [1, 'passed'],
      ]);
      // The crashing attempt never spent a full run: every evaluation (confirmation seeds too) is the fix's.
      expect(idea.evaluations.length).toBeGreaterThan(0);
      expect(idea.evaluations.every((e) => e.attempt === 1)).toBe(true);
    }
    const clean = summary.ideas.filter((idea) => idea.id !== 0 && !crashing.includes(idea));
    for (const idea of clean) expect(idea).toMatchObject({ status: 'succeeded', debugRounds: [] });
  });

  it('told the coder how its change failed, with the traceback, against the failed code', () => {
    const fixes = callsOf(server.calls, 'coder').filter((request) => messagesOf(request)[0].text.includes(FAILURE_HEADING));
    expect(fixes).toHaveLength(IDEAS / 2);
    for (const request of fixes) {
      const prompt = messagesOf(request)[0].text;
      expect(prompt).toContain(`NameError: name '${UNDEFINED_NAME}' is not defined`);
      // The code shown is the failed attempt's: the fix applies to it.
      expect(prompt.split('\n')).toContain(crashingLine(Number(/Title: Idea (\d+):/.exec(prompt)![1])));
    }
  });
});
