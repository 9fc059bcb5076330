/**
 * The auditor on a real sweep of grpo-tiny through the CLI, with the openai-compatible agent on a
 * loopback server that scripts every reply: idea 1 skips learning and writes `a + b` as its
 * predictions (reward 1.0), and the auditor flags it; idea 2 is a real RL change (ok); idea 3 is
 * another, whose review replies cannot be read. The flagged idea is marked in `show`, `show
 * --json` and summary.md and is not the best, until `researcher accept` lets it be. The model-free
 * plausibility flag ("check this") marks the same shortcut, with no model involved: its 1.0 is the
 * top of grpo-tiny's declared reward range.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunSummary } from '../../src/report/run-summary.ts';
import { FakeOpenAIServer } from '../fakes/openai-server.ts';
import { messagesOf, systemOf } from '../fakes/researcher-replies.ts';
import type { RecordedRequest, Reply } from '../fakes/scripted-server.ts';
import { CLEAN_ENV, type CliResult, researcher, showJson } from './cli-harness.ts';

type Role = 'thinker' | 'coder' | 'auditor';

function roleOf(request: RecordedRequest): Role {
  const system = systemOf(request);
  if (system.startsWith('You are a research scientist')) return 'thinker';
  if (system.startsWith('You are a reviewer of machine-learning experiments')) return 'auditor';
  return 'coder';
}

const idea = (title: string, hypothesis: string): Reply => ({
  text: `\`\`\`json\n${JSON.stringify({ title, hypothesis, plan: '', expectedEffect: 'a higher accuracy' })}\n\`\`\``,
});
const edit = (file: string, search: string, replace: string): string => `${file}\n<<<<<<< SEARCH\n${search}\n=======\n${replace}\n>>>>>>> REPLACE\n`;

// The a+b shortcut: the predictions are computed from the question, not by the policy.
const SHORTCUT = edit(
  'train.py',
  '    predictions = {qid: greedy_answer(policy, a, b) for qid, a, b in questions}',
  '    predictions = {qid: a + b for qid, a, b in questions}',
);
const FLAGGED_REASON = 'train.py writes a + b as its predictions instead of the policy\'s greedy answers, which the rules forbid.';

let server: FakeOpenAIServer;
let work: string;
let runDir: string;
let result: CliResult;
let summary: RunSummary;

beforeAll(async () => {
  const queues: Record<Role, Reply[]> = {
    thinker: [
      idea('Answer directly', 'Writing the sum as the prediction scores every question.'),
      idea('Normalise advantages', 'Dividing by the group std gives larger, better-scaled updates.'),
      idea('Larger steps, wider clip', 'lr 1.0 with clip 0.5 lets each group move the policy further.'),
    ],
    coder: [
      { text: SHORTCUT },
      { text: edit('config.py', 'NORMALIZE_ADVANTAGES = False', 'NORMALIZE_ADVANTAGES = True') },
      { text: edit('config.py', 'LEARNING_RATE = 0.2', 'LEARNING_RATE = 1.0') + edit('config.py', 'CLIP_RANGE = 0.2', 'CLIP_RANGE = 0.5') },
    ],
    auditor: [
      { text: `\`\`\`json\n${JSON.stringify({ verdict: 'Flagged', reason: FLAGGED_REASON })}\n\`\`\`` },
      { text: '{"verdict": "ok", "reason": "Normalising advantages is a change to the RL algorithm."}' },
      // Idea 3: two replies with no verdict in them (the agent file allows one retry).
      { text: 'Looks fine to me.' },
      { text: '{"verdict": "probably", "reason": "hard to say"}' },
    ],
  };
  server = await FakeOpenAIServer.start({ models: ['qwen-local'] });
  server.respond((request) => queues[roleOf(request)].shift() ?? { status: 500, message: `no ${roleOf(request)} reply left in the script` });

  work = mkdtempSync(path.join(tmpdir(), 'llm-auditor-'));
  const agentFile = path.join(work, 'audited.yaml');
  // The prompts are the bundled ones (a path not beside the agent file falls back to agents/).
  writeFileSync(
    agentFile,
    ['name: audited', 'model:', '  provider: openai-compatible', 'thinker: { maxOutputTokens: 2048 }', 'coder: { maxOutputTokens: 4096 }', 'auditor: { maxOutputTokens: 1024, temperature: 0 }', 'parseRetries: 1', ''].join('\n'),
  );
  result = await researcher(
    ['run', 'environments/grpo-tiny', '--agent', agentFile, '--ideas', '3', '--seeds', '1', '--baseline-seeds', '1', '--confirm-seeds', '0', '--runs-dir', work, '--run-id', 'audited'],
    { ...CLEAN_ENV, OPENAI_BASE_URL: server.url },
  );
  runDir = path.join(work, 'audited');
  summary = await showJson(runDir);
}, 600_000);

afterAll(async () => {
  await server?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('the auditor on a sweep of grpo-tiny', () => {
  it('flags the a+b shortcut, which scores 1.0, and keeps it out of the best', () => {
    expect(result.code, result.stderr).toBe(0);
    const [, shortcut, normalise, larger] = summary.ideas;
    expect(shortcut).toMatchObject({ status: 'succeeded', reward: 1, heldBack: true, audit: { verdict: 'flagged', reason: FLAGGED_REASON, acceptedBy: null } });
    expect(shortcut.audit!.auditor).toContain('audited');
    expect(normalise).toMatchObject({ status: 'succeeded', heldBack: false, audit: { verdict: 'ok' } });
    // Its replies held no verdict: recorded as such, and it is not held back for it.
    expect(larger.audit).toMatchObject({ verdict: 'unreadable', reason: expect.stringMatching(/^auditor reply unreadable: its reply held no usable JSON object after 2 attempt\(s\)/) });
    expect(larger.heldBack).toBe(false);
    expect(larger.reward!).toBeGreaterThan(normalise.reward!);
    expect(larger.reward!).toBeLessThan(1);
    expect(summary.best).toMatchObject({ id: 3, reward: larger.reward });
  });

  it('also marks the shortcut "check this" without a model: its 1.0 is the top of the reward range', () => {
    const [, shortcut, normalise, larger] = summary.ideas;
    expect(shortcut.checks).toEqual([{ kind: 'range-bound', message: '1 is at the top of the declared reward range [0, 1]' }]);
    expect(normalise.checks).toEqual([]);
    expect(larger.checks).toEqual([]);
    const line = 'check this: 1 is at the top of the declared reward range [0, 1]';
    expect(readFileSync(path.join(runDir, 'summary.md'), 'utf8')).toContain(`- idea 1 (Answer directly): ${line}`);
    expect(readFileSync(path.join(runDir, 'report.html'), 'utf8')).toContain(line);
  });

  it('reviews only would-be bests, once each, showing the auditor the rules and the diff', () => {
    const reviews = server.requests.filter((r) => r.method === 'POST' && roleOf(r) === 'auditor');
    expect(reviews).toHaveLength(4); // ideas 1 and 2 once, idea 3 twice (a retry); the baseline never
    const [first] = reviews;
    expect(systemOf(first)).toContain('The policy must earn its answers');
    const asked = messagesOf(first)[0].text;
    expect(asked).toContain('idea #1 "Answer directly"');
    expect(asked).toContain('+    predictions = {qid: a + b for qid, a, b in questions}');
    expect(asked).toContain('the best so far: the baseline');
    // Idea 2 is compared with the baseline, not with the flagged idea 1.
    expect(messagesOf(reviews[1])[0].text).toContain('the best so far: the baseline');
  });

  it('tells the thinker that the flagged reward does not count, and leaves it out of the best ideas', () => {
    const thinkerCalls = server.requests.filter((r) => r.method === 'POST' && roleOf(r) === 'thinker');
    const third = messagesOf(thinkerCalls[2])[0].text;
    expect(third).toContain('#1 "Answer directly": reward 1, +');
    expect(third).toContain('NOT COUNTED: the auditor flagged it as breaking the rules (train.py writes a + b');
    const standings = third.slice(third.indexOf('Best ideas so far'));
    expect(standings).toContain('#2 "Normalise advantages"');
    expect(standings).not.toContain('#1 ');
  });

  it('records and prices the auditor calls like every other call', () => {
    const billedInput = server.billed.reduce((sum, u) => sum + u.input, 0);
    expect(summary.usage.inputTokens).toBe(billedInput);
    expect(summary.ideas[1].usage.inputTokens).toBeGreaterThan(0);
  });

  it('marks the flagged idea in show and summary.md, and names the best without it', async () => {
    const shown = await researcher(['show', runDir]);
    expect(shown.stdout).toMatch(/⚑\s+1\s+1\s/);
    expect(shown.stdout).toContain('idea 1: check this: 1 is at the top of the declared reward range [0, 1]');
    expect(shown.stdout).toContain(`⚑ idea 1: flagged by the auditor: ${FLAGGED_REASON} — kept out of the best; if it is legitimate: researcher accept ${runDir} 1`);
    // One baseline seed: the noise is unknown, so the top idea is named without claiming a win.
    expect(shown.stdout).toMatch(/the top idea is idea 3 "Larger steps, wider clip"/);
    const markdown = readFileSync(path.join(runDir, 'summary.md'), 'utf8');
    expect(markdown).toContain('The top idea, idea 3 — Larger steps, wider clip');
    expect(markdown).toMatch(/\| 1 \| Answer directly \| 1 \|.*succeeded, \*\*flagged by the auditor\*\* \|/);
    expect(markdown).toContain('## The auditor');
    expect(readFileSync(path.join(runDir, 'report.html'), 'utf8')).toContain('⚑ flagged');
    expect(readFileSync(path.join(runDir, 'ideas/1/idea.md'), 'utf8')).toContain(`- auditor (audited (qwen-local)): flagged — ${FLAGGED_REASON}`);
  });

  it('refuses to accept an idea that was not flagged, saying why', async () => {
    const refused = await researcher(['accept', runDir, '2']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe('error: idea 2 was judged ok by the auditor: there is nothing to accept (only flagged ideas are held back)\n');
  });

  it('lets the flagged idea be the best once a person accepts it, recording who and when', async () => {
    const accepted = await researcher(['accept', runDir, '1', '--by', 'A. Reviewer']);
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(accepted.stdout).toContain('idea 1 "Answer directly" accepted by A. Reviewer');
    const after = await showJson(runDir);
    expect(after.ideas[1]).toMatchObject({ heldBack: false, audit: { verdict: 'flagged', acceptedBy: 'A. Reviewer', acceptedAt: expect.any(String) } });
    expect(after.best).toMatchObject({ id: 1, reward: 1 });
    // The report files were rewritten with it.
    expect(readFileSync(path.join(runDir, 'summary.md'), 'utf8')).toContain('The top idea, idea 1 — Answer directly');
    const again = await researcher(['accept', runDir, '1']);
    expect(again.stdout).toMatch(/^idea 1 was already accepted by A\. Reviewer at /);
  });
});
