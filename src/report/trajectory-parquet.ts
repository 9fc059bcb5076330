/**
 * Trajectory records as a Parquet file (hyparquet-writer: pure JavaScript, no native build).
 * Scalar fields become typed columns (strings, 64-bit integers, doubles, booleans; nullable
 * exactly where docs/export.md says "or null"), `rewards` a list of doubles; the nested fields
 * (seeds, model calls, prompts) are JSON text columns, since their records nest lists of records
 * that the JSON-lines export carries as they are. Layout: docs/export.md, "Parquet".
 */
import type { SchemaElement } from 'hyparquet-writer';
import { parquetWriteBuffer } from 'hyparquet-writer';
import type { TrajectoryRecord } from './trajectory.ts';

type ColumnKind = 'string' | 'int' | 'float' | 'bool' | 'float-list' | 'json';

/** Every field of a record with its column kind and whether it may be null. */
export const PARQUET_COLUMNS = {
  run: ['string', false],
  run_dir: ['string', false],
  environment: ['string', false],
  environment_description: ['string', true],
  goal: ['string', false],
  agent: ['string', false],
  search: ['string', false],
  idea: ['int', false],
  parent: ['int', true],
  is_baseline: ['bool', false],
  title: ['string', false],
  hypothesis: ['string', false],
  plan: ['string', false],
  expected_effect: ['string', false],
  instruction: ['string', true],
  notebook_hash: ['string', true],
  reflection: ['string', true],
  status: ['string', false],
  failure_reason: ['string', true],
  error: ['string', true],
  edit: ['string', true],
  diff: ['string', true],
  commit: ['string', true],
  reward: ['float', true],
  reward_std: ['float', true],
  reward_count: ['int', false],
  improvement: ['float', true],
  rewards: ['float-list', false],
  seeds: ['json', false],
  debug_rounds: ['json', false],
  thinker_model: ['string', true],
  thinker_prompt: ['json', true],
  thinker_reply: ['string', true],
  thinker_calls: ['int', false],
  coder_model: ['string', true],
  coder_prompt: ['json', true],
  coder_reply: ['string', true],
  coder_calls: ['int', false],
  model_calls: ['json', false],
  input_tokens: ['int', false],
  cached_tokens: ['int', false],
  cache_write_tokens: ['int', false],
  output_tokens: ['int', false],
  cost_usd: ['float', false],
  created_at: ['string', false],
  finished_at: ['string', true],
  meta: ['string', false],
} as const satisfies Record<keyof TrajectoryRecord, readonly [ColumnKind, boolean]>;

type Field = keyof typeof PARQUET_COLUMNS;

export function trajectoryParquet(records: TrajectoryRecord[]): Uint8Array {
  const fields = Object.keys(PARQUET_COLUMNS) as Field[];
  const schema: SchemaElement[] = [{ name: 'root', num_children: fields.length }];
  for (const field of fields) schema.push(...schemaOf(field));
  const columnData = fields.map((field) => ({ name: field, data: records.map((record) => cell(field, record[field])) }));
  return new Uint8Array(parquetWriteBuffer({ columnData, schema, createdBy: 'ai-researcher export' }));
}

function schemaOf(field: Field): SchemaElement[] {
  const [kind, nullable] = PARQUET_COLUMNS[field];
  const repetition_type = nullable ? 'OPTIONAL' : 'REQUIRED';
  switch (kind) {
    case 'string':
      return [{ name: field, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type }];
    case 'json':
      return [{ name: field, type: 'BYTE_ARRAY', converted_type: 'JSON', repetition_type }];
    case 'int':
      return [{ name: field, type: 'INT64', repetition_type }];
    case 'float':
      return [{ name: field, type: 'DOUBLE', repetition_type }];
    case 'bool':
      return [{ name: field, type: 'BOOLEAN', repetition_type }];
    case 'float-list':
      // The standard three-level LIST layout, which pyarrow, pandas and Spark read as list<double>.
      return [
        { name: field, converted_type: 'LIST', repetition_type, num_children: 1 },
        { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
        { name: 'element', type: 'DOUBLE', repetition_type: 'OPTIONAL' },
      ];
  }
}

function cell(field: Field, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (PARQUET_COLUMNS[field][0]) {
    case 'int':
      return BigInt(value as number);
    case 'json':
      return JSON.stringify(value);
    default:
      return value;
  }
}
