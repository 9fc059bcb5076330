/**
 * The lab notebook file (src/store/notebook.ts), on a real folder: the researcher rewrites only
 * its own section (a person's notes around it are kept byte for byte, other runs' parts too),
 * hostile titles and replies stay plain one-line text that cannot forge its markers, the best
 * known configuration is the better of the old and the new, and links are never followed.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BestKnown } from '../../src/core/reflection.ts';
import { bestKnownIn, type NotebookEntry, readNotebook, updatedNotebook, writeNotebook } from '../../src/store/notebook.ts';
import { tempDir } from '../helpers/sweep.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function runsDir(): string {
  const dir = tempDir('notebook-');
  dirs.push(dir);
  return dir;
}

function best(run: string, reward: number, settings: Record<string, string> | null = { lr: '0.5' }): BestKnown {
  return { run, idea: 3, title: `idea of ${run}`, reward, rewardStd: 0.01, rewardCount: 2, settings };
}

function entry(runId: string, overrides: Partial<NotebookEntry> = {}): NotebookEntry {
  return {
    runId,
    environmentName: 'grpo-tiny',
    kind: 'final',
    afterIdeas: 4,
    ideas: 4,
    at: new Date('2026-12-03T10:00:00Z'),
    goal: 'maximize',
    baseline: { reward: 0.45, rewardStd: null, rewardCount: 1 },
    best: best(runId, 0.8),
    reflection: {
      summary: `${runId}: raising lr helped.`,
      findings: [{ claim: 'raising lr helped', evidence: '#3: 0.8 ± 0.01' }],
      deadEnds: ['lr above 5 crashed'],
      openQuestions: ['whether clip matters'],
    },
    ...overrides,
  };
}

describe('the lab notebook', () => {
  it('starts a new notebook with a place for notes and the researcher section, whose best configuration reads back', () => {
    const text = updatedNotebook(null, entry('first'));
    expect(text).toMatch(/^# Lab notebook: grpo-tiny\n\nNotes of your own go here/);
    expect(text).toContain('### Run first — 4 of 4 ideas (the sweep ended), 2026-12-03');
    expect(text).toContain('- raising lr helped — evidence: #3: 0.8 ± 0.01');
    expect(text).toContain('**Dead ends**\n\n- lr above 5 crashed');
    expect(text).toContain('- reward 0.8 ± 0.01 (2 seeds): run first, idea #3');
    expect(bestKnownIn(text)).toEqual(best('first', 0.8));
  });

  it("rewrites only its own section: a person's notes above and below are kept byte for byte, and other runs' parts too", () => {
    const first = updatedNotebook(null, entry('first'));
    const edited = `# My notebook\n\nNOTE ABOVE: the GPU was shared that night.\n\n${first.slice(first.indexOf('<!-- ai-researcher:begin'))}\nNOTE BELOW: try clip 0.3 next.\n`;
    const second = updatedNotebook(edited, entry('second', { best: best('second', 0.7) }));
    expect(second.startsWith('# My notebook\n\nNOTE ABOVE: the GPU was shared that night.\n\n<!-- ai-researcher:begin')).toBe(true);
    expect(second.endsWith('<!-- ai-researcher:end -->\n\nNOTE BELOW: try clip 0.3 next.\n')).toBe(true);
    // The newest run first, the earlier one kept as written.
    expect(second.indexOf('### Run second')).toBeLessThan(second.indexOf('### Run first'));
    expect(second).toContain('first: raising lr helped.');
    // The earlier best (0.8) beats the new run's (0.7): it stays the best known.
    expect(bestKnownIn(second)?.run).toBe('first');
    // The same run reflecting again replaces its own part, nothing else.
    const again = updatedNotebook(
      second,
      entry('second', { best: best('second', 0.9), reflection: { ...entry('x').reflection, summary: 'second, later.' } }),
    );
    expect(again.match(/### Run second/g)).toHaveLength(1);
    expect(again).toContain('second, later.');
    expect(again).not.toContain('second: raising lr helped.');
    expect(bestKnownIn(again)?.run).toBe('second');
    expect(again.startsWith('# My notebook\n\nNOTE ABOVE')).toBe(true);
  });

  it('keeps all of a notebook whose markers a person removed, and puts its section after it', () => {
    const notes = '# Notes\n\nOnly my own words here.\n';
    const text = updatedNotebook(notes, entry('first'));
    expect(text.startsWith('# Notes\n\nOnly my own words here.\n\n<!-- ai-researcher:begin')).toBe(true);
    expect(bestKnownIn(notes)).toBeNull();
    // An edited best line that no longer reads is simply not known.
    expect(bestKnownIn(text.replace(/"reward":0\.8/, '"reward":"lots"'))).toBeNull();
  });

  it('writes hostile titles and replies as plain one-line text that cannot end its section or add a run', () => {
    const hostile = 'x\n<!-- ai-researcher:end -->\n### Run forged\n[click](javascript:alert(1)) <script>';
    const text = updatedNotebook(null, {
      ...entry('first'),
      best: { ...best('first', 0.8), title: hostile },
      reflection: {
        summary: hostile,
        findings: [{ claim: hostile, evidence: hostile }],
        deadEnds: [hostile],
        openQuestions: ['a'.repeat(5000)],
      },
    });
    expect(text.match(/^<!-- ai-researcher:end -->$/gm)).toHaveLength(1);
    expect(text.match(/^### Run /gm)).toHaveLength(1);
    expect(text).not.toContain('<script>');
    // Outside the machine line (JSON inside one HTML comment, never rendered), no link either: brackets are escaped.
    expect(text.replace(/^<!-- ai-researcher:best .*$/m, '')).not.toMatch(/(?<!\\)\]\(/);
    expect(text).toContain('&lt;script&gt;');
    // Capped: a 5000-character item is cut.
    expect(text).not.toContain('a'.repeat(300));
    // The section still parses: the next update replaces it rather than nesting a second one.
    const next = updatedNotebook(text, entry('second'));
    expect(next.match(/^<!-- ai-researcher:begin/gm)).toHaveLength(1);
    expect(bestKnownIn(next)?.title).toBe(hostile); // the machine line keeps the title as JSON, inside one comment
  });

  it('writes by renaming a new file over the old one, never through a link, and reads without following one', () => {
    const runs = runsDir();
    expect(readNotebook(runs, 'grpo-tiny')).toEqual({ ok: true, text: null });
    expect(writeNotebook(runs, 'grpo-tiny', 'one\n')).toEqual({ ok: true });
    expect(readNotebook(runs, 'grpo-tiny')).toEqual({ ok: true, text: 'one\n' });

    // A notebook replaced by a link to a file elsewhere: reading refuses it, writing replaces the link.
    const outside = path.join(runsDir(), 'victim.md');
    writeFileSync(outside, 'do not touch\n');
    const file = path.join(runs, 'notebooks', 'grpo-tiny.md');
    rmSync(file);
    symlinkSync(outside, file);
    const refused = readNotebook(runs, 'grpo-tiny');
    expect(refused.ok).toBe(false);
    expect(refused.ok ? '' : refused.message).toMatch(/symbolic link; refused/);
    expect(writeNotebook(runs, 'grpo-tiny', 'two\n')).toEqual({ ok: true });
    expect(readFileSync(outside, 'utf8')).toBe('do not touch\n');
    expect(readFileSync(file, 'utf8')).toBe('two\n');

    // A notebooks folder that is a link: refused both ways.
    const other = runsDir();
    const elsewhere = path.join(runsDir(), 'elsewhere');
    mkdirSync(elsewhere);
    symlinkSync(elsewhere, path.join(other, 'notebooks'));
    expect(writeNotebook(other, 'grpo-tiny', 'three\n')).toEqual({ ok: false, message: expect.stringMatching(/not a folder/) });
    expect(existsSync(path.join(elsewhere, 'grpo-tiny.md'))).toBe(false);
    expect(readNotebook(other, 'grpo-tiny').ok).toBe(false);
  });
});
