/**
 * How the auditor's verdicts read in `show`, summary.md and report.html: one sentence per
 * reviewed idea that was not plainly ok, saying what happens to it and how a person lifts it.
 */
import type { IdeaAudit } from '../core/types.ts';

/** "flagged by the auditor", "flagged, accepted by …", "auditor reply unreadable"; null when ok or not reviewed. */
export function auditLabel(audit: IdeaAudit | null | undefined): string | null {
  if (!audit || audit.verdict === 'ok') return null;
  if (audit.verdict === 'unreadable') return 'not reviewed (auditor reply unreadable)';
  return audit.acceptedAt
    ? `flagged by the auditor, accepted by ${audit.acceptedBy} on ${audit.acceptedAt.slice(0, 10)}`
    : 'flagged by the auditor';
}

/** The sentence for one idea: its label, the reason, and what to run to accept it when it is held back. */
export function auditSentence(idea: { id: number; audit?: IdeaAudit | null }, runDir: string): string | null {
  const label = auditLabel(idea.audit);
  if (!label) return null;
  const reason = idea.audit!.reason.replace(/\s+/g, ' ').trim();
  const heldBack = idea.audit!.verdict === 'flagged' && !idea.audit!.acceptedAt;
  return `idea ${idea.id}: ${label}: ${reason}${heldBack ? ` — kept out of the best; if it is legitimate: researcher accept ${runDir} ${idea.id}` : ''}`;
}
