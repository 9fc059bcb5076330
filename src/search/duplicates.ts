/**
 * Near-duplicate ideas: two drafts that say the same thing in nearly the same words, built on the
 * same parent, would spend GPU time to learn nothing new. Detected from the text alone (before
 * any coding), so the check costs nothing.
 *
 * The text compared is the idea's title and plan (the hypothesis is prose that varies even when
 * the change is the same, and often repeats the same framing for different changes). Numbers are
 * rounded to two significant digits first, so "lr 3e-4" and "lr 0.0003" or "x = 2.28" and
 * "x = 2.3" count as the same setting.
 */
import type { IdeaDraft, IdeaRecord } from '../core/types.ts';
import { isBeingProposed } from '../core/ideas.ts';
import type { Candidate, SearchView, Verdict } from './strategy.ts';

/** Similarity (0…1) at or above which two drafts on the same parent are duplicates. */
export const DUPLICATE_SIMILARITY = 0.85;

const NUMBER = /[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?/gi;

/** The draft's words, lower-cased, with numbers in a canonical form. */
export function ideaTokens(draft: Pick<IdeaDraft, 'title' | 'plan' | 'hypothesis'>): string[] {
  const text = `${draft.title}\n${draft.plan || draft.hypothesis}`.toLowerCase();
  const withNumbers = text.replace(NUMBER, (match) => {
    const n = Number(match);
    return Number.isFinite(n) ? ` ${Number(n.toPrecision(2))} ` : match;
  });
  return withNumbers.split(/[^\p{L}\p{N}._-]+/u).filter((token) => token.length > 0 && token !== '.' && token !== '-');
}

/** Jaccard similarity of the two token multisets. */
export function similarity(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 && b.length === 0) return 1;
  const counts = new Map<string, number>();
  for (const token of a) counts.set(token, (counts.get(token) ?? 0) + 1);
  let shared = 0;
  for (const token of b) {
    const left = counts.get(token) ?? 0;
    if (left > 0) {
      shared++;
      counts.set(token, left - 1);
    }
  }
  return shared / (a.length + b.length - shared);
}

/** Records are immutable snapshots (the loop replaces them when they change): tokenise each once. */
const tokensByRecord = new WeakMap<IdeaRecord, string[]>();

function cachedTokens(idea: IdeaRecord): string[] {
  let tokens = tokensByRecord.get(idea);
  if (!tokens) {
    tokens = ideaTokens(idea);
    tokensByRecord.set(idea, tokens);
  }
  return tokens;
}

/**
 * The earlier idea that `draft` nearly repeats (same parent, similar text), or undefined. Ideas
 * still being proposed have no text yet and are skipped, as is the idea itself.
 */
export function findDuplicate(
  draft: IdeaDraft,
  parentId: number | null,
  ideaId: number,
  history: readonly IdeaRecord[],
  threshold = DUPLICATE_SIMILARITY,
): IdeaRecord | undefined {
  const tokens = ideaTokens(draft);
  for (const idea of history) {
    if (idea.id === ideaId || idea.id === 0 || idea.parentId !== parentId || isBeingProposed(idea)) continue;
    if (similarity(tokens, cachedTokens(idea)) >= threshold) return idea;
  }
  return undefined;
}

/** The verdict for a near-duplicate: rejected before any coding or GPU time is spent on it. */
export function rejectDuplicates(candidate: Candidate, view: SearchView): Verdict {
  const twin = findDuplicate(candidate.draft, candidate.parentId, candidate.ideaId, view.history);
  if (!twin) return { ok: true };
  const on = candidate.parentId === null ? 'the base commit' : `idea ${candidate.parentId}`;
  return {
    ok: false,
    reason: 'duplicate',
    message: `"${candidate.draft.title}" nearly repeats idea ${twin.id} ("${twin.title}"), also built on ${on}`,
  };
}
