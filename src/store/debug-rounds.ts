/**
 * Debug rounds and smoke runs in the run database (issue 14): an idea's committed code that
 * failed when it ran goes back to the coder with the failure, and each fix is a new attempt of
 * the idea — a new commit on its branch, evaluated afresh. Attempt 0 is the coder's first
 * commit; round n produces attempt n. Evaluations and smoke runs say which attempt they ran, and
 * an idea's reward is its last attempt's.
 *
 * Own tables, created on first use, and one column added to `evaluations`, so runs recorded
 * before debug rounds existed open unchanged (all their evaluations are attempt 0).
 */
import type Database from 'better-sqlite3';
import type { RunFailureFeedback, SandboxHandle } from '../core/interfaces.ts';
import type { Edit, FailureReason } from '../core/types.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS debug_rounds (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  idea_id INTEGER NOT NULL REFERENCES ideas(id),
  round INTEGER NOT NULL,
  step TEXT NOT NULL,
  seed INTEGER,
  failure_reason TEXT NOT NULL,
  failure_message TEXT NOT NULL,
  exit_code INTEGER,
  log_tail TEXT NOT NULL,
  log_path TEXT,
  failed_commit TEXT NOT NULL,
  status TEXT NOT NULL,
  coder_message TEXT,
  edit TEXT,
  diff TEXT,
  commit_sha TEXT,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  UNIQUE (idea_id, round)
);
CREATE TABLE IF NOT EXISTS smoke_runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  idea_id INTEGER NOT NULL REFERENCES ideas(id),
  attempt INTEGER NOT NULL,
  status TEXT NOT NULL,
  exit_code INTEGER,
  timed_out INTEGER NOT NULL DEFAULT 0,
  duration_ms INTEGER,
  message TEXT,
  log_path TEXT NOT NULL,
  handle TEXT,
  started_at TEXT NOT NULL,
  finished_at TEXT
);
CREATE INDEX IF NOT EXISTS smoke_runs_by_idea ON smoke_runs(idea_id);
`;

/** Creates the tables and the evaluations' attempt column when a run predates them. */
export function ensureDebugTables(db: Database.Database): void {
  db.exec(SCHEMA);
  const columns = db.prepare('PRAGMA table_info(evaluations)').all() as { name: string }[];
  if (!columns.some((column) => column.name === 'attempt'))
    db.exec('ALTER TABLE evaluations ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0');
}

/**
 * Where a debug round is: `coding` (the coder is writing the fix; a killed researcher left it
 * here and resume codes it again, in the same row), `committed` (its fix is the idea's current
 * attempt), `coder-failed` (no usable fix came: the idea ends with the failure it fixed).
 */
export type DebugRoundStatus = 'coding' | 'committed' | 'coder-failed';

export interface DebugRoundRecord {
  id: number;
  ideaId: number;
  /** 1, 2, …: the attempt its fix became. */
  round: number;
  /** The failure it was asked to fix (the failed attempt is round − 1). */
  failure: Omit<RunFailureFeedback, 'diff'> & { seed: number | null; logPath: string | null };
  failedCommit: string;
  status: DebugRoundStatus;
  /** Why the coder produced no fix (coder-failed). */
  coderMessage: string | null;
  edit: Edit | null;
  /** The fix: its commit's diff against the failed attempt. */
  diff: string | null;
  commit: string | null;
  startedAt: string;
  finishedAt: string | null;
}

interface DebugRoundRow {
  id: number;
  idea_id: number;
  round: number;
  step: RunFailureFeedback['step'];
  seed: number | null;
  failure_reason: FailureReason;
  failure_message: string;
  exit_code: number | null;
  log_tail: string;
  log_path: string | null;
  failed_commit: string;
  status: DebugRoundStatus;
  coder_message: string | null;
  edit: string | null;
  diff: string | null;
  commit_sha: string | null;
  started_at: string;
  finished_at: string | null;
}

function toDebugRound(row: DebugRoundRow): DebugRoundRecord {
  return {
    id: row.id,
    ideaId: row.idea_id,
    round: row.round,
    failure: {
      attempt: row.round - 1,
      step: row.step,
      reason: row.failure_reason,
      message: row.failure_message,
      exitCode: row.exit_code,
      logTail: row.log_tail,
      seed: row.seed,
      logPath: row.log_path,
    },
    failedCommit: row.failed_commit,
    status: row.status,
    coderMessage: row.coder_message,
    edit: row.edit ? (JSON.parse(row.edit) as Edit) : null,
    diff: row.diff,
    commit: row.commit_sha,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

export interface DebugRoundStart {
  ideaId: number;
  round: number;
  failure: DebugRoundRecord['failure'];
  failedCommit: string;
  startedAt: string;
}

/**
 * Starts round `round` of an idea, or takes up the one a killed researcher left `coding` (the
 * same round is never recorded twice). Returns the round's id.
 */
export function startDebugRound(db: Database.Database, start: DebugRoundStart): number {
  const existing = db.prepare('SELECT id, status FROM debug_rounds WHERE idea_id = ? AND round = ?').get(start.ideaId, start.round) as
    { id: number; status: DebugRoundStatus } | undefined;
  if (existing) {
    if (existing.status !== 'coding') throw new Error(`debug round ${start.round} of idea ${start.ideaId} is already ${existing.status}`);
    return existing.id;
  }
  const { failure } = start;
  const result = db
    .prepare(
      `INSERT INTO debug_rounds(idea_id, round, step, seed, failure_reason, failure_message, exit_code, log_tail, log_path,
       failed_commit, status, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'coding', ?)`,
    )
    .run(
      start.ideaId,
      start.round,
      failure.step,
      failure.seed,
      failure.reason,
      failure.message,
      failure.exitCode,
      failure.logTail,
      failure.logPath,
      start.failedCommit,
      start.startedAt,
    );
  return Number(result.lastInsertRowid);
}

export function finishDebugRound(
  db: Database.Database,
  id: number,
  fields: {
    status: Exclude<DebugRoundStatus, 'coding'>;
    edit: Edit | null;
    diff: string | null;
    commit: string | null;
    coderMessage: string | null;
    finishedAt: string;
  },
): void {
  db.prepare('UPDATE debug_rounds SET status = ?, edit = ?, diff = ?, commit_sha = ?, coder_message = ?, finished_at = ? WHERE id = ?').run(
    fields.status,
    fields.edit === null ? null : JSON.stringify(fields.edit),
    fields.diff,
    fields.commit,
    fields.coderMessage,
    fields.finishedAt,
    id,
  );
}

export function debugRounds(db: Database.Database, ideaId?: number): DebugRoundRecord[] {
  const rows = (
    ideaId === undefined
      ? db.prepare('SELECT * FROM debug_rounds ORDER BY idea_id, round').all()
      : db.prepare('SELECT * FROM debug_rounds WHERE idea_id = ? ORDER BY round').all(ideaId)
  ) as DebugRoundRow[];
  return rows.map(toDebugRound);
}

/** The attempt an idea's commit is now: how many of its debug rounds were committed. */
export function currentAttempt(db: Database.Database, ideaId: number): number {
  const row = db.prepare(`SELECT COUNT(*) AS n FROM debug_rounds WHERE idea_id = ? AND status = 'committed'`).get(ideaId) as { n: number };
  return row.n;
}

// ─── smoke runs ────────────────────────────────────────────────────────────────────────────

export type SmokeStatus = 'running' | 'passed' | 'failed';

export interface SmokeRunRecord {
  id: number;
  ideaId: number;
  attempt: number;
  status: SmokeStatus;
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number | null;
  /** Why it failed, in a sentence; null when it passed. */
  message: string | null;
  logPath: string;
  handle: SandboxHandle | null;
  startedAt: string;
  finishedAt: string | null;
}

interface SmokeRunRow {
  id: number;
  idea_id: number;
  attempt: number;
  status: SmokeStatus;
  exit_code: number | null;
  timed_out: number;
  duration_ms: number | null;
  message: string | null;
  log_path: string;
  handle: string | null;
  started_at: string;
  finished_at: string | null;
}

function toSmokeRun(row: SmokeRunRow): SmokeRunRecord {
  return {
    id: row.id,
    ideaId: row.idea_id,
    attempt: row.attempt,
    status: row.status,
    exitCode: row.exit_code,
    timedOut: row.timed_out === 1,
    durationMs: row.duration_ms,
    message: row.message,
    logPath: row.log_path,
    handle: row.handle ? (JSON.parse(row.handle) as SandboxHandle) : null,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

export function startSmokeRun(db: Database.Database, ideaId: number, attempt: number, logPath: string, startedAt: string): number {
  const result = db
    .prepare(`INSERT INTO smoke_runs(idea_id, attempt, status, log_path, started_at) VALUES (?, ?, 'running', ?, ?)`)
    .run(ideaId, attempt, logPath, startedAt);
  return Number(result.lastInsertRowid);
}

export function setSmokeHandle(db: Database.Database, id: number, handle: SandboxHandle): void {
  db.prepare('UPDATE smoke_runs SET handle = ? WHERE id = ?').run(JSON.stringify(handle), id);
}

export function finishSmokeRun(
  db: Database.Database,
  id: number,
  fields: { passed: boolean; exitCode: number | null; timedOut: boolean; durationMs: number; message: string | null; finishedAt: string },
): void {
  db.prepare(
    'UPDATE smoke_runs SET status = ?, exit_code = ?, timed_out = ?, duration_ms = ?, message = ?, finished_at = ? WHERE id = ?',
  ).run(
    fields.passed ? 'passed' : 'failed',
    fields.exitCode,
    fields.timedOut ? 1 : 0,
    fields.durationMs,
    fields.message,
    fields.finishedAt,
    id,
  );
}

export function smokeRuns(db: Database.Database, ideaId?: number): SmokeRunRecord[] {
  const rows = (
    ideaId === undefined
      ? db.prepare('SELECT * FROM smoke_runs ORDER BY id').all()
      : db.prepare('SELECT * FROM smoke_runs WHERE idea_id = ? ORDER BY id').all(ideaId)
  ) as SmokeRunRow[];
  return rows.map(toSmokeRun);
}

/** Smoke runs a killed researcher left running: their handles are reaped, the rows dropped on requeue. */
export function runningSmokeRuns(db: Database.Database): SmokeRunRecord[] {
  return (db.prepare(`SELECT * FROM smoke_runs WHERE status = 'running'`).all() as SmokeRunRow[]).map(toSmokeRun);
}

export function dropRunningSmokeRuns(db: Database.Database, ideaId: number): void {
  db.prepare(`DELETE FROM smoke_runs WHERE idea_id = ? AND status = 'running'`).run(ideaId);
}
