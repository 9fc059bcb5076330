/**
 * An idea the auditor flagged is not the best, for everything that asks (bestFinished): serial
 * search with --build-on best builds on the best unflagged idea, until a person accepts it.
 */
import { describe, expect, it } from 'vitest';
import { bestFinished, isHeldBack } from '../../src/core/ideas.ts';
import type { IdeaAudit, IdeaRecord } from '../../src/core/types.ts';
import { EvolveSearch } from '../../src/search/evolve.ts';
import { SerialSearch } from '../../src/search/serial.ts';

function idea(id: number, reward: number, audit: IdeaAudit | null = null): IdeaRecord {
  return {
    id,
    parentId: null,
    title: `idea ${id}`,
    hypothesis: '',
    plan: '',
    expectedEffect: '',
    status: 'succeeded',
    failureReason: null,
    error: null,
    diff: '',
    commit: `c${id}`,
    reward,
    rewardStd: 0,
    rewardCount: 1,
    createdAt: '',
    finishedAt: '',
    meta: {},
    audit,
  };
}

const audit = (verdict: IdeaAudit['verdict'], acceptedAt: string | null = null): IdeaAudit => ({
  verdict,
  reason: 'because',
  auditor: 'test',
  at: '2026-01-01T00:00:00.000Z',
  acceptedBy: acceptedAt ? 'a person' : null,
  acceptedAt,
});

const view = (history: IdeaRecord[]) => ({ history, inFlight: 0, remaining: 5, parallel: 1, goal: 'maximize' as const, random: () => 0.5 });

describe('ideas the auditor flagged', () => {
  it('are held back only while flagged and not accepted', () => {
    expect(isHeldBack(idea(1, 1, audit('flagged')))).toBe(true);
    expect(isHeldBack(idea(1, 1, audit('flagged', '2026-01-02T00:00:00.000Z')))).toBe(false);
    expect(isHeldBack(idea(1, 1, audit('ok')))).toBe(false);
    expect(isHeldBack(idea(1, 1, audit('unreadable')))).toBe(false);
    expect(isHeldBack(idea(1, 1))).toBe(false);
  });

  it('are skipped by bestFinished and by serial search building on the best, until accepted', () => {
    const history = [idea(0, 0.4), idea(1, 1.0, audit('flagged')), idea(2, 0.6, audit('ok'))];
    expect(bestFinished(history, 'maximize')?.id).toBe(2);
    expect(new SerialSearch('best').next(view(history))).toEqual({ parentId: 2 });
    const accepted = [history[0], idea(1, 1.0, audit('flagged', '2026-01-02T00:00:00.000Z')), history[2]];
    expect(bestFinished(accepted, 'maximize')?.id).toBe(1);
    expect(new SerialSearch('best').next(view(accepted))).toEqual({ parentId: 1 });
  });

  it('are never an evolutionary parent', () => {
    const search = new EvolveSearch({ islands: 1, seedIdeas: 0 });
    const flagged = { ...idea(1, 1.0, audit('flagged')), meta: { island: 0 } };
    const fine = { ...idea(2, 0.6, audit('ok')), meta: { island: 0 } };
    const history = [idea(0, 0.4), flagged, fine];
    search.observe(flagged, view(history));
    search.observe(fine, view(history));
    for (let i = 0; i < 5; i++) expect(search.next(view(history))?.parentId).toBe(2);
  });
});
