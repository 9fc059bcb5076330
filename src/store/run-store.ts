/**
 * The run store: one SQLite file per run (runs/<run-id>/run.db), the single source of truth for
 * `show`, `report`, `resume` and `compare`.
 *
 * Every write is one transaction and the database runs in WAL mode, so killing the researcher at
 * any moment (even kill -9) loses nothing that was recorded: a committed transaction is in the WAL
 * file (the OS's page cache) before the call returns. synchronous=NORMAL rather than FULL: FULL
 * adds an fsync to every commit, which blocks the event loop (better-sqlite3 is synchronous) for
 * 1–15 ms per write — several per idea — while every slot waits; it only matters on power loss or
 * an OS crash, where at worst the last few results are lost and `resume` runs those ideas again.
 *
 * (About 500 lines on purpose: the one facade every caller writes through, so that each write is
 * its own transaction in one place; its methods are short, and the queries of the newer tables
 * live beside it, one module per table: debug-rounds.ts, test-evaluations.ts, reflections.ts, …)
 */
import type Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../core/errors.ts';
import type { ModelCall, SandboxHandle } from '../core/interfaces.ts';
import { RunConfig } from '../core/run-config.ts';
import {
  currentAttempt,
  debugRounds,
  dropRunningSmokeRuns,
  ensureDebugTables,
  finishDebugRound,
  finishSmokeRun,
  runningSmokeRuns,
  setSmokeHandle,
  smokeRuns,
  startDebugRound,
  startSmokeRun,
  type DebugRoundRecord,
  type DebugRoundStart,
  type SmokeRunRecord,
} from './debug-rounds.ts';
import { TestEvaluationStore } from './test-evaluations.ts';
import { recordModelCallRequest } from './model-call-requests.ts';
import { recordedModelCalls, type RecordedModelCall } from './export-queries.ts';
import { modelCallTotals, type ModelCallTotal } from './model-call-totals.ts';
import { insertReflection, reflectionRecords, type NewReflection, type ReflectionRecord } from './reflections.ts';
import { mean, std } from '../core/statistics.ts';
import type { AuditVerdict, Edit, Failure, IdeaDraft, IdeaRecord, IdeaStatus, Usage } from '../core/types.ts';
import {
  DATABASE_FILE,
  SCHEMA,
  SCHEMA_VERSION,
  IDEAS_WITH_AUDITS,
  finishEvaluationRow,
  openDatabase,
  toEvaluation,
  toIdea,
  type EvaluationCurve,
  type EvaluationOutcome,
  type EvaluationRecord,
  type EvaluationRow,
  type ProgressPoint,
  type IdeaRow,
} from './tables.ts';

export type { DebugRoundRecord, SmokeRunRecord } from './debug-rounds.ts';
export { DATABASE_FILE, type EvaluationCurve, type EvaluationRecord, type ProgressPoint } from './tables.ts';

/** A model call as recorded: the agents' ModelCall, tied to the idea it was made for. */
export type ModelCallRecord = ModelCall & { ideaId: number | null };

const now = () => new Date().toISOString();

export class RunStore {
  /** The test split's evaluations, kept apart from the search's (see test-evaluations.ts). */
  readonly testEvaluations: TestEvaluationStore;

  private constructor(
    /** Private: every query lives in this class, under a name that says what it does. */
    private readonly db: Database.Database,
    readonly runDir: string,
  ) {
    this.testEvaluations = new TestEvaluationStore(db);
  }

  static create(runDir: string, config: RunConfig): RunStore {
    const store = new RunStore(openDatabase(path.join(runDir, DATABASE_FILE)), runDir);
    store.db.exec(SCHEMA);
    ensureDebugTables(store.db);
    store.setMeta('schemaVersion', SCHEMA_VERSION);
    store.setMeta('config', config);
    return store;
  }

  static open(runDir: string): RunStore {
    const file = path.join(runDir, DATABASE_FILE);
    if (!existsSync(file)) {
      throw new UsageError(`${runDir} is not a run: ${DATABASE_FILE} is missing (runs live in runs/<run-id>/)`);
    }
    const store = new RunStore(openDatabase(file), runDir);
    store.db.exec(SCHEMA);
    ensureDebugTables(store.db);
    return store;
  }

  close(): void {
    this.db.close();
  }

  /**
   * Runs `write` as one transaction: a kill at any point leaves the run before or after all of
   * its writes, never between them. Calls nest (better-sqlite3 makes the inner one a savepoint).
   */
  transaction<T>(write: () => T): T {
    return this.db.transaction(write)();
  }

  // ─── meta and config ────────────────────────────────────────────────────────────────────

  setMeta(key: string, value: unknown): void {
    this.db
      .prepare('INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value')
      .run(key, JSON.stringify(value));
  }

  getMeta<T>(key: string): T | undefined {
    const row = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return row ? (JSON.parse(row.value) as T) : undefined;
  }

  get config(): RunConfig {
    return RunConfig.parse(this.getMeta('config'));
  }

  // ─── ideas ──────────────────────────────────────────────────────────────────────────────

  insertIdea(draft: IdeaDraft, parentId: number | null, meta: Record<string, unknown> = {}, id?: number): number {
    const result = this.db
      .prepare(
        `INSERT INTO ideas(id, parent_id, title, hypothesis, plan, expected_effect, status, meta, created_at)
         VALUES (?, ?, ?, ?, ?, ?, 'proposed', ?, ?)`,
      )
      .run(id ?? null, parentId, draft.title, draft.hypothesis, draft.plan, draft.expectedEffect, JSON.stringify(meta), now());
    return Number(result.lastInsertRowid);
  }

  /** Records the committed change of an idea: it is ready to run. */
  setIdeaCode(id: number, fields: { edit: unknown; diff: string; commit: string }): void {
    this.db
      .prepare(`UPDATE ideas SET edit = ?, diff = ?, commit_sha = ?, status = 'ready' WHERE id = ?`)
      .run(JSON.stringify(fields.edit), fields.diff, fields.commit, id);
  }

  setIdeaStatus(id: number, status: IdeaStatus): void {
    this.db.prepare('UPDATE ideas SET status = ? WHERE id = ?').run(status, id);
  }

  /** Replaces an idea's text (the thinker's draft, written over its placeholder) and its strategy data. */
  updateProposal(id: number, draft: IdeaDraft, meta: Record<string, unknown>): void {
    this.db
      .prepare('UPDATE ideas SET title = ?, hypothesis = ?, plan = ?, expected_effect = ?, meta = ? WHERE id = ?')
      .run(draft.title, draft.hypothesis, draft.plan, draft.expectedEffect, JSON.stringify(meta), id);
  }

  /** The edit the coder wrote for an idea (parsed), or null. */
  ideaEdit(id: number): unknown {
    const row = this.db.prepare('SELECT edit FROM ideas WHERE id = ?').get(id) as { edit: string | null } | undefined;
    return row?.edit ? JSON.parse(row.edit) : null;
  }

  /** Every model call with what it sent, for `researcher export`. */
  recordedModelCalls(): RecordedModelCall[] {
    return recordedModelCalls(this.db);
  }

  /** Keeps the edit of an idea that fails before it is committed (refused), for the report. */
  recordFailedEdit(id: number, edit: Edit): void {
    this.db.prepare('UPDATE ideas SET edit = ? WHERE id = ?').run(JSON.stringify(edit), id);
  }

  failIdea(id: number, failure: Failure): void {
    this.db
      .prepare(`UPDATE ideas SET status = 'failed', failure_reason = ?, error = ?, finished_at = ? WHERE id = ?`)
      .run(failure.reason, failure.message, now(), id);
  }

  /** Recomputes an idea's reward from its last attempt's evaluations and marks it finished. */
  finishIdea(id: number): IdeaRecord {
    this.transaction(() => {
      const attempt = this.currentAttempt(id);
      const evaluations = this.evaluations(id).filter((e) => e.status !== 'running' && e.attempt === attempt);
      const rewards = evaluations.filter((e) => e.status === 'succeeded').map((e) => e.reward as number);
      // A seed stopped early makes the idea a stopped one: its other seeds' mean would hide the loss.
      const stopped = evaluations.find((e) => e.failureReason === 'stopped-early');
      if (stopped) {
        this.failIdea(id, { reason: 'stopped-early', message: stopped.error ?? 'stopped early' });
      } else if (rewards.length > 0) {
        this.db
          .prepare(
            `UPDATE ideas SET status = 'succeeded', reward = ?, reward_std = ?, reward_count = ?,
             failure_reason = NULL, error = NULL, finished_at = ? WHERE id = ?`,
          )
          .run(mean(rewards), std(rewards), rewards.length, now(), id);
      } else {
        const failed = evaluations.find((e) => e.status === 'failed');
        this.failIdea(id, {
          reason: failed?.failureReason ?? 'no-metric',
          message: failed?.error ?? 'no evaluation produced a reward',
        });
      }
    });
    return this.idea(id)!;
  }

  /** Puts an unfinished idea back in the queue (resume): keeps its text and, if any, its change. */
  requeueIdea(id: number): void {
    this.transaction(() => {
      // The in-flight evaluation is run again from its start, with a fresh curve.
      this.db
        .prepare(`DELETE FROM progress WHERE evaluation_id IN (SELECT id FROM evaluations WHERE idea_id = ? AND status = 'running')`)
        .run(id);
      this.db.prepare(`DELETE FROM evaluations WHERE idea_id = ? AND status = 'running'`).run(id);
      dropRunningSmokeRuns(this.db, id);
      this.db.prepare(`UPDATE ideas SET status = CASE WHEN commit_sha IS NULL THEN 'proposed' ELSE 'ready' END WHERE id = ?`).run(id);
    });
  }

  idea(id: number): IdeaRecord | undefined {
    const row = this.db.prepare(`${IDEAS_WITH_AUDITS} WHERE ideas.id = ?`).get(id) as IdeaRow | undefined;
    return row && toIdea(row);
  }

  ideas(): IdeaRecord[] {
    return (this.db.prepare(`${IDEAS_WITH_AUDITS} ORDER BY ideas.id`).all() as IdeaRow[]).map(toIdea);
  }

  // ─── audits ─────────────────────────────────────────────────────────────────────────────

  /** The auditor's verdict on an idea (one per idea: a resumed sweep does not review it again). */
  recordAudit(ideaId: number, audit: { verdict: AuditVerdict; reason: string; auditor: string }): void {
    this.db
      .prepare('INSERT OR REPLACE INTO audits(idea_id, verdict, reason, auditor, at) VALUES (?, ?, ?, ?, ?)')
      .run(ideaId, audit.verdict, audit.reason, audit.auditor, now());
  }

  /** A person accepts an idea the auditor flagged (`researcher accept`): it may be the best from now on. */
  acceptAudit(ideaId: number, acceptedBy: string): void {
    this.db.prepare('UPDATE audits SET accepted_by = ?, accepted_at = ? WHERE idea_id = ?').run(acceptedBy, now(), ideaId);
  }

  // ─── evaluations ────────────────────────────────────────────────────────────────────────

  /** `attempt`: which of the idea's commits runs (0 the coder's first, n the fix of debug round n). */
  startEvaluation(ideaId: number, seed: number, sandbox: string, logPath: string, gpus: string[], attempt = 0): number {
    const result = this.db
      .prepare(
        `INSERT INTO evaluations(idea_id, seed, status, sandbox, log_path, gpus, started_at, attempt) VALUES (?, ?, 'running', ?, ?, ?, ?, ?)`,
      )
      .run(ideaId, seed, sandbox, logPath, JSON.stringify(gpus), now(), attempt);
    return Number(result.lastInsertRowid);
  }

  setEvaluationHandle(id: number, handle: SandboxHandle): void {
    this.db.prepare('UPDATE evaluations SET handle = ? WHERE id = ?').run(JSON.stringify(handle), id);
  }

  finishEvaluation(id: number, fields: EvaluationOutcome): void {
    finishEvaluationRow(this.db, 'evaluations', id, fields);
  }

  evaluations(ideaId?: number): EvaluationRecord[] {
    const rows = (
      ideaId === undefined
        ? this.db.prepare('SELECT * FROM evaluations ORDER BY id').all()
        : this.db.prepare('SELECT * FROM evaluations WHERE idea_id = ? ORDER BY id').all(ideaId)
    ) as EvaluationRow[];
    return rows.map(toEvaluation);
  }

  runningEvaluations(): EvaluationRecord[] {
    return (this.db.prepare(`SELECT * FROM evaluations WHERE status = 'running'`).all() as EvaluationRow[]).map(toEvaluation);
  }

  // ─── debug rounds and smoke runs (./debug-rounds.ts) ────────────────────────────────────

  /** The attempt an idea's commit is now (0 until a debug round's fix is committed). */
  currentAttempt(ideaId: number): number {
    return currentAttempt(this.db, ideaId);
  }

  /** Starts a debug round, or takes up the one a killed researcher left coding; returns its id. */
  startDebugRound(start: Omit<DebugRoundStart, 'startedAt'>): number {
    return this.transaction(() => startDebugRound(this.db, { ...start, startedAt: now() }));
  }

  /**
   * A debug round's fix is committed: the round, and the idea's commit and diff (its change
   * against its parent, now the fix's), in one write, so a kill leaves the idea on one attempt.
   */
  commitDebugRound(roundId: number, ideaId: number, fix: { edit: Edit | null; diff: string; commit: string; ideaDiff: string }): void {
    this.transaction(() => {
      finishDebugRound(this.db, roundId, {
        status: 'committed',
        edit: fix.edit,
        diff: fix.diff,
        commit: fix.commit,
        coderMessage: null,
        finishedAt: now(),
      });
      this.db
        .prepare('UPDATE ideas SET edit = ?, diff = ?, commit_sha = ? WHERE id = ?')
        .run(JSON.stringify(fix.edit), fix.ideaDiff, fix.commit, ideaId);
    });
  }

  /** The coder wrote no usable fix: the round ends there (with the edit it wrote, if any). */
  failDebugRound(roundId: number, message: string, edit: Edit | null): void {
    finishDebugRound(this.db, roundId, {
      status: 'coder-failed',
      edit,
      diff: null,
      commit: null,
      coderMessage: message,
      finishedAt: now(),
    });
  }

  /** Every debug round of an idea (of every idea when no id is given), in order. */
  debugRounds(ideaId?: number): DebugRoundRecord[] {
    return debugRounds(this.db, ideaId);
  }

  startSmokeRun(ideaId: number, attempt: number, logPath: string): number {
    return startSmokeRun(this.db, ideaId, attempt, logPath, now());
  }

  setSmokeHandle(id: number, handle: SandboxHandle): void {
    setSmokeHandle(this.db, id, handle);
  }

  finishSmokeRun(
    id: number,
    fields: { passed: boolean; exitCode: number | null; timedOut: boolean; durationMs: number; message: string | null },
  ): void {
    finishSmokeRun(this.db, id, { ...fields, finishedAt: now() });
  }

  smokeRuns(ideaId?: number): SmokeRunRecord[] {
    return smokeRuns(this.db, ideaId);
  }

  runningSmokeRuns(): SmokeRunRecord[] {
    return runningSmokeRuns(this.db);
  }

  // ─── learning curves ────────────────────────────────────────────────────────────────────

  /** Appends points to an evaluation's curve as the run reports them (a crash keeps what came). */
  recordProgress(evaluationId: number, points: readonly ProgressPoint[]): void {
    if (points.length === 0) return;
    const insert = this.db.prepare('INSERT INTO progress(evaluation_id, step, value, at_ms) VALUES (?, ?, ?, ?)');
    this.db.transaction(() => {
      for (const point of points) insert.run(evaluationId, point.step, point.value, Math.round(point.atMs));
    })();
  }

  /** The curves of an idea's evaluations (every idea's when no id is given), in evaluation order. */
  curves(ideaId?: number): EvaluationCurve[] {
    const rows = (
      ideaId === undefined
        ? this.db
            .prepare(
              'SELECT e.id, e.idea_id, e.seed, p.step, p.value, p.at_ms FROM progress p JOIN evaluations e ON e.id = p.evaluation_id ORDER BY e.id, p.rowid',
            )
            .all()
        : this.db
            .prepare(
              'SELECT e.id, e.idea_id, e.seed, p.step, p.value, p.at_ms FROM progress p JOIN evaluations e ON e.id = p.evaluation_id WHERE e.idea_id = ? ORDER BY e.id, p.rowid',
            )
            .all(ideaId)
    ) as { id: number; idea_id: number; seed: number; step: number; value: number; at_ms: number }[];
    const curves = new Map<number, EvaluationCurve>();
    for (const row of rows) {
      let curve = curves.get(row.id);
      if (!curve) curves.set(row.id, (curve = { evaluationId: row.id, ideaId: row.idea_id, seed: row.seed, points: [] }));
      curve.points.push({ step: row.step, value: row.value, atMs: row.at_ms });
    }
    return [...curves.values()];
  }

  // ─── model calls and usage ──────────────────────────────────────────────────────────────

  recordModelCall(call: ModelCallRecord): void {
    // The call and what was sent are one write: a kill never leaves a reply without its prompt.
    this.db.transaction(() => this.insertModelCall(call))();
  }

  private insertModelCall(call: ModelCallRecord): void {
    const result = this.db
      .prepare(
        `INSERT INTO model_calls(idea_id, role, provider, model, cache_key, input_tokens, cached_tokens, cache_write_tokens,
         output_tokens, cost_usd, latency_ms, response, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        call.ideaId,
        call.role,
        call.provider,
        call.model,
        call.cacheKey,
        call.usage.inputTokens,
        call.usage.cachedTokens,
        call.usage.cacheWriteTokens,
        call.usage.outputTokens,
        call.usage.costUsd,
        call.latencyMs,
        call.response,
        now(),
      );
    if (call.request) recordModelCallRequest(this.db, Number(result.lastInsertRowid), call.request);
  }

  /** A recorded model response for this content address, so resume never pays twice. */
  cachedResponse(cacheKey: string): string | null {
    const row = this.db
      .prepare('SELECT response FROM model_calls WHERE cache_key = ? AND response IS NOT NULL ORDER BY id LIMIT 1')
      .get(cacheKey) as { response: string } | undefined;
    return row?.response ?? null;
  }

  usage(ideaId?: number): Usage {
    const where = ideaId === undefined ? '' : 'WHERE idea_id = ?';
    const row = this.db
      .prepare(
        `SELECT COALESCE(SUM(input_tokens),0) AS i, COALESCE(SUM(cached_tokens),0) AS c, COALESCE(SUM(cache_write_tokens),0) AS w,
         COALESCE(SUM(output_tokens),0) AS o, COALESCE(SUM(cost_usd),0) AS d FROM model_calls ${where}`,
      )
      .get(...(ideaId === undefined ? [] : [ideaId])) as { i: number; c: number; w: number; o: number; d: number };
    return { inputTokens: row.i, cachedTokens: row.c, cacheWriteTokens: row.w, outputTokens: row.o, costUsd: row.d };
  }

  /** Model calls summed per idea, role and model (one idea's, or the run's), in the order they were first made. */
  modelCallTotals(ideaId?: number): ModelCallTotal[] {
    return modelCallTotals(this.db, ideaId);
  }

  // ─── reflections ────────────────────────────────────────────────────────────────────────

  /** Records one reflection (src/store/reflections.ts); returns its id. */
  recordReflection(reflection: NewReflection): number {
    return insertReflection(this.db, reflection);
  }

  /** The run's reflections, oldest first. */
  reflections(): ReflectionRecord[] {
    return reflectionRecords(this.db);
  }

  // ─── change detection ───────────────────────────────────────────────────────────────────

  /**
   * Plain data that changes whenever anything a report shows changes: each idea's status, title,
   * reward and commit, how many evaluations started and finished, how many model calls were made.
   */
  changeFingerprint(): unknown[] {
    const ideas = this.db
      .prepare('SELECT id, status, title, reward, reward_count, commit_sha, finished_at FROM ideas ORDER BY id')
      .raw()
      .all();
    const evaluations = this.db
      .prepare(`SELECT COUNT(*), COALESCE(SUM(status != 'running'), 0), COALESCE(MAX(id), 0) FROM evaluations`)
      .raw()
      .get();
    const calls = this.db.prepare('SELECT COUNT(*) FROM model_calls').raw().get();
    const audits = this.db.prepare('SELECT idea_id, verdict, accepted_at FROM audits ORDER BY idea_id').raw().all();
    // Progress points: the live view redraws running curves as they grow.
    const progress = this.db.prepare('SELECT COUNT(*) FROM progress').raw().get();
    return [ideas, evaluations, calls, audits, progress];
  }
}
