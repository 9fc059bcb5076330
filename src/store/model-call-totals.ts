/**
 * Model calls summed per idea, role and model: what the per-model tally (`show`, the report,
 * `compare`) and a per-dollar model portfolio read. Kept apart from RunStore, which holds the
 * sweep's writes.
 */
import type Database from 'better-sqlite3';

export interface ModelCallTotal {
  /** Null for calls made outside any idea. */
  ideaId: number | null;
  role: string;
  model: string;
  calls: number;
  costUsd: number;
  /** Id of the first of these calls: orders the totals as the calls were made. */
  firstCall: number;
}

export function modelCallTotals(db: Database.Database, ideaId?: number): ModelCallTotal[] {
  const where = ideaId === undefined ? '' : 'WHERE idea_id = ?';
  const rows = db
    .prepare(
      `SELECT idea_id AS ideaId, role, model, COUNT(*) AS calls, COALESCE(SUM(cost_usd), 0) AS costUsd, MIN(id) AS firstCall
       FROM model_calls ${where} GROUP BY idea_id, role, model ORDER BY firstCall`,
    )
    .all(...(ideaId === undefined ? [] : [ideaId]));
  return rows as ModelCallTotal[];
}
