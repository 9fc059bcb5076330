/**
 * The lab notebook across sweeps, with the real CLI, the offline agent and the grpo-tiny
 * environment (real training runs): the first sweep writes notebooks/grpo-tiny.md from its
 * results; a second sweep in the same runs folder records the notebook it started from (in the
 * run and in every idea) and its first idea is the first sweep's best known configuration; a
 * `--fresh` sweep starts without it — and each writes its own part, keeping the person's notes.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planToSettings } from '../../src/agents/knobs.ts';
import type { RunSummary } from '../../src/report/run-summary.ts';
import { bestKnownIn, notebookHash } from '../../src/store/notebook.ts';
import { RunStore } from '../../src/store/run-store.ts';
import { CLEAN_ENV, researcher, showJson } from '../agents/cli-harness.ts';

const NOTE = 'NOTE FROM A PERSON: runs above learning_rate 5 were unstable on the old machine.';

let runsDir: string;
let notebookFile: string;
let first: RunSummary;
let second: RunSummary;
let fresh: RunSummary;
let afterFirst: string;
let afterSecond: string;
let afterFresh: string;

async function sweep(runId: string, ideas: number, ...flags: string[]): Promise<RunSummary> {
  const result = await researcher(
    ['run', 'environments/grpo-tiny', '--ideas', String(ideas), '--runs-dir', runsDir, '--run-id', runId, ...flags],
    CLEAN_ENV,
  );
  expect(result.code, result.stderr).toBe(0);
  expect(result.stdout).toContain('wrote notebooks/grpo-tiny.md');
  return showJson(path.join(runsDir, runId));
}

beforeAll(async () => {
  runsDir = mkdtempSync(path.join(tmpdir(), 'notebook-sweeps-'));
  notebookFile = path.join(runsDir, 'notebooks', 'grpo-tiny.md');
  // Seed 0: the third idea is the first to beat the baseline (by far), so there is a best known configuration.
  first = await sweep('first', 3);
  afterFirst = readFileSync(notebookFile, 'utf8');
  // A person adds a note before the next night.
  writeFileSync(notebookFile, afterFirst.replace('Notes of your own go here', `${NOTE}\n\nNotes of your own go here`));
  second = await sweep('second', 1);
  afterSecond = readFileSync(notebookFile, 'utf8');
  fresh = await sweep('fresh', 1, '--fresh');
  afterFresh = readFileSync(notebookFile, 'utf8');
}, 600_000);

afterAll(() => rmSync(runsDir, { recursive: true, force: true }));

describe('the lab notebook across offline sweeps on grpo-tiny', () => {
  it('the first sweep starts without one and writes what it established: knob effects with evidence, the best configuration', () => {
    expect(first.notebook).toEqual({ path: 'notebooks/grpo-tiny.md', fresh: false, sha256: null });
    expect(first.reflections.map((r) => [r.kind, r.afterIdeas, r.ok])).toEqual([['final', 3, true]]);
    expect(first.best!.id).not.toBe(0);
    const best = bestKnownIn(afterFirst)!;
    expect(best).toMatchObject({ run: 'first', idea: first.best!.id, reward: first.best!.reward });
    expect(Object.keys(best.settings!).sort()).toEqual([
      'clip_range',
      'group_size',
      'kl_coef',
      'learning_rate',
      'normalize_advantages',
      'temperature',
    ]);
    expect(afterFirst).toContain('### Run first — 3 of 3 ideas (the sweep ended)');
    // Which knobs moved the reward, by how much, over which ideas of which run.
    expect(afterFirst).toMatch(
      /- (raising|lowering|setting) \w+.* moved the reward by [-+][\d.]+ on average over \d idea\(s\).* — evidence: run first: #\d /,
    );
    expect(first.reflections[0].notebookSha256).toBe(notebookHash(afterFirst));
  });

  it("the second sweep records the notebook it started from — the first's findings and the person's note — in the run and in each idea", () => {
    const store = RunStore.open(path.join(runsDir, 'second'));
    const recorded = store.getMeta<{ text: string; sha256: string }>('notebook')!;
    store.close();
    expect(recorded.text).toContain(NOTE);
    expect(recorded.text).toContain('### Run first');
    expect(second.notebook).toEqual({ path: 'notebooks/grpo-tiny.md', fresh: false, sha256: notebookHash(recorded.text) });
    for (const idea of second.ideas.slice(1))
      expect(idea.meta.notebook).toEqual({ path: 'notebooks/grpo-tiny.md', sha256: recorded.sha256 });
  });

  it("the offline thinker's first idea in the second sweep is the notebook's best known configuration, and it scores what it scored there", () => {
    const best = bestKnownIn(afterFirst)!;
    const idea = second.ideas[1];
    expect(idea.hypothesis).toContain(`The lab notebook's best known configuration (run first, idea #${best.idea}`);
    const changed = planToSettings(idea.plan);
    expect(Object.keys(changed).length).toBeGreaterThan(0);
    for (const [knob, value] of Object.entries(changed)) expect(best.settings![knob]).toBe(value);
    expect(idea.reward).toBe(best.reward); // grpo-tiny is deterministic under a fixed seed
  });

  it('--fresh starts without the notebook (recorded so), and its first idea is the search’s own', () => {
    expect(fresh.run.fresh).toBe(true);
    expect(fresh.notebook).toEqual({ path: 'notebooks/grpo-tiny.md', fresh: true, sha256: null });
    for (const idea of fresh.ideas) expect(idea.meta).not.toHaveProperty('notebook');
    expect(fresh.ideas[1].hypothesis).not.toContain('lab notebook');
    expect(fresh.ideas[1].hypothesis).toMatch(/^Random exploration starting from the baseline/);
  });

  it("every sweep adds its own part, newest first, and keeps the person's note and the earlier parts", () => {
    expect(afterSecond).toContain(NOTE);
    expect(afterSecond.indexOf('### Run second')).toBeLessThan(afterSecond.indexOf('### Run first'));
    expect(afterFresh).toContain(NOTE);
    expect(afterFresh.match(/^### Run (\S+)/gm)).toEqual(['### Run fresh', '### Run second', '### Run first']);
    // The first run's part is kept as it was written.
    const part = (text: string) => text.slice(text.indexOf('### Run first'), text.indexOf('<!-- ai-researcher:end'));
    expect(part(afterFresh)).toBe(part(afterFirst));
  });
});
