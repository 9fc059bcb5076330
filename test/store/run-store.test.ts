import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/core/errors.ts';
import { RunConfig } from '../../src/core/run-config.ts';
import { RunStore } from '../../src/store/run-store.ts';
import { REPO_ROOT, tempDir } from '../helpers/sweep.ts';

function newStore(): RunStore {
  return RunStore.create(
    tempDir(),
    RunConfig.parse({ runId: 'r', createdAt: 'now', environmentDir: '/x', environmentName: 'x', agent: 'offline', ideas: 5 }),
  );
}

const draft = { title: 't', hypothesis: 'h', plan: 'p', expectedEffect: 'e' };
const ok = (reward: number) => ({ reward, failure: null, exitCode: 0, timedOut: false, oomKilled: false, durationMs: 10 });

describe('RunStore', () => {
  it('aggregates seeds into mean, sample std and count', () => {
    const store = newStore();
    const id = store.insertIdea(draft, null);
    for (const [seed, reward] of [0.5, 0.7, 0.6].entries())
      store.finishEvaluation(store.startEvaluation(id, seed, 'local', 'log', []), ok(reward));
    const idea = store.finishIdea(id);
    expect(idea.status).toBe('succeeded');
    expect(idea.reward).toBeCloseTo(0.6);
    expect(idea.rewardStd).toBeCloseTo(0.1);
    expect(idea.rewardCount).toBe(3);
  });

  it('marks an idea failed with the first failed evaluation when no seed produced a reward', () => {
    const store = newStore();
    const id = store.insertIdea(draft, null);
    store.finishEvaluation(store.startEvaluation(id, 0, 'local', 'log', []), {
      ...ok(0),
      reward: null,
      failure: { reason: 'timed-out', message: 'passed its 5s limit' },
      timedOut: true,
      exitCode: null,
    });
    expect(store.finishIdea(id)).toMatchObject({ status: 'failed', failureReason: 'timed-out', error: 'passed its 5s limit' });
  });

  it('requeues an unfinished idea: its running evaluation goes, its committed change stays', () => {
    const store = newStore();
    const id = store.insertIdea(draft, null);
    store.setIdeaCode(id, { edit: { kind: 'search-replace', blocks: [] }, diff: 'd', commit: 'abc' });
    store.setIdeaStatus(id, 'running');
    store.startEvaluation(id, 0, 'local', 'log', []);
    store.requeueIdea(id);
    expect(store.idea(id)).toMatchObject({ status: 'ready', commit: 'abc', diff: 'd' });
    expect(store.runningEvaluations()).toEqual([]);
  });

  it('sums model usage per idea and per run, and answers cached responses by content address', () => {
    const store = newStore();
    const id = store.insertIdea(draft, null);
    const usage = { inputTokens: 100, cachedTokens: 40, cacheWriteTokens: 0, outputTokens: 10, costUsd: 0.01 };
    store.recordModelCall({
      ideaId: id,
      role: 'thinker',
      provider: 'openai',
      model: 'm',
      cacheKey: 'k1',
      usage,
      latencyMs: 5,
      response: 'R',
    });
    store.recordModelCall({
      ideaId: null,
      role: 'coder',
      provider: 'openai',
      model: 'm',
      cacheKey: null,
      usage,
      latencyMs: 5,
      response: null,
    });
    expect(store.usage(id)).toEqual(usage);
    expect(store.usage()).toEqual({ inputTokens: 200, cachedTokens: 80, cacheWriteTokens: 0, outputTokens: 20, costUsd: 0.02 });
    expect(store.cachedResponse('k1')).toBe('R');
    expect(store.cachedResponse('k2')).toBeNull();
  });

  it('keeps every committed write when the process is killed with SIGKILL', () => {
    const dir = tempDir();
    const script = `
      import { RunStore } from ${JSON.stringify(path.join(REPO_ROOT, 'src/store/run-store.ts'))};
      import { RunConfig } from ${JSON.stringify(path.join(REPO_ROOT, 'src/core/run-config.ts'))};
      const store = RunStore.create(${JSON.stringify(dir)}, RunConfig.parse({ runId: 'r', createdAt: 'now', environmentDir: '/x', environmentName: 'x', agent: 'offline', ideas: 5 }));
      for (let i = 1; i <= 50; i++) store.insertIdea({ title: 'idea ' + i, hypothesis: '', plan: '', expectedEffect: '' }, null);
      process.kill(process.pid, 'SIGKILL');
    `;
    try {
      execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO_ROOT, stdio: 'pipe' });
    } catch (error) {
      expect((error as { signal?: string }).signal).toBe('SIGKILL');
    }
    const store = RunStore.open(dir);
    expect(store.ideas()).toHaveLength(50);
    expect(store.ideas()[49].title).toBe('idea 50');
  });

  it('says what a run folder is when asked to open something else', () => {
    expect(() => RunStore.open(tempDir())).toThrow(UsageError);
    expect(() => RunStore.open(tempDir())).toThrow(/is not a run: run\.db is missing/);
  });
});
