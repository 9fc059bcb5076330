import { describe, expect, it } from 'vitest';
import { CommitFiles, codeSection, estimateTokens, historySection } from '../../../src/agents/llm/context.ts';
import { renderTemplate } from '../../../src/agents/llm/template.ts';
import type { Goal } from '../../../src/core/ideas.ts';
import type { ResearchContext } from '../../../src/core/interfaces.ts';
import type { IdeaRecord } from '../../../src/core/types.ts';
import type { EvaluationCurve } from '../../../src/store/tables.ts';
import { EnvironmentConfig } from '../../../src/environment/schema.ts';

/** A research context over files held in memory (one commit, "c0"). */
function contextWith(files: Record<string, string>, history: IdeaRecord[] = [], goal: Goal = 'maximize', progress?: { pattern: string; steps: number }): ResearchContext {
  const config = EnvironmentConfig.parse({
    name: 'mem',
    description: 'Train a tiny model.',
    code: { path: '.' },
    context: ['*.py', 'docs/*.md', 'data/*'],
    editable: ['*.py'],
    protected: ['data/**'],
    run: { command: 'python3 train.py', timeout: '1m' },
    reward: { source: 'json', file: 'metrics.json', key: 'acc', goal },
    knobs: [{ name: 'lr', file: 'config.py', pattern: '^LR = (\\S+)', type: 'float', min: 0.001, max: 1 }],
    ...(progress ? { progress } : {}),
  });
  const read = async (p: string) => files[p] ?? null;
  return {
    ideaId: history.length,
    environment: { config, dir: '/mem', file: '/mem/environment.yaml', code: { kind: 'path', path: '/mem' } },
    history,
    parent: null,
    readFile: read,
    readFileAt: async (_commit, p) => read(p),
    listFiles: async () => Object.keys(files),
    random: () => 0.5,
    ledger: { cached: () => null, record: () => {}, spentUsd: () => 0, maxCostUsd: null },
  };
}

function idea(id: number, fields: Partial<IdeaRecord>): IdeaRecord {
  return {
    id,
    parentId: null,
    title: `idea ${id}`,
    hypothesis: `hypothesis ${id}`,
    plan: '',
    expectedEffect: '',
    status: 'succeeded',
    failureReason: null,
    error: null,
    diff: null,
    commit: `c${id}`,
    reward: null,
    rewardStd: null,
    rewardCount: 1,
    createdAt: '',
    finishedAt: null,
    meta: {},
    ...fields,
  };
}

const line = (n: number) => `${'x = 1  # padding to make the file bigger\n'.repeat(n)}`;

describe('code in the prompt, within a token budget', () => {
  const files = {
    'train.py': `import config\n${line(20)}`, // editable, run
    'config.py': 'LR = 0.1\n', // editable, knob
    'utils.py': line(40), // editable
    'docs/notes.md': line(80), // read-only, the largest
    'data/answers.txt': 'secret\n', // protected: never shown
    'model.bin': 'x\0y', // not in the context globs
  };

  it('shows every context file when they fit, in path order, and never a protected one', async () => {
    const section = await codeSection(contextWith(files), new CommitFiles(), 'c0', 100_000);
    expect(section.included).toEqual(['config.py', 'docs/notes.md', 'train.py', 'utils.py']);
    expect(section.omitted).toEqual([]);
    expect(section.text).toContain('### config.py\n```python\nLR = 0.1\n```');
    expect(section.text).not.toContain('secret');
  });

  it('leaves out the least relevant files first, the largest first among equals, and says so', async () => {
    const all = await codeSection(contextWith(files), new CommitFiles(), 'c0', 100_000);
    const budget = estimateTokens(all.text) - 10; // one file must go: the read-only notes
    const section = await codeSection(contextWith(files), new CommitFiles(), 'c0', budget);
    expect(section.included).toEqual(['config.py', 'train.py', 'utils.py']);
    expect(section.omitted.map((o) => o.path)).toEqual(['docs/notes.md']);
    expect(section.text).toMatch(new RegExp(`\\(Left out to fit the context budget of ${budget} tokens: docs/notes.md \\(~\\d+ tokens\\)\\.\\)$`));

    const tight = await codeSection(contextWith(files), new CommitFiles(), 'c0', 300);
    // utils.py (editable only) goes before train.py (editable and run) and config.py (editable, knob)
    expect(tight.included).toEqual(['config.py', 'train.py']);
    expect(tight.omitted.map((o) => o.path)).toEqual(['docs/notes.md', 'utils.py']);
  });

  it('cuts a file that does not fit even alone, rather than showing nothing', async () => {
    const section = await codeSection(contextWith({ 'train.py': line(400) }), new CommitFiles(), 'c0', 200);
    expect(section.included).toEqual(['train.py']);
    expect(section.text).toMatch(/\(train\.py is cut here: lines \d+-401 do not fit the context budget\)/);
    expect(estimateTokens(section.text)).toBeLessThan(260);
  });
});

describe('the run so far, for the thinker', () => {
  const diff = (n: number) => `--- a/config.py\n+++ b/config.py\n@@ -1 +1 @@\n-LR = 0.1\n+LR = 0.${n}\n`;
  const history = [
    idea(0, { title: 'baseline', reward: 0.5 }),
    idea(1, { reward: 0.41, diff: diff(2) }),
    idea(2, { reward: 0.62, diff: diff(3), parentId: 1 }),
    idea(3, { status: 'failed', failureReason: 'crashed', error: 'exit 1: CUDA out of memory', diff: diff(4) }),
    idea(4, { status: 'running', reward: 0.9, rewardCount: 1 }), // a first seed in, a confirmation still to come
  ];

  it('logs the finished ideas in order with rewards, diffs and reasons, then the standings: best first, failures, what is running', () => {
    const text = historySection(contextWith({}, history), { budgetTokens: 10_000, diffLines: 20 });
    expect(text).toMatch(
      /^Baseline \(the unmodified code\): reward 0\.5\.\n\nIdeas tried, in the order they finished:\n- #1 "idea 1": reward 0\.41, -0\.09 vs baseline \(worse\)\n {2}hypothesis: hypothesis 1\n```diff\n[\s\S]*\+LR = 0\.2\n```\n- #2 "idea 2" \(built on #1\): reward 0\.62, \+0\.12 vs baseline \(better\)\n {2}hypothesis: hypothesis 2\n```diff\n[\s\S]*\+LR = 0\.3\n```\n- #3 "idea 3": crashed — exit 1: CUDA out of memory\n {2}hypothesis: hypothesis 3\n\n/,
    );
    // The standings repeat no diff the log already shows.
    expect(text).toMatch(/\n\nBest ideas so far \(best first, 2 succeeded in all\):\n- #2 "idea 2": reward 0\.62\n- #1 "idea 1": reward 0\.41\n\n/);
    expect(text).toContain('Recent failures (1 in all, newest first), with the reason:\n- #3 "idea 3": crashed — exit 1: CUDA out of memory');
    expect(text).toMatch(/In progress now \(do not propose these again\):\n- #4 "idea 4"$/);
    expect(text).not.toContain('0.9'); // a running idea's reward may still change: it is not shown
    expect(text.match(/\+LR = 0\.3/g)).toHaveLength(1);
  });

  it('logs ideas in the order they finished, not by id', () => {
    const finishedOutOfOrder = [idea(0, { reward: 0.5 }), idea(1, { reward: 0.4, finishedAt: '2026-01-01T00:02:00.000Z' }), idea(2, { reward: 0.6, finishedAt: '2026-01-01T00:01:00.000Z' })];
    const text = historySection(contextWith({}, finishedOutOfOrder), { budgetTokens: 10_000, diffLines: 20 });
    expect(text).toMatch(/Ideas tried, in the order they finished:\n- #2 [\s\S]*\n- #1 [\s\S]*Best ideas so far/);
  });

  it('ranks by the goal: for a reward to minimise, lower is better', () => {
    const text = historySection(contextWith({}, history, 'minimize'), { budgetTokens: 10_000, diffLines: 0 });
    expect(text).toContain('- #1 "idea 1": reward 0.41, +0.09 vs baseline (better)');
    expect(text).toMatch(/Best ideas so far[^\n]*\n- #1 "idea 1": reward 0\.41\n- #2 "idea 2": reward 0\.62\n/);
  });

  const many = (count: number) => [
    idea(0, { title: 'baseline', reward: 0.5 }),
    ...Array.from({ length: count }, (_, i) =>
      i % 5 === 4
        ? idea(i + 1, { status: 'failed', failureReason: 'timed-out', error: `killed after 60 s (${i + 1})` })
        : idea(i + 1, { reward: 0.3 + ((i * 37) % 100) / 100, diff: diff(i).repeat(3) }),
    ),
  ];

  it('keeps within its budget at 50 and 500 ideas: later entries take one line, the rest are counted, the best keep their diffs', () => {
    for (const count of [50, 500]) {
      const text = historySection(contextWith({}, many(count)), { budgetTokens: 1_500, diffLines: 60 });
      expect(estimateTokens(text)).toBeLessThanOrEqual(1_500);
      expect(text).toContain(`- #${count} "idea ${count}": timed-out — killed after 60 s (${count})`); // the newest is always there
      expect(text).toMatch(/Best ideas so far \(best first, \d+ succeeded in all\):\n- #\d+ "idea \d+": reward 1\.29[^\n]*\n {2}hypothesis: [^\n]*\n```diff/);
      expect(text).toContain(`Recent failures (${count / 5} in all, newest first)`);
    }
    const folded = historySection(contextWith({}, many(500)), { budgetTokens: 1_500, diffLines: 60 });
    expect(folded).toMatch(/- … \d+0 more ideas are left out here to fit the budget \(\d+ succeeded, \d+ failed\); the best of all are in the standings below\n/);
    expect(folded).toContain('- #1 "idea 1": reward 0.3'); // the first ideas stay where they were written
  });

  it('only appends: each prompt starts with the previous one up to its standings, but for a fold once every ten ideas', () => {
    const all = many(300);
    let previousLog = '';
    let rewrites = 0;
    for (let n = 2; n <= all.length; n++) {
      const text = historySection(contextWith({}, all.slice(0, n)), { budgetTokens: 1_500, diffLines: 60 });
      expect(estimateTokens(text)).toBeLessThanOrEqual(1_500);
      if (!text.startsWith(previousLog)) rewrites++;
      previousLog = text.slice(0, text.indexOf('\n\nBest ideas so far'));
    }
    expect(rewrites).toBeGreaterThan(0); // 300 ideas do not fit 1,500 tokens: some are folded
    expect(rewrites).toBeLessThanOrEqual(Math.ceil(300 / 10));
  });
});

describe('learning curves in the history', () => {
  const progress = { pattern: 'step (?<step>\\d+) acc (?<value>[\\d.]+)', steps: 60 };
  const points = (values: number[], every = 5) => values.map((value, i) => ({ step: i * every, value, atMs: i * 1000 }));
  const curve = (evaluationId: number, ideaId: number, values: number[], seed = 0): EvaluationCurve => ({ evaluationId, ideaId, seed, points: points(values) });
  const history = [
    idea(0, { title: 'baseline', reward: 0.95, finishedAt: '2026-01-01T00:01:00.000Z' }),
    idea(1, { reward: 0.97, finishedAt: '2026-01-01T00:02:00.000Z' }),
    idea(2, { status: 'failed', failureReason: 'timed-out', error: 'killed after 60 s', finishedAt: '2026-01-01T00:03:00.000Z' }),
    idea(3, { reward: 0.5, finishedAt: '2026-01-01T00:04:00.000Z' }),
  ];
  // Thirteen points each (steps 0-60), but idea 2's run ended at step 15 and idea 3 has no curve.
  const rising = [0.88, 0.9, 0.91, 0.92, 0.93, 0.93, 0.94, 0.94, 0.95, 0.95, 0.96, 0.96, 0.97];
  const curves = [curve(1, 0, rising.map((v) => v - 0.02)), curve(2, 1, rising), curve(3, 2, [0.88, 0.6, 0.31, 0.12]), curve(4, 1, rising.map(() => 0.5), 1)];

  it('shows five points of the first evaluation of each idea next to its outcome, and where a run ended before the full run', () => {
    const text = historySection({ ...contextWith({}, history, 'maximize', progress), curves }, { budgetTokens: 10_000, diffLines: 0 });
    expect(text).toMatch(/^Baseline \(the unmodified code\): reward 0\.95; curve: 0\.86@0 0\.9@15 0\.92@30 0\.93@45 0\.95@60\.\n/);
    // Idea 1's second seed (evaluation 4, flat at 0.5) is not what the entry shows.
    expect(text).toContain('- #1 "idea 1": reward 0.97, +0.02 vs baseline (better); curve: 0.88@0 0.92@15 0.94@30 0.95@45 0.97@60\n');
    expect(text).toContain('- #2 "idea 2": timed-out — killed after 60 s; curve: 0.88@0 0.6@5 0.31@10 0.12@15 (ended at step 15 of 60)\n');
    expect(text).toMatch(/- #3 "idea 3": reward 0\.5, -0\.45 vs baseline \(worse\)\n/);
  });

  it('keeps the history append-only with curves: a new idea or a confirmation seed never rewrites an earlier entry', () => {
    const grown = [...history, idea(4, { status: 'running' })];
    const before = historySection({ ...contextWith({}, grown, 'maximize', progress), curves }, { budgetTokens: 10_000, diffLines: 0 });
    const finished = grown.map((i) => (i.id === 4 ? { ...i, status: 'succeeded' as const, reward: 0.9, finishedAt: '2026-01-01T00:09:00.000Z' } : i));
    const more = [...curves, curve(5, 4, rising), curve(6, 0, rising.map(() => 0.1), 1)];
    const after = historySection({ ...contextWith({}, finished, 'maximize', progress), curves: more }, { budgetTokens: 10_000, diffLines: 0 });
    expect(after.startsWith(before.slice(0, before.indexOf('\n\nBest ideas so far')))).toBe(true);
    expect(after).toContain('- #4 "idea 4": reward 0.9, -0.05 vs baseline (worse); curve: 0.88@0');
  });

  it('shows no curve where the environment declares no progress or the run reported none', () => {
    const text = historySection(contextWith({}, history), { budgetTokens: 10_000, diffLines: 0 });
    expect(text).not.toContain('curve:');
  });
});

describe('prompt templates', () => {
  it('drops lines whose only placeholder is empty, keeps code as it is, and splits at cache marks', () => {
    const parts = renderTemplate('## Code\n{{code}}\n\n<!-- cache -->\n\nIdea: {{title}}\n\n{{instruction}}\n\nGo.', {
      code: 'a = 1\n\n\n\nb = 2',
      title: 'warmup',
      instruction: '',
    });
    expect(parts).toEqual([
      { text: '## Code\na = 1\n\n\n\nb = 2', cache: true },
      { text: 'Idea: warmup\n\nGo.' },
    ]);
  });
});
