/**
 * The run's reflections (src/core/reflection.ts): each one the sweep asked for, whether it
 * worked, what it said (the summary the thinker saw from then on) and which notebook it wrote.
 *
 * Its own table, created on first use, so runs recorded before it existed open unchanged.
 */
import type Database from 'better-sqlite3';
import type { Reflection, ReflectionKind } from '../core/reflection.ts';
import type { Usage } from '../core/types.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS reflections (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  after_ideas INTEGER NOT NULL,
  ok INTEGER NOT NULL,
  reflection TEXT,
  learned TEXT,
  learned_sha256 TEXT,
  notebook_sha256 TEXT,
  message TEXT,
  usage TEXT,
  created_at TEXT NOT NULL
);
`;

/** One reflection as recorded. */
export interface ReflectionRecord {
  id: number;
  kind: ReflectionKind;
  /** Finished ideas (the baseline not counted) it reflected on. */
  afterIdeas: number;
  ok: boolean;
  /** What the reflector said (null when it failed). */
  reflection: Reflection | null;
  /** "What we have learned so far" as the thinker sees it, and its fingerprint (null when it failed). */
  learned: string | null;
  learnedSha256: string | null;
  /** Fingerprint of the notebook it wrote (null: it wrote none). */
  notebookSha256: string | null;
  /** Why it failed, or why the notebook was not written; null when all went well. */
  message: string | null;
  /** Tokens and dollars of the reflector's calls, when it worked (a failed one's calls are in the run's usage, under no idea). */
  usage: Usage | null;
  createdAt: string;
}

export type NewReflection = Omit<ReflectionRecord, 'id' | 'createdAt'>;

const ready = new WeakSet<Database.Database>();

function ensureTable(db: Database.Database): void {
  if (ready.has(db)) return;
  db.exec(SCHEMA);
  ready.add(db);
}

export function insertReflection(db: Database.Database, record: NewReflection): number {
  ensureTable(db);
  const result = db
    .prepare(
      `INSERT INTO reflections(kind, after_ideas, ok, reflection, learned, learned_sha256, notebook_sha256, message, usage, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      record.kind,
      record.afterIdeas,
      record.ok ? 1 : 0,
      record.reflection === null ? null : JSON.stringify(record.reflection),
      record.learned,
      record.learnedSha256,
      record.notebookSha256,
      record.message,
      record.usage === null ? null : JSON.stringify(record.usage),
      new Date().toISOString(),
    );
  return Number(result.lastInsertRowid);
}

interface ReflectionRow {
  id: number;
  kind: ReflectionKind;
  after_ideas: number;
  ok: number;
  reflection: string | null;
  learned: string | null;
  learned_sha256: string | null;
  notebook_sha256: string | null;
  message: string | null;
  usage: string | null;
  created_at: string;
}

/** Every reflection of the run, oldest first. */
export function reflectionRecords(db: Database.Database): ReflectionRecord[] {
  ensureTable(db);
  return (db.prepare('SELECT * FROM reflections ORDER BY id').all() as ReflectionRow[]).map((row) => ({
    id: row.id,
    kind: row.kind,
    afterIdeas: row.after_ideas,
    ok: row.ok === 1,
    reflection: row.reflection === null ? null : (JSON.parse(row.reflection) as Reflection),
    learned: row.learned,
    learnedSha256: row.learned_sha256,
    notebookSha256: row.notebook_sha256,
    message: row.message,
    usage: row.usage === null ? null : (JSON.parse(row.usage) as Usage),
    createdAt: row.created_at,
  }));
}
