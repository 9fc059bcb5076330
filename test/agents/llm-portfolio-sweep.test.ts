/**
 * A sweep whose thinker has two models (a model portfolio), against a loopback OpenAI-compatible
 * server that answers per model: "alpha" proposes values of X near the peak of
 * test/fixtures/quadratic (reward 10 − (X − 3)²), "beta" values far below it. The run records
 * which model proposed each idea, on the idea and on its calls, and `show --json` tallies the
 * models. Then a sweep is killed with SIGKILL while an idea is in flight, `researcher resume`
 * finishes it, and the bandit's saved counts agree with the recorded ideas: every idea counted
 * once, the one in flight included, none lost.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBetter } from '../../src/core/ideas.ts';
import type { IdeaRecord } from '../../src/core/types.ts';
import type { RunSummary } from '../../src/report/run-summary.ts';
import type { PortfolioState } from '../../src/search/model-portfolio.ts';
import { RunStore } from '../../src/store/run-store.ts';
import { FakeOpenAIServer } from '../fakes/openai-server.ts';
import { idea, messagesOf, roleOf, setX } from '../fakes/researcher-replies.ts';
import type { RecordedRequest, Reply } from '../fakes/scripted-server.ts';
import { copyEnvironment, REPO_ROOT, tempDir } from '../helpers/sweep.ts';
import { CLEAN_ENV, researcher, showJson } from './cli-harness.ts';

const CLI = path.join(REPO_ROOT, 'bin/researcher.js');

/** What each thinker model proposes, in turn: alpha near the peak (X = 3), beta far from it. */
const PROPOSALS: Record<string, number[]> = {
  alpha: [2, 4, 2.5, 3.5, 2.8, 3.2, 2.2, 3.8, 2.6, 3.4],
  beta: [0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 5.6, 5.7],
};

/** Answers the thinker by the model asked, and the coder with the edit the idea's title asks for. */
function perModel(): (request: RecordedRequest) => Reply {
  const turn: Record<string, number> = { alpha: 0, beta: 0 };
  return (request) => {
    const model = (request.body as { model: string }).model;
    if (roleOf(request) === 'thinker') {
      const values = PROPOSALS[model];
      if (!values) return { status: 500, message: `the thinker asked model ${model}, which is not in the portfolio` };
      return idea(values[turn[model]++ % values.length]);
    }
    const title = messagesOf(request)
      .map((m) => m.text)
      .join('\n')
      .match(/Title: X to ([\d.]+)/);
    return title ? setX(Number(title[1])) : { status: 500, message: 'no idea title in the coder prompt' };
  };
}

let server: FakeOpenAIServer;
let agentFile: string;
const dirs: string[] = [];

beforeAll(async () => {
  server = await FakeOpenAIServer.start({ apiKey: 'sk-local', models: ['alpha', 'beta', 'coder-model'] });
  server.respond(perModel());
  const dir = tempDir('portfolio-agent-');
  dirs.push(dir);
  agentFile = path.join(dir, 'portfolio.yaml');
  writeFileSync(
    agentFile,
    `name: portfolio
model: { provider: openai-compatible, baseUrl: "${server.url}", apiKeyEnv: PORTFOLIO_TEST_KEY }
thinker:
  models:
    - { model: alpha }
    - { model: beta, weight: 2 }
  portfolio: { policy: ucb }
coder: { model: coder-model }
prices:
  alpha: { input: 4, output: 16 }
  beta: { input: 0.5, output: 2 }
  coder-model: { input: 1, output: 4 }
`,
  );
});

afterAll(async () => {
  await server?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const ENV = { ...CLEAN_ENV, PORTFOLIO_TEST_KEY: 'sk-local' };

/** The environment of a researcher started as its own process: the key, and none of the machine's model variables. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PORTFOLIO_TEST_KEY: 'sk-local', CI: 'true' };
  for (const key of Object.keys(CLEAN_ENV)) delete env[key];
  return env;
}

/** Whether an idea beat its parent (the baseline for a root idea): the bandit's reward, computed here on its own. */
function improved(ideaRecord: IdeaRecord, ideas: IdeaRecord[]): boolean {
  const reference = ideas.find((i) => i.id === (ideaRecord.parentId ?? 0))!;
  return ideaRecord.status === 'succeeded' && isBetter(ideaRecord.reward!, reference.reward!, 'maximize');
}

/**
 * The bandit's saved counts against the recorded ideas: nothing pending, each model chosen once
 * per idea it proposed, each counted once, its rewards the ideas that improved.
 */
function expectCountsMatchIdeas(store: RunStore): PortfolioState {
  const state = store.getMeta<{ search: unknown; modelPortfolio: PortfolioState }>('searchState')!.modelPortfolio;
  const ideas = store.ideas();
  expect(state.pending).toEqual({});
  for (const model of ['alpha', 'beta']) {
    const proposed = ideas.filter((i) => i.id !== 0 && i.meta.thinkerModel === model);
    expect(state.models[model], model).toEqual({
      chosen: proposed.length,
      observed: proposed.length,
      reward: proposed.filter((i) => improved(i, ideas)).length,
      costUsd: expect.any(Number),
      notCounted: 0,
    });
  }
  // Every idea but the baseline was chosen for one of the two.
  expect(state.models.alpha.chosen + state.models.beta.chosen).toBe(ideas.length - 1);
  // The cost the bandit saw is what the run recorded for each model's thinker calls.
  for (const model of ['alpha', 'beta']) {
    const recorded = store
      .recordedModelCalls()
      .filter((c) => c.role === 'thinker' && c.model === model)
      .reduce((sum, c) => sum + c.usage.costUsd, 0);
    expect(state.models[model].costUsd).toBeCloseTo(recorded, 10);
  }
  return state;
}

/** Each thinker call was made with the model recorded on its idea. */
function expectCallsUseTheIdeasModel(store: RunStore): void {
  const ideas = new Map(store.ideas().map((i) => [i.id, i]));
  const thinkerCalls = store.recordedModelCalls().filter((c) => c.role === 'thinker');
  expect(thinkerCalls.length).toBeGreaterThanOrEqual(ideas.size - 1);
  for (const call of thinkerCalls) expect(call.model, `idea ${call.ideaId}`).toBe(ideas.get(call.ideaId!)!.meta.thinkerModel);
}

describe('a sweep with two thinker models', () => {
  let summary: RunSummary;
  let runDir: string;

  beforeAll(async () => {
    const runsDir = tempDir('portfolio-runs-');
    dirs.push(runsDir);
    runDir = path.join(runsDir, 'two');
    const result = await researcher(['run', 'test/fixtures/quadratic', '--agent', agentFile, '--ideas', '6', '--runs-dir', runsDir, '--run-id', 'two'], ENV);
    expect(result.code, result.stderr).toBe(0);
    summary = await showJson(runDir);
  });

  it('lets the bandit choose a model for each idea, and records it on the idea and on its calls', () => {
    const ideas = summary.ideas.filter((i) => i.id !== 0);
    expect(ideas).toHaveLength(6);
    expect(ideas.every((i) => i.status === 'succeeded')).toBe(true);
    const models = ideas.map((i) => i.meta.thinkerModel);
    // Beta's weight (2) makes it first; then UCB explores alpha, and both keep being tried.
    expect(models[0]).toBe('beta');
    expect(new Set(models)).toEqual(new Set(['alpha', 'beta']));
    // Each idea's title is what its model proposes: the server answered per model.
    for (const i of ideas) expect(PROPOSALS[i.meta.thinkerModel as string].map((x) => `X to ${x}`)).toContain(i.title);
    const store = RunStore.open(runDir);
    try {
      expectCallsUseTheIdeasModel(store);
      expectCountsMatchIdeas(store);
    } finally {
      store.close();
    }
  });

  it('tallies ideas, successes, best reward and dollars per model in show --json and show', async () => {
    const ideas = summary.ideas.filter((i) => i.id !== 0);
    for (const model of ['alpha', 'beta']) {
      const mine = ideas.filter((i) => i.meta.thinkerModel === model);
      const row = summary.models.find((r) => r.role === 'thinker' && r.model === model)!;
      const best = Math.max(...mine.map((i) => i.reward!));
      expect(row).toMatchObject({ ideas: mine.length, succeeded: mine.length, best, bestIdea: mine.find((i) => i.reward === best)!.id });
      expect(row.improved).toBe(mine.filter((i) => i.improvement! > 0).length);
      expect(row.costUsd).toBeGreaterThan(0);
    }
    // Alpha's values all beat the baseline (X = 0.5, reward 3.75); beta's never do.
    expect(summary.models.find((r) => r.model === 'beta')!.improved).toBe(0);
    expect(summary.models.find((r) => r.role === 'coder')).toMatchObject({ model: 'coder-model', ideas: 6, succeeded: 6 });
    const total = summary.models.reduce((sum, r) => sum + r.costUsd, 0);
    expect(total).toBeCloseTo(summary.usage.costUsd, 10);
    const shown = await researcher(['show', runDir]);
    expect(shown.stdout).toMatch(/models:\n {2}role +model +ideas +succeeded +improved +best +dollars\n {2}thinker +beta /);
    expect(readFileSync(path.join(runDir, 'report.html'), 'utf8')).toContain('<section id="models"');
    const markdown = readFileSync(path.join(runDir, 'summary.md'), 'utf8');
    expect(markdown).toContain('## Models');
    expect(markdown).toMatch(/^\| thinker \| `beta` \| \d+ \| \d+ \| 0 \| /m);
    expect(markdown).toMatch(/^\| coder \| `coder-model` \| 6 \| 6 \| /m);
  });
  it('refuses to resume with one thinker model, and resumes with both, continuing the counts', async () => {
    const original = readFileSync(agentFile, 'utf8');
    const single = original.replace(/ {2}models:\n.*\n.*\n {2}portfolio: .*\n/, '  model: alpha\n');
    expect(single).not.toContain('models:');
    writeFileSync(agentFile, single);
    try {
      const refused = await researcher(['resume', runDir, '--ideas', '8'], ENV);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/this run's thinker chose among several models \(thinker\.models: in .*portfolio\.yaml\), which its agent file no longer lists: list them again to resume it/);
    } finally {
      writeFileSync(agentFile, original);
    }
    const resumed = await researcher(['resume', runDir], ENV); // --ideas 8 was kept
    expect(resumed.code, resumed.stderr).toBe(0);
    const store = RunStore.open(runDir);
    try {
      expect(store.ideas()).toHaveLength(9);
      // Eight ideas in the counts: the six of the first session and the two of this one.
      const state = expectCountsMatchIdeas(store);
      expect(state.models.alpha.chosen + state.models.beta.chosen).toBe(8);
      expectCallsUseTheIdeasModel(store);
    } finally {
      store.close();
    }
  });
});

describe('a portfolio sweep killed with SIGKILL and resumed', () => {
  it('resumes the bandit from its saved state: each idea counted once, the one in flight too', async () => {
    const environmentDir = copyEnvironment();
    dirs.push(path.dirname(environmentDir));
    const train = path.join(environmentDir, 'code/train.py');
    // Slow enough that an idea is always in flight when the researcher is killed.
    writeFileSync(train, `import time\ntime.sleep(1.5)\n${readFileSync(train, 'utf8')}`);
    const runsDir = tempDir('portfolio-killed-');
    dirs.push(runsDir);
    const runDir = path.join(runsDir, 'killed');
    const child = spawn(process.execPath, [CLI, 'run', environmentDir, '--agent', agentFile, '--ideas', '6', '--runs-dir', runsDir, '--run-id', 'killed'], {
      stdio: 'ignore',
      env: childEnv(),
    });

    // Kill it once two ideas have finished and a third is being evaluated.
    let store: RunStore | undefined;
    await expect
      .poll(
        () => {
          try {
            store ??= RunStore.open(runDir);
            const finished = store.ideas().filter((i) => i.id > 0 && (i.status === 'succeeded' || i.status === 'failed'));
            return finished.length >= 2 && store.runningEvaluations().some((e) => e.ideaId > 0 && e.handle?.pid);
          } catch {
            return false;
          }
        },
        { timeout: 120_000, interval: 100 },
      )
      .toBe(true);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));

    // What the killed researcher left: the idea in flight is pending in the saved state, not counted.
    const left = store!.getMeta<{ modelPortfolio: PortfolioState }>('searchState')!.modelPortfolio;
    const inFlight = store!.ideas().filter((i) => i.id > 0 && i.status !== 'succeeded' && i.status !== 'failed');
    expect(inFlight.length).toBeGreaterThanOrEqual(1);
    expect(Object.keys(left.pending).sort()).toEqual(inFlight.map((i) => String(i.id)).sort());
    for (const i of inFlight) expect(left.pending[String(i.id)]).toBe(i.meta.thinkerModel);

    const resumed = await researcher(['resume', runDir], ENV);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/resuming run killed/);

    const ideas = store!.ideas();
    expect(ideas).toHaveLength(7); // the baseline and 6 ideas, none twice
    expect(ideas.every((i) => i.status === 'succeeded')).toBe(true);
    // The in-flight idea kept its model, and its calls (before and after the kill) used it.
    for (const i of inFlight) expect(ideas.find((x) => x.id === i.id)!.meta.thinkerModel).toBe(i.meta.thinkerModel);
    expectCallsUseTheIdeasModel(store!);
    // The counts continue those saved before the kill (a fresh bandit would have counted only the resumed ideas).
    const state = expectCountsMatchIdeas(store!);
    const summary = await showJson(runDir);
    for (const model of ['alpha', 'beta']) {
      expect(summary.models.find((r) => r.role === 'thinker' && r.model === model)!.ideas).toBe(state.models[model].chosen);
    }
    store!.close();
  });
});
