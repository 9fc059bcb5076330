/**
 * The test split's evaluations: the final top ideas re-run on fresh seeds and scored by the test
 * evaluator. A table of their own, beside `evaluations`: nothing that computes an idea's reward,
 * feeds the search or builds the agents' context reads this one, so a test reward can never
 * steer the search (it would stop being a test).
 */
import type Database from 'better-sqlite3';
import {
  EVALUATION_COLUMNS,
  finishEvaluationRow,
  toEvaluation,
  type EvaluationOutcome,
  type EvaluationRecord,
  type EvaluationRow,
} from './tables.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS test_evaluations (${EVALUATION_COLUMNS});
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

  finish(id: number, fields: EvaluationOutcome): void {
    finishEvaluationRow(this.db, 'test_evaluations', id, fields);
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
