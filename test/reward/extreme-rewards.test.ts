/**
 * Rewards at the ends of the doubles, written by a real run through a real sweep: ±1.79e308 and
 * 5e-324 are finite, so they are rewards, and nothing downstream (the seeds' mean and spread,
 * the store, `show`, `show --json`, `report` with its plot, summary.md, `compare`, `watch`) may
 * crash on them or turn them into Infinity, NaN or null. Values that are not finite JSON
 * numbers ("0x10", 1e999, true) are bad-metric with a message saying why.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.ts';
import type { Edit } from '../../src/core/types.ts';
import { startWatchServer } from '../../src/report/watch-server.ts';
import { createTestRun, scriptedCoder, scriptedThinker, tempDir, type TestRun } from '../helpers/sweep.ts';

const MAX = 1.79e308;

/** Text with the one legitimate mention of Infinity (idea 5's failure message) taken out. */
function withoutRefusal(text: string): string {
  return text.replaceAll('score is Infinity, not a finite number', '');
}

/** An environment whose run writes the raw JSON text A (even seeds) or B (odd seeds) as its score. */
function extremeEnvironment(): string {
  const dir = path.join(tempDir('researcher-extreme-'), 'extreme');
  mkdirSync(path.join(dir, 'code'), { recursive: true });
  writeFileSync(
    path.join(dir, 'environment.yaml'),
    [
      'name: extreme',
      'description: The run reports whatever score its config says, as raw JSON text.',
      'code: { path: ./code }',
      'context: ["*.py"]',
      'editable: ["*.py"]',
      'run: { command: python3 train.py, timeout: 20s }',
      'reward: { source: json, file: metrics.json, key: score, goal: maximize }',
      '',
    ].join('\n'),
  );
  writeFileSync(path.join(dir, 'code', 'config.py'), "A = '0.5'\nB = '0.6'\n");
  writeFileSync(
    path.join(dir, 'code', 'train.py'),
    [
      'import os',
      'from config import A, B',
      'seed = int(os.environ["SEED"])',
      'with open(os.path.join(os.environ["OUTPUT_DIR"], "metrics.json"), "w") as f:',
      '    f.write(\'{"score": %s}\' % (A if seed % 2 == 0 else B))',
      '',
    ].join('\n'),
  );
  return dir;
}

function scores(a: string, b: string = a): Edit {
  return { kind: 'search-replace', blocks: [{ path: 'config.py', search: "A = '0.5'\nB = '0.6'", replace: `A = '${a}'\nB = '${b}'` }] };
}

async function cli(...args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const log = vi.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => void (out += `${parts.join(' ')}\n`));
  try {
    return { code: await main(args), out };
  } finally {
    log.mockRestore();
  }
}

describe('extreme but finite rewards, through a real sweep and every view of it', () => {
  let run: TestRun;

  beforeAll(async () => {
    run = await createTestRun(extremeEnvironment(), { ideas: 6, seeds: 2, baselineSeeds: 2, confirmSeeds: 0, repairRounds: 0 });
    const coder = scriptedCoder([
      scores(String(MAX)), // both seeds at the top: the naive sum of the two overflows
      scores(String(-MAX), String(MAX)), // mean 0, a spread that does not fit a double
      scores('5e-324', String(-MAX)), // the smallest subnormal next to the bottom
      scores('"0x10"'), // a string, not a number
      scores('1e999'), // valid JSON that parses to Infinity
      scores('true'),
    ]);
    const summary = await run.sweep({ thinker: scriptedThinker([{}]), coder });
    expect(summary.stoppedBy).toBe('budget');
    run.store.close();
  }, 120_000);

  it('keeps means and spreads finite, and refuses what is not a finite JSON number', async () => {
    const { RunStore } = await import('../../src/store/run-store.ts');
    const store = RunStore.open(run.runDir);
    try {
      const idea = (id: number) => store.idea(id)!;
      expect(idea(0)).toMatchObject({ status: 'succeeded', rewardCount: 2 });
      expect(idea(0).reward).toBeCloseTo(0.55);
      expect(idea(1)).toMatchObject({ status: 'succeeded', reward: MAX, rewardStd: 0, rewardCount: 2 });
      expect(idea(2)).toMatchObject({ status: 'succeeded', reward: 0, rewardStd: Number.MAX_VALUE });
      expect(idea(3).status).toBe('succeeded');
      expect(idea(3).reward).toBeCloseTo(-MAX / 2, -300);
      expect(Number.isFinite(idea(3).rewardStd)).toBe(true);
      expect(idea(4)).toMatchObject({ status: 'failed', failureReason: 'bad-metric' });
      expect(idea(4).error).toBe('metrics.json → score is "0x10", not a JSON number');
      expect(idea(5)).toMatchObject({ status: 'failed', failureReason: 'bad-metric' });
      expect(idea(5).error).toBe('metrics.json → score is Infinity, not a finite number');
      expect(idea(6)).toMatchObject({ status: 'failed', failureReason: 'bad-metric' });
      expect(idea(6).error).toBe('metrics.json → score is true, not a JSON number');
    } finally {
      store.close();
    }
  });

  it('shows them in show and show --json, with finite improvements (never null)', async () => {
    const table = await cli('show', run.runDir);
    expect(table.code).toBe(0);
    expect(table.out).toContain('1.790e+308');
    expect(withoutRefusal(table.out)).not.toMatch(/NaN|Infinity/);

    const json = await cli('show', run.runDir, '--json');
    expect(json.code).toBe(0);
    const summary = JSON.parse(json.out);
    expect(summary.best).toMatchObject({ id: 1, reward: MAX });
    for (const idea of summary.ideas.filter((i: { status: string }) => i.status === 'succeeded')) {
      expect(typeof idea.improvement).toBe('number');
      expect(typeof idea.rewardStd).toBe('number');
    }
  });

  it('writes report.html (plot included) and summary.md with numbers a browser can draw', async () => {
    const written = await cli('report', run.runDir);
    expect(written.code).toBe(0);
    const html = readFileSync(path.join(run.runDir, 'report.html'), 'utf8');
    const svg = html.slice(html.indexOf('<svg class="reward-plot"'), html.indexOf('</svg>', html.indexOf('<svg class="reward-plot"')));
    expect(svg.length).toBeGreaterThan(100);
    expect(svg).not.toMatch(/NaN|Infinity|undefined/);
    // Every coordinate is a plain number inside the picture.
    for (const match of svg.matchAll(/\b(?:cx|cy|x1|x2|y1|y2|y)="(-?[\d.]+)"/g)) expect(Math.abs(Number(match[1]))).toBeLessThan(2000);
    expect(svg).toContain('above the plotted range (up to 1.790e+308)');
    const markdown = readFileSync(path.join(run.runDir, 'summary.md'), 'utf8');
    expect(markdown).toContain('1.790e+308');
    expect(withoutRefusal(markdown)).not.toMatch(/NaN|Infinity/);
    expect(withoutRefusal(html)).not.toMatch(/NaN|Infinity/);
  });

  it('compares the run with itself', async () => {
    const compared = await cli('compare', run.runDir, run.runDir);
    expect(compared.code).toBe(0);
    expect(compared.out).toContain('1.790e+308');
    expect(withoutRefusal(compared.out)).not.toMatch(/NaN|Infinity/);
  });

  it('serves it live with watch', async () => {
    const server = await startWatchServer({ runDir: run.runDir });
    try {
      for (const page of ['', 'summary.json', 'summary.md']) {
        const response = await fetch(server.url + page);
        expect(response.status).toBe(200);
        expect(withoutRefusal(await response.text())).not.toMatch(/NaN|Infinity/);
      }
    } finally {
      await server.close();
    }
  });
});
