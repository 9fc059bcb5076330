/**
 * The live view: `researcher watch` serving a run while a real sweep (the CLI's `run`) is still
 * working on it. An open page in headless Chromium must catch up by itself as ideas finish.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { RunConfig } from '../../src/core/run-config.ts';
import { summarizeRun } from '../../src/report/run-summary.ts';
import { startWatchServer, type WatchServer } from '../../src/report/watch-server.ts';
import { RunStore } from '../../src/store/run-store.ts';
import { QUADRATIC, REPO_ROOT, tempDir } from '../helpers/sweep.ts';
import { collectPageErrors, launchChromium, skipWithoutChromium, type Browser } from './chromium.ts';

const CLI = path.join(REPO_ROOT, 'bin/researcher.js');

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch {
      // the page is navigating, or the run is being created: ask again
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function finishedEvaluations(runDir: string): number {
  const store = RunStore.open(runDir);
  try {
    return summarizeRun(store).ideas.reduce((n, idea) => n + idea.evaluations.filter((e) => e.status !== 'running').length, 0);
  } finally {
    store.close();
  }
}

describe.skipIf(skipWithoutChromium)('researcher watch, following a sweep that is still running', () => {
  let browser: Browser | undefined;
  let server: WatchServer | undefined;

  afterAll(async () => {
    await server?.close();
    await browser?.close();
  });

  it('serves the report and the open page refreshes itself as ideas finish', async () => {
    const runs = tempDir('researcher-watch-');
    const runDir = path.join(runs, 'live');
    browser = await launchChromium(); // before the sweep starts, so the page surely opens mid-run
    const quiet = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const sweep = main(['run', QUADRATIC, '--ideas', '3', '--seed', '1', '--runs-dir', runs, '--run-id', 'live']);
    try {
      await until('the run to be created', () => {
        if (!existsSync(path.join(runDir, 'run.db'))) return undefined;
        const store = RunStore.open(runDir);
        try {
          return store.getMeta('config') ? true : undefined;
        } finally {
          store.close();
        }
      });
      server = await startWatchServer({ runDir, port: 0, pollMs: 200 });
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);

      const page: Page = await browser.context.newPage();
      const errors = collectPageErrors(page);
      let loads = 0;
      page.on('load', () => loads++);
      await page.goto(server.url, { waitUntil: 'load' });
      const countPoints = () => page.locator('svg.reward-plot .eval-point').count();
      const before = await countPoints();

      expect(await sweep).toBe(0);
      const expected = finishedEvaluations(runDir);
      expect(expected).toBeGreaterThan(before); // the page was opened mid-run

      // Nobody reloads the page here: the server's version events make it catch up.
      await until('the page to show every evaluation of the finished run', async () => {
        const points = await countPoints();
        const status = await page.locator('.run-status').innerText();
        return points === expected && status === 'finished' ? true : undefined;
      });
      expect(loads).toBeGreaterThan(1);
      expect(await page.locator('#leaderboard-table tbody tr').count()).toBe(4);
      expect(await page.locator('.live-pill').isVisible()).toBe(true);
      expect(errors).toEqual([]);

      const json = (await (await fetch(new URL('summary.json', server.url))).json()) as { ideas: unknown[]; run: { runId: string } };
      expect(json.run.runId).toBe('live');
      expect(json.ideas).toHaveLength(4);
      const markdown = await (await fetch(new URL('summary.md', server.url))).text();
      expect(markdown).toContain('# quadratic: run live');
      expect((await fetch(new URL('nothing-here', server.url))).status).toBe(404);

      // When the server goes away the page says so instead of silently going stale.
      await server.close();
      server = undefined;
      await until(
        'the page to say the connection is lost',
        async () => ((await page.locator('#live-lost').isVisible()) ? true : undefined),
        20_000,
      );
    } finally {
      quiet.mockRestore();
      await sweep.catch(() => undefined);
    }
  });
});

describe('researcher watch on the command line', () => {
  it('prints where it serves, serves the report, and stops cleanly on SIGTERM', async () => {
    // A run that has only just been created: nothing has finished yet, and the page says so.
    const runDir = path.join(tempDir('researcher-watch-cli-'), 'fresh');
    mkdirSync(runDir);
    const config = {
      runId: 'fresh',
      createdAt: new Date().toISOString(),
      environmentDir: QUADRATIC,
      environmentName: 'quadratic',
      agent: 'offline',
      ideas: 2,
    };
    RunStore.create(runDir, RunConfig.parse(config)).close();
    const child = spawn(process.execPath, [CLI, 'watch', runDir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const url = await until('the URL to be printed', () => /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(output)?.[1], 60_000);
    const page = await fetch(url);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('data-live-version=');
    expect(html).toContain('The baseline has not finished yet.');
    expect(html).toContain('No evaluation has finished yet.');
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toContain('stopped watching');
  });

  it('refuses a folder that is not a run, in one line', async () => {
    const errors: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((line: string) => void errors.push(line));
    try {
      expect(await main(['watch', tempDir(), '--port', '0'])).toBe(2);
      expect(await main(['watch', tempDir(), '--port', 'eighty'])).toBe(2);
    } finally {
      spy.mockRestore();
    }
    expect(errors[0]).toMatch(/^error: .* is not a run: run\.db is missing/);
    expect(errors[1]).toBe('error: --port expects a port number (0-65535), got "eighty"');
  });
});
