/**
 * Trajectory records: one flat-ish record per idea of a run (what the thinker was told and said,
 * what the coder wrote, what the code scored per seed, what it cost), for training an ideator or
 * analysing sweeps with pandas or Hugging Face `datasets`. The fields are documented in
 * docs/export.md; every field has one JSON type in every record (null when absent), so a loader
 * infers one column type per field.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { ModelRequestText } from '../core/interfaces.ts';
import { ENVIRONMENT_FILE } from '../environment/load.ts';
import type { RecordedModelCall } from '../store/export-queries.ts';
import type { RunStore } from '../store/run-store.ts';
import { summarizeRun } from './run-summary.ts';

/** A chat message as trainers read them: the system prompt first, then the conversation. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface SeedRecord {
  seed: number;
  status: string;
  reward: number | null;
  failure_reason: string | null;
  error: string | null;
  exit_code: number | null;
  timed_out: boolean;
  oom_killed: boolean;
  duration_ms: number | null;
}

export interface ModelCallExport {
  role: string;
  provider: string;
  model: string;
  prompt: ChatMessage[] | null;
  reply: string | null;
  input_tokens: number;
  cached_tokens: number;
  cache_write_tokens: number;
  output_tokens: number;
  cost_usd: number;
  latency_ms: number;
}

/** One debug round as exported: the failure the coder was shown, and its fix. */
export interface DebugRoundExport {
  round: number;
  step: string;
  seed: number | null;
  failure_reason: string;
  error: string;
  exit_code: number | null;
  log_tail: string;
  status: string;
  fix_diff: string | null;
  fix_commit: string | null;
  outcome: string | null;
}

export interface TrajectoryRecord {
  run: string;
  run_dir: string;
  environment: string;
  environment_description: string | null;
  goal: string;
  agent: string;
  search: string;
  idea: number;
  parent: number | null;
  is_baseline: boolean;
  title: string;
  hypothesis: string;
  plan: string;
  expected_effect: string;
  instruction: string | null;
  notebook_hash: string | null;
  reflection: string | null;
  status: string;
  failure_reason: string | null;
  error: string | null;
  edit: string | null;
  diff: string | null;
  commit: string | null;
  reward: number | null;
  reward_std: number | null;
  reward_count: number;
  improvement: number | null;
  rewards: (number | null)[];
  seeds: SeedRecord[];
  /** Fixes of code that failed when it ran (debug rounds), oldest first; docs/export.md. */
  debug_rounds: DebugRoundExport[];
  thinker_model: string | null;
  thinker_prompt: ChatMessage[] | null;
  thinker_reply: string | null;
  thinker_calls: number;
  coder_model: string | null;
  coder_prompt: ChatMessage[] | null;
  coder_reply: string | null;
  coder_calls: number;
  model_calls: ModelCallExport[];
  input_tokens: number;
  cached_tokens: number;
  cache_write_tokens: number;
  output_tokens: number;
  cost_usd: number;
  created_at: string;
  finished_at: string | null;
  meta: string;
}

/**
 * Fields (at any depth) that hold real numbers: written with a decimal point even when whole
 * (9 → 9.0), so Python reads a float and a loader never sees one column as int in some records
 * and float in others.
 */
export const FLOAT_FIELDS = new Set(['reward', 'reward_std', 'improvement', 'rewards', 'cost_usd']);

export function trajectoryRecords(store: RunStore): TrajectoryRecord[] {
  const summary = summarizeRun(store);
  const config = summary.run;
  const description = environmentDescription(config.environmentDir);
  const calls = groupCalls(store.recordedModelCalls());
  const learned = new Map(store.reflections().map((r) => [r.id, r.learned]));
  return summary.ideas.map((idea) => {
    const ideaCalls = calls.get(idea.id) ?? [];
    const thinker = ideaCalls.filter((call) => call.role === 'thinker');
    const coder = ideaCalls.filter((call) => call.role === 'coder');
    const lastThinker = thinker.at(-1) ?? null;
    const lastCoder = coder.at(-1) ?? null;
    // The last attempt's evaluations: the ones the idea's reward comes from (earlier attempts' are in debug_rounds).
    const attempt = Math.max(0, ...idea.evaluations.map((e) => e.attempt));
    const seeds = idea.evaluations
      .filter((e) => e.attempt === attempt)
      .map((e) => ({
        seed: e.seed,
        status: e.status,
        reward: e.reward,
        failure_reason: e.failureReason,
        error: e.error,
        exit_code: e.exitCode,
        timed_out: e.timedOut,
        oom_killed: e.oomKilled,
        duration_ms: e.durationMs,
      }))
      .sort((a, b) => a.seed - b.seed);
    const { instruction, ...meta } = idea.meta;
    return {
      run: config.runId,
      run_dir: path.resolve(config.dir),
      environment: config.environmentName,
      environment_description: description,
      goal: summary.goal,
      agent: config.agent,
      search: config.search,
      idea: idea.id,
      parent: idea.parent,
      is_baseline: idea.id === 0,
      title: idea.title,
      hypothesis: idea.hypothesis,
      plan: idea.plan,
      expected_effect: idea.expectedEffect,
      instruction: typeof instruction === 'string' && instruction !== '' ? instruction : null,
      notebook_hash: seenSha(meta.notebook),
      reflection: learned.get(Number((meta.reflection as { id?: unknown } | undefined)?.id)) ?? null,
      status: idea.status,
      failure_reason: idea.failureReason,
      error: idea.error,
      edit: editText(store.ideaEdit(idea.id)),
      diff: idea.diff,
      commit: idea.commit,
      reward: idea.reward,
      reward_std: idea.rewardStd,
      reward_count: idea.rewardCount,
      improvement: idea.improvement,
      rewards: seeds.map((seed) => seed.reward),
      seeds,
      debug_rounds: idea.debugRounds.map((round) => ({
        round: round.round,
        step: round.failure.step,
        seed: round.failure.seed,
        failure_reason: round.failure.reason,
        error: round.failure.message,
        exit_code: round.failure.exitCode,
        log_tail: round.failure.logTail,
        status: round.status,
        fix_diff: round.diff,
        fix_commit: round.commit,
        outcome: round.outcome,
      })),
      thinker_model: lastThinker?.model ?? null,
      thinker_prompt: lastThinker ? chat(lastThinker.request) : null,
      thinker_reply: lastThinker?.response ?? null,
      thinker_calls: thinker.length,
      coder_model: lastCoder?.model ?? null,
      coder_prompt: lastCoder ? chat(lastCoder.request) : null,
      coder_reply: lastCoder?.response ?? null,
      coder_calls: coder.length,
      model_calls: ideaCalls.map((call) => ({
        role: call.role,
        provider: call.provider,
        model: call.model,
        prompt: chat(call.request),
        reply: call.response,
        input_tokens: call.usage.inputTokens,
        cached_tokens: call.usage.cachedTokens,
        cache_write_tokens: call.usage.cacheWriteTokens,
        output_tokens: call.usage.outputTokens,
        cost_usd: call.usage.costUsd,
        latency_ms: call.latencyMs,
      })),
      input_tokens: idea.usage.inputTokens,
      cached_tokens: idea.usage.cachedTokens,
      cache_write_tokens: idea.usage.cacheWriteTokens,
      output_tokens: idea.usage.outputTokens,
      cost_usd: idea.usage.costUsd,
      created_at: idea.createdAt,
      finished_at: idea.finishedAt,
      meta: JSON.stringify(meta),
    };
  });
}

/** One record as a line of JSON, real-number fields always with a decimal point. */
export function recordLine(record: TrajectoryRecord): string {
  return toJson(record, false);
}

function toJson(value: unknown, isFloat: boolean): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return 'null'; // JSON has no NaN or Infinity
    return isFloat && Number.isInteger(value) ? value.toFixed(1) : JSON.stringify(value);
  }
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((item) => toJson(item, isFloat)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).map(
    ([key, item]) => `${JSON.stringify(key)}:${toJson(item, FLOAT_FIELDS.has(key))}`,
  );
  return `{${entries.join(',')}}`;
}

/** The fingerprint in an idea's record of the notebook it saw (src/core/sweep/memory.ts), or null. */
function seenSha(seen: unknown): string | null {
  const sha = (seen as { sha256?: unknown } | undefined)?.sha256;
  return typeof sha === 'string' ? sha : null;
}

function groupCalls(calls: RecordedModelCall[]): Map<number, RecordedModelCall[]> {
  const groups = new Map<number, RecordedModelCall[]>();
  for (const call of calls) {
    if (call.ideaId === null) continue;
    groups.set(call.ideaId, [...(groups.get(call.ideaId) ?? []), call]);
  }
  return groups;
}

function chat(request: ModelRequestText | null): ChatMessage[] | null {
  if (!request) return null;
  return [{ role: 'system', content: request.system }, ...request.messages];
}

/** The coder's edit as JSON text: its shape differs by kind (diff, search/replace, knob settings). */
function editText(edit: unknown): string | null {
  return edit === null || edit === undefined ? null : JSON.stringify(edit);
}

/**
 * The task description the agents were given, read from the environment folder the run names
 * (the run does not copy it). Null when that folder or its description is gone or unreadable.
 */
function environmentDescription(environmentDir: string): string | null {
  try {
    const raw = parseYaml(readFileSync(path.join(environmentDir, ENVIRONMENT_FILE), 'utf8')) as { description?: unknown } | null;
    return typeof raw?.description === 'string' ? raw.description : null;
  } catch {
    return null;
  }
}
