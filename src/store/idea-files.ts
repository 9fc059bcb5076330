/**
 * The human-readable side of the run: runs/<run-id>/ideas/<id>/ with idea.md, patch.diff and one
 * folder per seed holding the run's log and outputs. Plain files, so a user can read a night's
 * work with `ls` and `less`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { IdeaRecord } from '../core/types.ts';
import type { EvaluationRecord } from './run-store.ts';

export function ideaDir(runDir: string, ideaId: number): string {
  return path.join(runDir, 'ideas', String(ideaId));
}

export function seedDir(runDir: string, ideaId: number, seed: number): string {
  return path.join(ideaDir(runDir, ideaId), `seed-${seed}`);
}

/**
 * The folder of one seed of one attempt: attempt 0 (the coder's first commit) is `seed-<n>` as
 * ever; a debug round's fix runs in `attempt-<a>/seed-<n>`, so the failed attempt's log stays.
 */
export function attemptSeedDir(runDir: string, ideaId: number, seed: number, attempt: number): string {
  return attempt === 0 ? seedDir(runDir, ideaId, seed) : path.join(ideaDir(runDir, ideaId), `attempt-${attempt}`, `seed-${seed}`);
}

/** Where an attempt's smoke step runs: its log and a scratch $OUTPUT_DIR nothing reads. */
export function smokeDir(runDir: string, ideaId: number, attempt: number): string {
  return path.join(ideaDir(runDir, ideaId), attempt === 0 ? 'smoke' : `attempt-${attempt}`, ...(attempt === 0 ? [] : ['smoke']));
}

export function writeIdeaFiles(runDir: string, idea: IdeaRecord, evaluations: EvaluationRecord[] = []): void {
  const dir = ideaDir(runDir, idea.id);
  mkdirSync(dir, { recursive: true });
  if (idea.diff !== null) writeFileSync(path.join(dir, 'patch.diff'), idea.diff);
  writeFileSync(path.join(dir, 'idea.md'), ideaMarkdown(idea, evaluations, dir));
}

function ideaMarkdown(idea: IdeaRecord, evaluations: EvaluationRecord[], dir: string): string {
  const lines = [`# ${idea.id === 0 ? 'Baseline' : `Idea ${idea.id}`}: ${idea.title}`, ''];
  lines.push(`- status: ${idea.status}${idea.failureReason ? ` (${idea.failureReason})` : ''}`);
  if (idea.reward !== null) {
    lines.push(`- reward: ${idea.reward}${idea.rewardCount > 1 ? ` ± ${idea.rewardStd?.toPrecision(3)} (${idea.rewardCount} seeds)` : ''}`);
  }
  lines.push(`- built on: ${idea.parentId === null ? 'the base commit' : `idea ${idea.parentId}`}`);
  if (idea.commit) lines.push(`- commit: ${idea.commit} (branch idea/${idea.id} in ../../repo)`);
  if (idea.audit) {
    const { verdict, reason, auditor, acceptedBy, acceptedAt } = idea.audit;
    lines.push(`- auditor (${auditor}): ${verdict}${acceptedAt ? `, accepted by ${acceptedBy} at ${acceptedAt}` : ''} — ${reason}`);
  }
  if (idea.error) lines.push('', '## Why it failed', '', idea.error);
  lines.push('', '## Hypothesis', '', idea.hypothesis || '—');
  if (idea.plan) lines.push('', '## Plan', '', idea.plan);
  if (idea.expectedEffect) lines.push('', '## Expected effect', '', idea.expectedEffect);
  const guidance = idea.meta.guidance as { text?: unknown; sha256?: unknown } | undefined;
  if (guidance && typeof guidance.text === 'string') {
    // Quoted, so the headings of steer.md's entries do not read as this file's own.
    const quoted = guidance.text.split('\n').map((line) => (line ? `> ${line}` : '>'));
    lines.push('', `## Guidance it was proposed under (steer.md, sha256 ${String(guidance.sha256)})`, '', ...quoted);
  }
  if (evaluations.length) {
    lines.push('', '## Evaluations', '', '| seed | status | reward | exit | duration | log |', '|---|---|---|---|---|---|');
    for (const e of evaluations) {
      const log = e.logPath ? path.relative(dir, e.logPath) : '';
      lines.push(
        `| ${e.seed} | ${e.status}${e.failureReason ? ` (${e.failureReason})` : ''} | ${e.reward ?? '—'} | ${e.exitCode ?? '—'} | ${e.durationMs === null ? '—' : `${(e.durationMs / 1000).toFixed(1)}s`} | ${log} |`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
