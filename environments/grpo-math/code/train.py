"""GRPO post-training of Qwen2.5-Math-1.5B on MATH train; saves the trained policy.

Run (on one GPU, after ../setup.sh):  OUTPUT_DIR=<folder> SEED=0 python3 train.py
Reads $GRPO_MATH_DATA/{math_train.jsonl, model/} (set in environment.yaml). Writes the trained
policy's weights to $OUTPUT_DIR/policy/ (safetensors): the frozen evaluator loads them into its
own vLLM engine and answers MATH500, which this code never sees, with its own prompt and grading.
The training reward uses math_grading.py on the train answers.
"""
import json
import os
import random
import sys
import time

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

import config as C
from grpo import group_normalized_advantages, masked_mean, per_token_loss, response_logprobs
from math_grading import grade
from rollout import load_policy_into_vllm, make_llm, sample

HERE = os.path.dirname(os.path.abspath(__file__))


def log(message):
    print(message, flush=True)


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def training_reward(generation, answer):
    result = grade(generation, answer)
    return C.ANSWER_REWARD_WEIGHT * result["answer"] + C.FORMAT_REWARD_WEIGHT * result["format"], result


def pad_batch(prompt_ids, response_ids, pad_id, device):
    """input_ids, attention_mask and the response mask (aligned with logprobs, i.e. shifted by one)."""
    rows = [p + r for p, r in zip(prompt_ids, response_ids)]
    length = max(map(len, rows))
    input_ids = torch.full((len(rows), length), pad_id, dtype=torch.long)
    attention = torch.zeros((len(rows), length), dtype=torch.long)
    response_mask = torch.zeros((len(rows), length - 1))
    for i, (p, r) in enumerate(zip(prompt_ids, response_ids)):
        input_ids[i, :len(p) + len(r)] = torch.tensor(p + r)
        attention[i, :len(p) + len(r)] = 1
        response_mask[i, len(p) - 1:len(p) + len(r) - 1] = 1
    return input_ids.to(device), attention.to(device), response_mask.to(device)


def train_on_rollouts(policy, optimizer, batch, device, pad_id):
    """EPOCHS_PER_ROLLOUT_BATCH passes of optimiser steps of TRAIN_BATCH_SIZE sequences each."""
    n = len(batch["response_ids"])
    old_logprobs = [None] * n
    if C.LOSS_TYPE == "grpo_clip":  # pi_old: the policy that sampled the batch
        with torch.no_grad():
            for i in range(0, n, C.MICRO_BATCH_SIZE):
                sl = slice(i, i + C.MICRO_BATCH_SIZE)
                ids, attn, _ = pad_batch(batch["prompt_ids"][sl], batch["response_ids"][sl], pad_id, device)
                old_logprobs[sl] = list(response_logprobs(policy, ids, attn))
    accumulation = C.TRAIN_BATCH_SIZE // C.MICRO_BATCH_SIZE
    stats = {"loss": 0.0, "grad_norm": 0.0, "updates": 0}
    for _ in range(C.EPOCHS_PER_ROLLOUT_BATCH):
        order = list(range(n))
        random.shuffle(order)
        for start in range(0, n, C.TRAIN_BATCH_SIZE):
            chunk = order[start:start + C.TRAIN_BATCH_SIZE]
            for m in range(0, len(chunk), C.MICRO_BATCH_SIZE):
                idx = chunk[m:m + C.MICRO_BATCH_SIZE]
                ids, attn, mask = pad_batch([batch["prompt_ids"][i] for i in idx],
                                            [batch["response_ids"][i] for i in idx], pad_id, device)
                logprobs = response_logprobs(policy, ids, attn)
                old = None
                if C.LOSS_TYPE == "grpo_clip":
                    old = torch.nn.utils.rnn.pad_sequence([old_logprobs[i] for i in idx], batch_first=True)
                    old = torch.nn.functional.pad(old, (0, logprobs.shape[1] - old.shape[1]))
                loss = masked_mean(
                    per_token_loss(C.LOSS_TYPE, logprobs, batch["raw_rewards"][idx].to(device),
                                   batch["advantages"][idx].to(device), old, C.CLIP_RANGE),
                    mask, C.LENGTH_NORMALIZATION, C.MAX_NEW_TOKENS) / accumulation
                loss.backward()
                stats["loss"] += loss.item()
            grad_norm = torch.nn.utils.clip_grad_norm_(policy.parameters(), C.MAX_GRAD_NORM)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            stats["grad_norm"] += grad_norm.item()
            stats["updates"] += 1
    stats["loss"] /= max(stats["updates"], 1)
    stats["grad_norm"] /= max(stats["updates"], 1)
    return stats


def main():
    start = time.time()
    seed = int(os.environ.get("SEED", "0"))
    output_dir = os.environ.get("OUTPUT_DIR")
    data_dir = os.environ.get("GRPO_MATH_DATA")
    if not output_dir:
        sys.exit("OUTPUT_DIR is not set")
    if not data_dir or not os.path.isdir(os.path.join(data_dir, "model")):
        sys.exit(f"GRPO_MATH_DATA={data_dir!r} has no model/: run environments/grpo-math/setup.sh first")
    if not torch.cuda.is_available():
        sys.exit("grpo-math needs a CUDA GPU (resources: { gpus: 1 })")
    random.seed(seed)
    torch.manual_seed(seed)
    device = torch.device("cuda")
    model_path = os.path.join(data_dir, "model")

    with open(os.path.join(HERE, C.PROMPT_FILE)) as f:
        template = f.read()
    train = read_jsonl(os.path.join(data_dir, "math_train.jsonl"))
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    policy = AutoModelForCausalLM.from_pretrained(model_path, torch_dtype=torch.bfloat16,
                                                  attn_implementation="sdpa").to(device)
    policy.gradient_checkpointing_enable()
    policy.config.use_cache = False
    optimizer = torch.optim.AdamW(policy.parameters(), lr=C.LEARNING_RATE,
                                  weight_decay=C.WEIGHT_DECAY, betas=(0.9, 0.95))
    llm = make_llm(model_path, seed, C.VLLM_GPU_MEMORY_UTILIZATION, max_model_len=2048)
    log(f"seed={seed} train={len(train)} loss={C.LOSS_TYPE} "
        f"lr={C.LEARNING_RATE} loaded in {time.time() - start:.0f}s")

    deadline = start + C.TIME_BUDGET_SECONDS - C.SAVE_RESERVE_SECONDS
    for step in range(1, C.N_GRPO_STEPS + 1):
        if time.time() > deadline:
            log(f"time budget reached before step {step}: stopping training")
            break
        step_start = time.time()
        problems = random.sample(train, C.PROMPTS_PER_STEP)
        prompts = [template.format(question=p["problem"]) for p in problems]
        groups = sample(llm, prompts, C.GROUP_SIZE, C.SAMPLING_TEMPERATURE, C.SAMPLING_TOP_P,
                        C.MAX_NEW_TOKENS, C.SAMPLING_MIN_TOKENS, seed * 100003 + step)
        prompt_ids, response_ids, rewards, formats = [], [], [], []
        for problem, prompt, group in zip(problems, prompts, groups):
            ids = tokenizer(prompt)["input_ids"]
            for text, tokens in group:
                value, result = training_reward(text, problem["answer"])
                prompt_ids.append(ids)
                response_ids.append(tokens)
                rewards.append(value)
                formats.append(result["format"])
        raw = torch.tensor(rewards)
        batch = {
            "prompt_ids": prompt_ids, "response_ids": response_ids, "raw_rewards": raw,
            "advantages": group_normalized_advantages(raw, C.GROUP_SIZE, C.USE_STD_NORMALIZATION,
                                                      C.ADVANTAGE_EPS),
        }
        stats = train_on_rollouts(policy, optimizer, batch, device, pad_id)
        load_policy_into_vllm(policy, llm)
        if step % C.LOG_EVERY == 0 or step == 1:
            # The progress line environment.yaml declares: this step's mean sampled reward.
            log(f"step {step}/{C.N_GRPO_STEPS} train_reward {raw.mean():.4f} "
                f"format={sum(formats) / len(formats):.3f} mean_len={sum(map(len, response_ids)) / len(response_ids):.0f} loss={stats['loss']:.4f} "
                f"grad_norm={stats['grad_norm']:.3f} step_s={time.time() - step_start:.0f} "
                f"elapsed={time.time() - start:.0f}s")

    # The checkpoint is the result: the evaluator decodes it itself (only the weights count).
    policy.save_pretrained(os.path.join(output_dir, "policy"), safe_serialization=True)
    log(f"wrote the trained policy to policy/ in {time.time() - start:.0f}s")


if __name__ == "__main__":
    main()
