/**
 * Reads for `researcher export`: every model call of a run with what it sent and what came back,
 * in the order the calls were made. Kept apart from RunStore, which holds the sweep's writes.
 */
import type Database from 'better-sqlite3';
import type { ModelRequestText } from '../core/interfaces.ts';
import type { Usage } from '../core/types.ts';
import { modelCallRequests } from './model-call-requests.ts';

export interface RecordedModelCall {
  id: number;
  ideaId: number | null;
  role: string;
  provider: string;
  model: string;
  usage: Usage;
  latencyMs: number;
  response: string | null;
  /** Null for calls recorded before requests were kept. */
  request: ModelRequestText | null;
  createdAt: string;
}

interface ModelCallRow {
  id: number;
  idea_id: number | null;
  role: string;
  provider: string;
  model: string;
  input_tokens: number;
  cached_tokens: number;
  cache_write_tokens: number;
  output_tokens: number;
  cost_usd: number;
  latency_ms: number;
  response: string | null;
  created_at: string;
}

export function recordedModelCalls(db: Database.Database): RecordedModelCall[] {
  const requests = modelCallRequests(db);
  const rows = db.prepare('SELECT * FROM model_calls ORDER BY id').all() as ModelCallRow[];
  return rows.map((row) => ({
    id: row.id,
    ideaId: row.idea_id,
    role: row.role,
    provider: row.provider,
    model: row.model,
    usage: {
      inputTokens: row.input_tokens,
      cachedTokens: row.cached_tokens,
      cacheWriteTokens: row.cache_write_tokens,
      outputTokens: row.output_tokens,
      costUsd: row.cost_usd,
    },
    latencyMs: row.latency_ms,
    response: row.response,
    request: requests.get(row.id) ?? null,
    createdAt: row.created_at,
  }));
}
