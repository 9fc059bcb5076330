/**
 * Shared values that flow between the boxes of the loop. Schemas where a value crosses a trust
 * boundary (model output, the store); plain types where it does not.
 */
import { z } from 'zod';

/** What the thinker proposes: a research hypothesis in words. */
export const IdeaDraft = z.object({
  title: z.string().min(1).max(200),
  hypothesis: z.string().min(1),
  plan: z.string().default(''),
  expectedEffect: z.string().default(''),
});
export type IdeaDraft = z.output<typeof IdeaDraft>;

/** One search/replace block: replace `search` (exact text, possibly with drift) by `replace` in `path`. */
export const SearchReplace = z.object({
  path: z.string().min(1),
  search: z.string(),
  replace: z.string(),
});
export type SearchReplace = z.output<typeof SearchReplace>;

/** What the coder returns: edits to the code, in one of the two forms models write well. */
export const Edit = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('unified-diff'), diff: z.string() }),
  z.object({ kind: z.literal('search-replace'), blocks: z.array(SearchReplace).min(1) }),
]);
export type Edit = z.output<typeof Edit>;

/** Why an idea or one of its evaluations failed. Stable strings: reports group by them. */
export const FailureReason = z.enum([
  'agent-error', // the thinker or coder produced nothing usable
  'patch-failed', // the edit did not apply, even after repair rounds
  'refused', // the edit touches protected, non-editable or unsafe paths
  'duplicate', // the idea repeats one already tried
  'crashed', // the run exited non-zero
  'timed-out', // the run passed its time limit and was killed
  'oom', // the run was killed for memory
  'no-metric', // the run finished but no reward could be found
  'bad-metric', // the reward was found but is not a finite number
  'evaluator-failed', // the evaluate step itself failed
  'infrastructure', // the sandbox engine failed (host lost, daemon error): not the idea's fault
  'interrupted', // stopped by the user (Ctrl-C, --hard-stop)
  'stopped-early', // its learning curve could not win (--early-stop): a low result, not a crash
]);
export type FailureReason = z.output<typeof FailureReason>;

export interface Failure {
  reason: FailureReason;
  message: string;
}

export const IdeaStatus = z.enum(['proposed', 'ready', 'running', 'succeeded', 'failed']);
export type IdeaStatus = z.output<typeof IdeaStatus>;

/** An idea as the store keeps it and as search strategies and agents see it. */
export interface IdeaRecord {
  id: number;
  parentId: number | null;
  title: string;
  hypothesis: string;
  plan: string;
  expectedEffect: string;
  status: IdeaStatus;
  failureReason: FailureReason | null;
  error: string | null;
  diff: string | null;
  commit: string | null;
  /** Mean reward over the idea's successful evaluations. */
  reward: number | null;
  /** Sample standard deviation over seeds (0 with one seed). */
  rewardStd: number | null;
  /** Number of successful evaluations behind `reward`. */
  rewardCount: number;
  createdAt: string;
  finishedAt: string | null;
  /** Strategy-specific data (island, generation, …). */
  meta: Record<string, unknown>;
  /** The auditor's review (src/core/interfaces.ts: Auditor), when the idea was reviewed. */
  audit?: IdeaAudit | null;
}

/**
 * What the auditor said of an idea that would have become the best. `flagged` keeps it out of
 * the best until a person accepts it (`researcher accept`); `unreadable` (a reply that held no
 * verdict, or a call that failed) is recorded as such and does not hold the idea back.
 */
export const AuditVerdict = z.enum(['ok', 'flagged', 'unreadable']);
export type AuditVerdict = z.output<typeof AuditVerdict>;

export interface IdeaAudit {
  verdict: AuditVerdict;
  reason: string;
  /** Who reviewed: the auditor's name and model. */
  auditor: string;
  at: string;
  /** Set by `researcher accept`: who accepted a flagged idea, and when. */
  acceptedBy: string | null;
  acceptedAt: string | null;
}

/** Token usage of one model call, normalised across providers. */
export interface Usage {
  inputTokens: number; // all prompt tokens, cached ones included
  cachedTokens: number; // prompt tokens read from the provider's cache
  cacheWriteTokens: number; // prompt tokens written to the cache (Anthropic)
  outputTokens: number;
  costUsd: number;
}

export const ZERO_USAGE: Usage = { inputTokens: 0, cachedTokens: 0, cacheWriteTokens: 0, outputTokens: 0, costUsd: 0 };

export function addUsage(a: Usage, b: Usage): Usage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    cachedTokens: a.cachedTokens + b.cachedTokens,
    cacheWriteTokens: a.cacheWriteTokens + b.cacheWriteTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    costUsd: a.costUsd + b.costUsd,
  };
}
