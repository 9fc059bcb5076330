/**
 * The sweep's side of steering, on the in-memory doubles (real scheduler, pipeline and SQLite
 * store): steer.md is read afresh for every proposal, a thinker that ignores it still has each
 * idea record what it saw, and a steer.md that is a symbolic link (a run step may leave one in
 * the run folder) is never followed.
 */
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ResearchContext } from '../../src/core/interfaces.ts';
import { appendGuidance, guidanceHash } from '../../src/store/guidance.ts';
import { ScriptedThinker } from '../doubles/agents.ts';
import { memorySweep } from '../doubles/sweep.ts';
import { tempDir } from '../helpers/sweep.ts';

describe('guidance in steer.md during a sweep', () => {
  it('reaches the proposals made after it was written, and each idea records the guidance it saw', async () => {
    const run = memorySweep({ ideas: 3 });
    const seen: (string | undefined)[] = [];
    const thinker = new ScriptedThinker([
      (context: ResearchContext) => {
        seen.push(context.guidance);
        // Written while idea 1 is being proposed: idea 1 was already told there was none.
        if (context.ideaId === 1) appendGuidance(run.store.runDir, 'try X above 2');
        if (context.ideaId === 2) writeFileSync(path.join(run.store.runDir, 'steer.md'), 'edited by hand: try X = 3\n');
        return { title: `x=${context.ideaId + 1}` };
      },
    ]);
    const summary = await run.sweep({ thinker });
    expect(summary.ideas.filter((idea) => idea.id !== 0).map((idea) => idea.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(seen).toEqual([undefined, expect.stringMatching(/^## \d{4}-[^\n]+\n\ntry X above 2$/), 'edited by hand: try X = 3']);
    const meta = [1, 2, 3].map((id) => run.store.idea(id)!.meta.guidance);
    expect(meta[0]).toBeUndefined();
    expect(meta[1]).toEqual({ text: seen[1], sha256: guidanceHash(seen[1]!) });
    expect(meta[2]).toEqual({ text: 'edited by hand: try X = 3', sha256: guidanceHash('edited by hand: try X = 3') });
    expect(readFileSync(path.join(run.store.runDir, 'ideas', '3', 'idea.md'), 'utf8')).toContain('> edited by hand: try X = 3\n');
  });

  it('ignores a steer.md that is a symbolic link, and says so', async () => {
    const run = memorySweep({ ideas: 1 });
    const secret = path.join(tempDir('steer-target-'), 'secret.txt');
    writeFileSync(secret, 'a host file the thinker must not be shown\n');
    symlinkSync(secret, path.join(run.store.runDir, 'steer.md'));
    let guidance: string | undefined = 'unset';
    const thinker = new ScriptedThinker([
      (context: ResearchContext) => {
        guidance = context.guidance;
        return { title: 'x=2' };
      },
    ]);
    await run.sweep({ thinker });
    expect(thinker.calls).toHaveLength(1);
    expect(guidance).toBeUndefined();
    expect(run.store.idea(1)!.meta).not.toHaveProperty('guidance');
    expect(run.events).toContainEqual({ type: 'log', message: 'the guidance is ignored: steer.md is a symbolic link; refused' });
  });
});
