/**
 * What each model call sent (system prompt and messages), kept beside the run's model_calls so
 * `researcher export` can give the thinker's and coder's prompts as training data.
 *
 * Its own tables, created on first use, so runs recorded before it existed open unchanged (their
 * calls simply have no request). The system prompt holds the environment's code and repeats on
 * every call of a role, so it is stored once per distinct text (by content hash) rather than per
 * call; the messages (history, instruction, repair feedback) change each call and are stored as is.
 */
import type Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import type { ModelRequestText } from '../core/interfaces.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS model_call_texts (sha256 TEXT PRIMARY KEY, text TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS model_call_requests (
  call_id INTEGER PRIMARY KEY REFERENCES model_calls(id),
  system_sha256 TEXT NOT NULL REFERENCES model_call_texts(sha256),
  messages TEXT NOT NULL
);
`;

const ready = new WeakSet<Database.Database>();

function ensureTables(db: Database.Database): void {
  if (ready.has(db)) return;
  db.exec(SCHEMA);
  ready.add(db);
}

/** Records what call `callId` sent. Runs inside the caller's transaction when there is one. */
export function recordModelCallRequest(db: Database.Database, callId: number, request: ModelRequestText): void {
  ensureTables(db);
  const sha = createHash('sha256').update(request.system).digest('hex');
  db.prepare('INSERT OR IGNORE INTO model_call_texts(sha256, text) VALUES (?, ?)').run(sha, request.system);
  db.prepare('INSERT INTO model_call_requests(call_id, system_sha256, messages) VALUES (?, ?, ?)').run(
    callId,
    sha,
    JSON.stringify(request.messages),
  );
}

/** The requests recorded for these calls, by call id (calls without one are left out). */
export function modelCallRequests(db: Database.Database): Map<number, ModelRequestText> {
  ensureTables(db);
  const rows = db
    .prepare(
      `SELECT r.call_id AS id, t.text AS system, r.messages AS messages
       FROM model_call_requests r JOIN model_call_texts t ON t.sha256 = r.system_sha256`,
    )
    .all() as { id: number; system: string; messages: string }[];
  return new Map(rows.map((row) => [row.id, { system: row.system, messages: JSON.parse(row.messages) as ModelRequestText['messages'] }]));
}
