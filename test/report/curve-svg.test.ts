/**
 * The learning curves as people see them: report.html of a run with curves (curve-run.ts),
 * opened from disk in headless Chromium, and the live view's sparklines of running ideas, served
 * by `researcher watch` and redrawn as a running curve grows.
 */
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWatchServer } from '../../src/report/watch-server.ts';
import { writeReport } from '../../src/report/write-report.ts';
import { RunStore } from '../../src/store/run-store.ts';
import { collectPageErrors, launchChromium, skipWithoutChromium, type Browser } from './chromium.ts';
import { createCurveRun, type CurveRun } from './curve-run.ts';

describe.skipIf(skipWithoutChromium)('learning curves in report.html and watch', () => {
  let run: CurveRun;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  const external: string[] = [];

  beforeAll(async () => {
    run = await createCurveRun();
    const store = RunStore.open(run.runDir);
    writeReport(store);
    store.close();
    browser = await launchChromium();
    page = await browser.context.newPage();
    errors = collectPageErrors(page);
    page.on('request', (request) => {
      if (!request.url().startsWith('file://') && !request.url().startsWith('data:')) external.push(request.url());
    });
    await page.goto(`file://${path.join(run.runDir, 'report.html')}`, { waitUntil: 'load' });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
  });

  it("draws one chart per idea with a curve, the baseline first, every one over the baseline's band", async () => {
    const cells = page.locator('#curves .curve-cell');
    const ids = await cells.evaluateAll((els) => els.map((el) => Number((el as HTMLElement).dataset.idea)));
    expect(ids[0]).toBe(0);
    expect([...ids].sort((a, b) => a - b)).toEqual([0, 1, 2, run.runningId]);
    // The baseline's chart shows its two seeds; the others one seed each, over the band.
    expect(await page.locator('#curves .curve-cell[data-idea="0"] polyline.curve-line').count()).toBe(2);
    expect(await page.locator('#curves .curve-cell[data-idea="0"] polygon.curve-band').count()).toBe(0);
    for (const id of [1, 2, run.runningId]) {
      expect(await page.locator(`#curves .curve-cell[data-idea="${id}"] polygon.curve-band`).count()).toBe(1);
      expect(await page.locator(`#curves .curve-cell[data-idea="${id}"] polyline.curve-line`).count()).toBe(1);
    }
    // Every chart is drawn, not collapsed: the band has an area, the lines have length.
    const box = await page.locator('#curves .curve-cell[data-idea="1"] polygon.curve-band').boundingBox();
    expect(box!.width).toBeGreaterThan(100);
    expect(box!.height).toBeGreaterThan(1);
    expect(errors).toEqual([]);
    expect(external).toEqual([]);
  });

  it('marks the crashed run with a cross where its curve ended, saying why', async () => {
    const stop = page.locator('#curves .curve-cell[data-idea="2"] path.curve-stop');
    expect(await stop.count()).toBe(1);
    expect(await stop.locator('title').textContent()).toBe('seed 0: crashed at step 30');
    expect(await page.locator('#curves .curve-cell[data-idea="2"] figcaption').innerText()).toContain('crashed at step 30');
    expect(await page.locator('#curves path.curve-stop').count()).toBe(1); // no finished full run is marked
    // The cross sits at the chart's 30 % of the way along the steps.
    const chart = await page.locator('#curves .curve-cell[data-idea="2"] svg').boundingBox();
    const cross = await stop.boundingBox();
    const along = (cross!.x + cross!.width / 2 - chart!.x) / chart!.width;
    expect(along).toBeGreaterThan(0.25);
    expect(along).toBeLessThan(0.45);
  });

  it('lists the running idea with a sparkline of its curve so far', async () => {
    const row = page.locator(`#running .running-curve[data-idea="${run.runningId}"]`);
    expect(await row.count()).toBe(1);
    expect(await row.locator('svg.sparkline polyline.curve-line').count()).toBe(1);
    expect(await row.locator('.curve-now').innerText()).toBe('0.6333 at step 40 of 100 · baseline 0.6 at step 40');
    expect(await page.locator('#running .running-curve').count()).toBe(1);
  });

  it("watch redraws a running idea's sparkline as its curve grows", async () => {
    const server = await startWatchServer({ runDir: run.runDir, port: 0, pollMs: 100 });
    try {
      const live = await browser.context.newPage();
      const liveErrors = collectPageErrors(live);
      await live.goto(server.url, { waitUntil: 'load' });
      const now = live.locator(`#running .running-curve[data-idea="${run.runningId}"] .curve-now`);
      expect(await now.innerText()).toContain('at step 40 of 100');
      const before = server.version();

      const store = RunStore.open(run.runDir);
      const evaluation = store.runningEvaluations().find((e) => e.ideaId === run.runningId)!;
      store.recordProgress(evaluation.id, [{ step: 50, value: 0.7, atMs: 5000 }]);
      store.close();

      // Nobody reloads the page: the new point changes the run's version and the page follows.
      await expect.poll(() => now.innerText(), { timeout: 30_000 }).toContain('0.7 at step 50 of 100');
      expect(server.version()).not.toBe(before);
      expect(liveErrors).toEqual([]);
    } finally {
      await server.close();
    }
  });
});
