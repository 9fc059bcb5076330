/**
 * The run database's tables and how a row becomes a record: the schema, the row shapes SQLite
 * returns, and their mapping to the records the rest of the researcher sees. Only the store
 * (./run-store.ts) opens the database; nothing outside src/store writes SQL.
 */
import Database from 'better-sqlite3';
import type { SandboxHandle } from '../core/interfaces.ts';
import type { AuditVerdict, Failure, FailureReason, IdeaRecord, IdeaStatus } from '../core/types.ts';

export const DATABASE_FILE = 'run.db';
export const SCHEMA_VERSION = 1;

/**
 * The columns of one run of a step and its score: the evaluations table's, and the test split's
 * (store/test-evaluations.ts), so that both are read by toEvaluation and written by finishEvaluationRow.
 */
export const EVALUATION_COLUMNS = `
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  idea_id INTEGER NOT NULL REFERENCES ideas(id),
  seed INTEGER NOT NULL,
  status TEXT NOT NULL,
  reward REAL,
  failure_reason TEXT,
  error TEXT,
  sandbox TEXT NOT NULL,
  exit_code INTEGER,
  timed_out INTEGER NOT NULL DEFAULT 0,
  oom_killed INTEGER NOT NULL DEFAULT 0,
  duration_ms INTEGER,
  log_path TEXT,
  handle TEXT,
  gpus TEXT NOT NULL DEFAULT '[]',
  started_at TEXT NOT NULL,
  finished_at TEXT
`;

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ideas (
  id INTEGER PRIMARY KEY,
  parent_id INTEGER REFERENCES ideas(id),
  title TEXT NOT NULL,
  hypothesis TEXT NOT NULL DEFAULT '',
  plan TEXT NOT NULL DEFAULT '',
  expected_effect TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL,
  failure_reason TEXT,
  error TEXT,
  edit TEXT,
  diff TEXT,
  commit_sha TEXT,
  reward REAL,
  reward_std REAL,
  reward_count INTEGER NOT NULL DEFAULT 0,
  meta TEXT NOT NULL DEFAULT '{}',
  created_at TEXT NOT NULL,
  finished_at TEXT
);
CREATE TABLE IF NOT EXISTS evaluations (
${EVALUATION_COLUMNS});
CREATE INDEX IF NOT EXISTS evaluations_by_idea ON evaluations(idea_id);
CREATE TABLE IF NOT EXISTS model_calls (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  idea_id INTEGER,
  role TEXT NOT NULL,
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  cache_key TEXT,
  input_tokens INTEGER NOT NULL,
  cached_tokens INTEGER NOT NULL,
  cache_write_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  cost_usd REAL NOT NULL,
  latency_ms INTEGER NOT NULL,
  response TEXT,
  created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS model_calls_by_key ON model_calls(cache_key);
CREATE INDEX IF NOT EXISTS model_calls_by_idea ON model_calls(idea_id);
CREATE TABLE IF NOT EXISTS progress (
  evaluation_id INTEGER NOT NULL REFERENCES evaluations(id),
  step REAL NOT NULL,
  value REAL NOT NULL,
  at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS progress_by_evaluation ON progress(evaluation_id);
CREATE TABLE IF NOT EXISTS audits (
  idea_id INTEGER PRIMARY KEY REFERENCES ideas(id),
  verdict TEXT NOT NULL,
  reason TEXT NOT NULL,
  auditor TEXT NOT NULL,
  at TEXT NOT NULL,
  accepted_by TEXT,
  accepted_at TEXT
);
`;

/** The ideas with their audit, if any: what every read of an idea selects. */
export const IDEAS_WITH_AUDITS = `SELECT ideas.*, audits.verdict AS audit_verdict, audits.reason AS audit_reason, audits.auditor AS audit_auditor,
  audits.at AS audit_at, audits.accepted_by AS audit_accepted_by, audits.accepted_at AS audit_accepted_at
  FROM ideas LEFT JOIN audits ON audits.idea_id = ideas.id`;

/** One point of a run's learning curve: the run's own step counter, the value, ms since the run started. */
export interface ProgressPoint {
  step: number;
  value: number;
  atMs: number;
}

/** The learning curve of one evaluation (one seed of one idea), points in the order they came. */
export interface EvaluationCurve {
  evaluationId: number;
  ideaId: number;
  seed: number;
  points: ProgressPoint[];
}

export interface EvaluationRecord {
  id: number;
  ideaId: number;
  seed: number;
  status: 'running' | 'succeeded' | 'failed';
  reward: number | null;
  failureReason: FailureReason | null;
  error: string | null;
  sandbox: string;
  exitCode: number | null;
  timedOut: boolean;
  oomKilled: boolean;
  durationMs: number | null;
  logPath: string | null;
  handle: SandboxHandle | null;
  gpus: string[];
  /** Which of the idea's commits ran: 0 the coder's first, n the fix of debug round n (src/store/debug-rounds.ts). */
  attempt: number;
  startedAt: string;
  finishedAt: string | null;
}

export function openDatabase(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  return db;
}

export interface IdeaRow {
  id: number;
  parent_id: number | null;
  title: string;
  hypothesis: string;
  plan: string;
  expected_effect: string;
  status: IdeaStatus;
  failure_reason: FailureReason | null;
  error: string | null;
  diff: string | null;
  commit_sha: string | null;
  reward: number | null;
  reward_std: number | null;
  reward_count: number;
  meta: string;
  created_at: string;
  finished_at: string | null;
  audit_verdict?: AuditVerdict | null;
  audit_reason?: string | null;
  audit_auditor?: string | null;
  audit_at?: string | null;
  audit_accepted_by?: string | null;
  audit_accepted_at?: string | null;
}

export function toIdea(row: IdeaRow): IdeaRecord {
  return {
    id: row.id,
    parentId: row.parent_id,
    title: row.title,
    hypothesis: row.hypothesis,
    plan: row.plan,
    expectedEffect: row.expected_effect,
    status: row.status,
    failureReason: row.failure_reason,
    error: row.error,
    diff: row.diff,
    commit: row.commit_sha,
    reward: row.reward,
    rewardStd: row.reward_std,
    rewardCount: row.reward_count,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
    meta: JSON.parse(row.meta),
    audit: row.audit_verdict
      ? {
          verdict: row.audit_verdict,
          reason: row.audit_reason ?? '',
          auditor: row.audit_auditor ?? '',
          at: row.audit_at ?? '',
          acceptedBy: row.audit_accepted_by ?? null,
          acceptedAt: row.audit_accepted_at ?? null,
        }
      : null,
  };
}

export interface EvaluationRow {
  id: number;
  idea_id: number;
  seed: number;
  status: EvaluationRecord['status'];
  reward: number | null;
  failure_reason: FailureReason | null;
  error: string | null;
  sandbox: string;
  exit_code: number | null;
  timed_out: number;
  oom_killed: number;
  duration_ms: number | null;
  log_path: string | null;
  handle: string | null;
  gpus: string;
  attempt?: number;
  started_at: string;
  finished_at: string | null;
}

export function toEvaluation(row: EvaluationRow): EvaluationRecord {
  return {
    id: row.id,
    ideaId: row.idea_id,
    seed: row.seed,
    status: row.status,
    reward: row.reward,
    failureReason: row.failure_reason,
    error: row.error,
    sandbox: row.sandbox,
    exitCode: row.exit_code,
    timedOut: row.timed_out === 1,
    oomKilled: row.oom_killed === 1,
    durationMs: row.duration_ms,
    logPath: row.log_path,
    handle: row.handle ? JSON.parse(row.handle) : null,
    gpus: JSON.parse(row.gpus),
    attempt: row.attempt ?? 0,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

/** How a run of a step ended (the fields finishEvaluationRow writes). */
export interface EvaluationOutcome {
  reward: number | null;
  failure: Failure | null;
  exitCode: number | null;
  timedOut: boolean;
  oomKilled: boolean;
  durationMs: number;
}

/** Records how an evaluation ended, in `evaluations` or `test_evaluations` (the same columns). */
export function finishEvaluationRow(
  db: Database.Database,
  table: 'evaluations' | 'test_evaluations',
  id: number,
  fields: EvaluationOutcome,
): void {
  db.prepare(
    `UPDATE ${table} SET status = ?, reward = ?, failure_reason = ?, error = ?, exit_code = ?,
     timed_out = ?, oom_killed = ?, duration_ms = ?, finished_at = ? WHERE id = ?`,
  ).run(
    fields.failure ? 'failed' : 'succeeded',
    fields.reward,
    fields.failure?.reason ?? null,
    fields.failure?.message ?? null,
    fields.exitCode,
    fields.timedOut ? 1 : 0,
    fields.oomKilled ? 1 : 0,
    fields.durationMs,
    new Date().toISOString(),
    id,
  );
}
