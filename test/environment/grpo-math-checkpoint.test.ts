/**
 * grpo-math's evaluator scores only the run's weights: before its own vLLM engine decodes them
 * (on a GPU, not here), score.py checks from the safetensors headers, read by hand, that they are
 * exactly the base model's tensors, and builds the folder vLLM loads from the base model's config
 * and tokenizer with the run's weights. That check runs here, with plain Python: a fitting
 * checkpoint (one file or shards), and hostile ones — another tensor, another shape, a truncated
 * or oversized header, a link, no weights at all — each refused with one line.
 */
import { spawnSync } from 'node:child_process';
import { lstatSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, tempDir } from '../helpers/sweep.ts';

const EVALUATOR = path.join(REPO_ROOT, 'environments/grpo-math/evaluator');
type Layout = Record<string, { dtype: string; shape: number[] }>;

/** A safetensors file: its 8-byte header length, the header, and zeroed tensor bytes. */
function safetensors(file: string, layout: Layout): void {
  let offset = 0;
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  for (const [name, { dtype, shape }] of Object.entries(layout)) {
    const bytes = shape.reduce((a, b) => a * b, 1) * 2;
    header[name] = { dtype, shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = Buffer.from(JSON.stringify(header));
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(file, Buffer.concat([size, json, Buffer.alloc(offset)]));
}

const BASE: Layout = { 'model.embed.weight': { dtype: 'BF16', shape: [4, 2] }, 'model.norm.weight': { dtype: 'BF16', shape: [2] } };

function baseModel(): string {
  const dir = tempDir('grpo-math-base-');
  writeFileSync(path.join(dir, 'config.json'), '{"architectures": ["Qwen2ForCausalLM"]}');
  writeFileSync(path.join(dir, 'tokenizer.json'), '{}');
  safetensors(path.join(dir, 'model.safetensors'), BASE);
  return dir;
}

/** Runs score.py's model_folder on a policy folder: the folder it built, or the line it failed with. */
function modelFolder(policy: string, base: string): { folder: string | null; error: string } {
  const work = path.join(tempDir('grpo-math-work-'), 'model');
  const script = `import sys; sys.path.insert(0, ${JSON.stringify(EVALUATOR)}); import score; print(score.model_folder(*sys.argv[1:4]))`;
  const result = spawnSync('python3', ['-c', script, policy, base, work], { encoding: 'utf8' });
  return { folder: result.status === 0 ? result.stdout.trim() : null, error: result.stderr.trim() };
}

function policyWith(files: Record<string, Layout | string>): string {
  const dir = tempDir('grpo-math-policy-');
  for (const [name, content] of Object.entries(files)) {
    if (typeof content === 'string') writeFileSync(path.join(dir, name), content);
    else safetensors(path.join(dir, name), content);
  }
  return dir;
}

describe("grpo-math's evaluator takes only the base model's tensors from a run", () => {
  it('builds the folder vLLM loads: the base config and tokenizer, the run weights, one file or shards', () => {
    const base = baseModel();
    // The run's own config.json is not taken: the base model's is.
    const single = policyWith({ 'model.safetensors': BASE, 'config.json': '{"architectures": ["Evil"]}' });
    const built = modelFolder(single, base);
    expect(built.error).toBe('');
    expect(readlinkSync(path.join(built.folder!, 'config.json'))).toBe(path.join(base, 'config.json'));
    expect(readlinkSync(path.join(built.folder!, 'tokenizer.json'))).toBe(path.join(base, 'tokenizer.json'));
    expect(readlinkSync(path.join(built.folder!, 'model.safetensors'))).toBe(path.join(single, 'model.safetensors'));

    const [first, second] = Object.entries(BASE);
    const sharded = policyWith({
      'model-00001-of-00002.safetensors': Object.fromEntries([first]),
      'model-00002-of-00002.safetensors': Object.fromEntries([second]),
      'model.safetensors.index.json': '{"weight_map": {"model.embed.weight": "../../evaluator/data/math500_answers.jsonl"}}',
    });
    const shards = modelFolder(sharded, base);
    expect(shards.error).toBe('');
    // The index is rebuilt from the headers, never the run's.
    expect(lstatSync(path.join(shards.folder!, 'model.safetensors.index.json')).isSymbolicLink()).toBe(false);
    expect(JSON.parse(readFileSync(path.join(shards.folder!, 'model.safetensors.index.json'), 'utf8')).weight_map).toEqual({
      'model.embed.weight': 'model-00001-of-00002.safetensors',
      'model.norm.weight': 'model-00002-of-00002.safetensors',
    });
  });

  it('refuses a checkpoint that is not exactly the base model, or not safetensors, in one line', () => {
    const base = baseModel();
    const refused = (files: Record<string, Layout | string>) => modelFolder(policyWith(files), base);
    expect(refused({ 'model.safetensors': { ...BASE, 'lm_head.extra': { dtype: 'BF16', shape: [2] } } }).error).toBe(
      "score.py: checkpoint does not fit the base model: missing [], unexpected ['lm_head.extra'], other dtype or shape []",
    );
    expect(refused({ 'model.safetensors': { ...BASE, 'model.norm.weight': { dtype: 'F32', shape: [2] } } }).error).toMatch(
      /other dtype or shape \['model\.norm\.weight'\]$/,
    );
    expect(refused({ 'model.safetensors': 'not a checkpoint' }).error).toMatch(
      /^score\.py: unreadable checkpoint model\.safetensors: header of \d+ bytes$/,
    );
    expect(refused({ 'model.safetensors': '\u0010\u0000\u0000\u0000\u0000\u0000\u0000\u0000{"a"' }).error).toBe(
      'score.py: unreadable checkpoint model.safetensors: truncated header',
    );
    expect(refused({ 'pytorch_model.bin': 'a pickle' }).error).toMatch(
      /^score\.py: no checkpoint: \$OUTPUT_DIR\/policy holds no \.safetensors file/,
    );
    // A link (to the base model's own weights, say) is not the run's file.
    const linked = policyWith({});
    symlinkSync(path.join(base, 'model.safetensors'), path.join(linked, 'model.safetensors'));
    expect(modelFolder(linked, base).error).toBe('score.py: unreadable checkpoint model.safetensors: not a plain file');
  });
});
