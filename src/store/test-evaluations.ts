/**
 * The test split's evaluations: the final top ideas re-run on fresh seeds and scored by the test
 * evaluator. A table of their own, beside `evaluations`: nothing that computes an idea's reward,
 * feeds the search or builds the agents' context reads this one, so a test reward can never
 * steer the search (it would stop being a test).
 */
import type Database from 'better-sqlite3';
import type { Failure } from '../core/types.ts';
import { toEvaluation, type EvaluationRecord, type EvaluationRow } from './tables.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS test_evaluations (
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
);
CREATE INDEX IF NOT EXISTS test_evaluations_by_idea ON test_evaluations(idea_id);
`;

const now = () => new Date().toISOString();

export class TestEvaluationStore {
  constructor(private readonly db: Database.Database) {
    db.exec(SCHEMA);
  }

  start(ideaId: number, seed: number, sandbox: string, logPath: string, gpus: string[]): number {
    const result = this.db
      .prepare(
        `INSERT INTO test_evaluations(idea_id, seed, status, sandbox, log_path, gpus, started_at) VALUES (?, ?, 'running', ?, ?, ?, ?)`,
      )
      .run(ideaId, seed, sandbox, logPath, JSON.stringify(gpus), now());
    return Number(result.lastInsertRowid);
  }

  finish(
    id: number,
    fields: {
      reward: number | null;
      failure: Failure | null;
      exitCode: number | null;
      timedOut: boolean;
      oomKilled: boolean;
      durationMs: number;
    },
  ): void {
    this.db
      .prepare(
        `UPDATE test_evaluations SET status = ?, reward = ?, failure_reason = ?, error = ?, exit_code = ?,
         timed_out = ?, oom_killed = ?, duration_ms = ?, finished_at = ? WHERE id = ?`,
      )
      .run(
        fields.failure ? 'failed' : 'succeeded',
        fields.reward,
        fields.failure?.reason ?? null,
        fields.failure?.message ?? null,
        fields.exitCode,
        fields.timedOut ? 1 : 0,
        fields.oomKilled ? 1 : 0,
        fields.durationMs,
        now(),
        id,
      );
  }

  /** Forgets evaluations a stopped or killed scoring left running: the next `confirm` runs them again. */
  dropUnfinished(): void {
    this.db.prepare(`DELETE FROM test_evaluations WHERE status = 'running'`).run();
  }

  list(ideaId?: number): EvaluationRecord[] {
    const rows = (
      ideaId === undefined
        ? this.db.prepare('SELECT * FROM test_evaluations ORDER BY id').all()
        : this.db.prepare('SELECT * FROM test_evaluations WHERE idea_id = ? ORDER BY id').all(ideaId)
    ) as EvaluationRow[];
    return rows.map(toEvaluation);
  }
}
