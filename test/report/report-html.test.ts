/**
 * The report of a real run (the CLI's `run` on the quadratic fixture: real git, python, SQLite),
 * written by `researcher report` and checked in headless Chromium, the way a researcher opens it.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { summarizeRun, type RunSummary } from '../../src/report/run-summary.ts';
import { RunStore } from '../../src/store/run-store.ts';
import { copyEnvironment, REPO_ROOT, tempDir } from '../helpers/sweep.ts';
import { collectPageErrors, launchChromium, skipWithoutChromium, type Browser } from './chromium.ts';

const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts');

describe.skipIf(skipWithoutChromium)('report.html of a real run, in headless Chromium', () => {
  let runDir: string;
  let summary: RunSummary;
  let browser: Browser;
  /** One page for the whole file (Chromium is slow to start on a busy 2-core machine). */
  let page: Page;
  let errors: string[];
  const external: string[] = [];

  beforeAll(async () => {
    const environment = copyEnvironment();
    // Diverge above X = 3 instead of 8, so the night has crashes to report.
    const train = path.join(environment, 'code/train.py');
    writeFileSync(train, readFileSync(train, 'utf8').replace('if X > 8:', 'if X > 3:'));
    const runs = tempDir('researcher-report-');
    const quiet = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const args = ['run', environment, '--ideas', '4', '--seed', '6', '--build-on', 'best', '--baseline-seeds', '2'];
      expect(await main([...args, '--runs-dir', runs, '--run-id', 'night'])).toBe(0);
      runDir = path.join(runs, 'night');
      expect(await main(['report', runDir])).toBe(0);
    } finally {
      quiet.mockRestore();
    }
    const store = RunStore.open(runDir);
    summary = summarizeRun(store);
    store.close();
    browser = await launchChromium();
    page = await browser.context.newPage();
    errors = collectPageErrors(page);
    page.on('request', (request) => {
      const url = request.url();
      if (!url.startsWith('file://') && !url.startsWith('data:')) external.push(url);
    });
    await page.goto(`file://${path.join(runDir, 'report.html')}`, { waitUntil: 'load' });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('writes report.html and summary.md into the run folder', () => {
    expect(existsSync(path.join(runDir, 'report.html'))).toBe(true);
    const markdown = readFileSync(path.join(runDir, 'summary.md'), 'utf8');
    expect(markdown).toContain('# quadratic: run night');
    expect(markdown).toMatch(/\| rank \| idea \| title \| reward \| vs baseline \| parent \| status \|/);
    const best = summary.best!;
    expect(best.id).not.toBe(0);
    expect(markdown).toContain(`**Best: idea ${best.id} — ${best.title}**`);
    expect(markdown).toContain('```diff\ndiff --git a/config.py b/config.py');
    for (const idea of summary.ideas.filter((i) => i.status === 'failed')) {
      expect(markdown).toContain(`- idea ${idea.id} (${idea.title}): **${idea.failureReason}**`);
    }
  });

  it('opens from disk with no network request and no console error', async () => {
    expect(await page.title()).toContain('quadratic · night');
    expect(errors).toEqual([]);
    expect(external).toEqual([]);
    const html = readFileSync(path.join(runDir, 'report.html'), 'utf8');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  it('plots every evaluation as one point, the best-so-far line, the baseline with its spread, and failures', async () => {
    const evaluations = summary.ideas.flatMap((idea) => idea.evaluations.filter((e) => e.status !== 'running').map((e) => ({ idea, e })));
    const failedEvaluations = evaluations.filter(({ e }) => e.status === 'failed');
    expect(failedEvaluations.length).toBeGreaterThan(0); // the fixture's X > 3 crash

    const plotted = await page.$$eval('svg.reward-plot .eval-point', (nodes) =>
      nodes.map((n) => ({
        idea: Number(n.getAttribute('data-idea')),
        seed: Number(n.getAttribute('data-seed')),
        failed: n.classList.contains('is-failed'),
      })),
    );
    expect(plotted).toHaveLength(evaluations.length);
    expect(plotted.map((p) => `${p.idea}/${p.seed}`).sort()).toEqual(evaluations.map(({ idea, e }) => `${idea.id}/${e.seed}`).sort());
    expect(
      plotted
        .filter((p) => p.failed)
        .map((p) => p.idea)
        .sort(),
    ).toEqual(failedEvaluations.map(({ idea }) => idea.id).sort());

    expect(await page.locator('svg.reward-plot path.best-line').count()).toBe(1);
    expect(await page.locator('svg.reward-plot line.baseline').count()).toBe(1);
    expect(await page.locator('svg.reward-plot rect.baseline-band').count()).toBe(1); // 2 baseline seeds: a measured spread
    // The plot is drawn, not just present in the DOM.
    const box = await page.locator('svg.reward-plot').boundingBox();
    expect(box!.width).toBeGreaterThan(600);
  });

  it('puts the best idea first in the leaderboard, and sorts by any column', async () => {
    const rows = page.locator('#leaderboard-table tbody tr');
    expect(await rows.count()).toBe(summary.ideas.length);
    expect(await rows.first().getAttribute('data-idea')).toBe(String(summary.best!.id));
    expect(await rows.first().locator('td.title').innerText()).toContain(summary.best!.title);

    const column = async (index: number) =>
      page.$$eval(`#leaderboard-table tbody tr td:nth-child(${index})`, (cells) => cells.map((c) => (c as HTMLElement).dataset.sort ?? ''));
    const header = (label: string) => page.locator('#leaderboard-table thead th button', { hasText: new RegExp(`^${label}`) });
    const scored = summary.ideas.filter((i) => i.reward !== null);

    await header('idea').click();
    expect((await column(2)).map(Number)).toEqual(summary.ideas.map((i) => i.id).sort((a, b) => a - b));

    await header('reward').click(); // best first for a maximised reward; unscored ideas stay last
    const descending = await column(4);
    expect(descending.slice(0, scored.length).map(Number)).toEqual(scored.map((i) => i.reward!).sort((a, b) => b - a));
    expect(descending.slice(scored.length).every((v) => v === '')).toBe(true);
    expect(await page.locator('#leaderboard-table th[aria-sort="descending"]').innerText()).toMatch(/reward/i);

    await header('reward').click();
    const ascending = await column(4);
    expect(ascending.slice(0, scored.length).map(Number)).toEqual(scored.map((i) => i.reward!).sort((a, b) => a - b));
    expect(ascending.slice(scored.length).every((v) => v === '')).toBe(true);

    await header('status').click();
    const statuses = await column(7);
    expect(statuses).toEqual([...statuses].sort((a, b) => a.localeCompare(b)));
  });

  it("shows each idea's hypothesis, highlighted diff, failure and log tail, and the lineage", async () => {
    for (const idea of summary.ideas) {
      const card = page.locator(`#idea-${idea.id}`);
      expect(await card.count()).toBe(1);
      if (idea.id === 0) continue;
      expect(await card.locator('.hypothesis').innerText()).toContain(idea.hypothesis);
      const added = idea
        .diff!.split('\n')
        .find((line) => line.startsWith('+X = '))!
        .slice(1);
      expect(await card.locator('table.diff tr.d-add td.code').first().innerText()).toContain(added);
      expect(await card.locator('table.diff .tok-n').count()).toBeGreaterThan(0); // syntax-highlighted numbers
      if (idea.status === 'failed') {
        expect(await card.locator('.failure').innerText()).toContain(idea.failureReason!);
        expect(await card.locator('details.log[open] pre').first().innerText()).toContain('RuntimeError: diverged');
      }
    }
    const chained = summary.ideas.filter((idea) => idea.parent !== null && idea.parent !== 0);
    expect(chained.length).toBeGreaterThan(0); // --build-on best stacks ideas
    for (const idea of chained) {
      const nested = page.locator(`#lineage li:has(> .node a[href="#idea-${idea.parent}"]) > ul > li > .node a[href="#idea-${idea.id}"]`);
      expect(await nested.count()).toBe(1);
    }
    // A point on the plot leads to its idea.
    await page.locator(`svg.reward-plot a[href="#idea-${summary.best!.id}"]`).first().click();
    expect(page.url()).toContain(`#idea-${summary.best!.id}`);
  });

  it('saves a screenshot as a test artefact (test-artifacts/report.png)', async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const file = path.join(ARTIFACTS, 'report.png');
    await page.goto(`file://${path.join(runDir, 'report.html')}`, { waitUntil: 'load' }); // as first opened: ranked, at the top
    await page.screenshot({ path: file, fullPage: true });
    expect(readFileSync(file).subarray(1, 4).toString()).toBe('PNG');
    // Nothing that was clicked above raised an error or reached for the network.
    expect(errors).toEqual([]);
    expect(external).toEqual([]);
  });
});

describe('researcher report', () => {
  it('says clearly when the folder is not a run', async () => {
    const errors: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((line: string) => void errors.push(line));
    try {
      expect(await main(['report', tempDir()])).toBe(2);
    } finally {
      spy.mockRestore();
    }
    expect(errors.join('\n')).toMatch(/is not a run: run\.db is missing/);
  });
});
