# Hyper-parameters of the GRPO run: one `NAME = value` per line (the search rewrites these lines).

# --- GRPO -------------------------------------------------------------------------------------
# Policy-gradient loss: "no_baseline" (REINFORCE on the raw reward), "reinforce_with_baseline"
# (group-normalised advantages), or "grpo_clip" (PPO-style clipped ratio on those advantages).
LOSS_TYPE = "reinforce_with_baseline"
# AdamW learning rate (constant).
LEARNING_RATE = 1e-5
# GRPO steps: each samples PROMPTS_PER_STEP problems x GROUP_SIZE answers, then trains on them.
N_GRPO_STEPS = 20
PROMPTS_PER_STEP = 128
GROUP_SIZE = 8
# Divide the group-centred rewards by the group's standard deviation (GRPO); False = Dr. GRPO.
USE_STD_NORMALIZATION = True
ADVANTAGE_EPS = 1e-6
# Optimiser steps per rollout batch = ROLLOUT_BATCH / TRAIN_BATCH_SIZE (off-policy after the
# first: grpo_clip's ratio and clip account for it). EPOCHS_PER_ROLLOUT_BATCH passes over it.
TRAIN_BATCH_SIZE = 256
EPOCHS_PER_ROLLOUT_BATCH = 1
CLIP_RANGE = 0.2
# Sequences per forward/backward pass (gradient accumulation up to TRAIN_BATCH_SIZE).
MICRO_BATCH_SIZE = 4
# Average the per-token loss over each response ("sequence") or over all tokens of the batch
# divided by MAX_NEW_TOKENS ("constant", as in Dr. GRPO).
LENGTH_NORMALIZATION = "sequence"
MAX_GRAD_NORM = 1.0
WEIGHT_DECAY = 0.0
# Rollout sampling.
SAMPLING_TEMPERATURE = 1.0
SAMPLING_TOP_P = 1.0
SAMPLING_MIN_TOKENS = 4
MAX_NEW_TOKENS = 1024
# Training reward = ANSWER_REWARD_WEIGHT * correct + FORMAT_REWARD_WEIGHT * well-formatted.
ANSWER_REWARD_WEIGHT = 1.0
FORMAT_REWARD_WEIGHT = 0.0

# --- Fixed settings -----------------------------------------------------------------------------
# Wall-clock budget of the whole run (training stops early to leave room for saving the policy;
# the evaluator answers MATH500 with it afterwards, in its own step).
TIME_BUDGET_SECONDS = 3600
# Time kept for saving the trained policy (about 3 GB of safetensors).
SAVE_RESERVE_SECONDS = 120
# Share of the GPU's memory vLLM may take; the policy, its gradients and AdamW take the rest.
VLLM_GPU_MEMORY_UTILIZATION = 0.25
# Prompt template (R1-zero) in prompts/r1_zero.prompt; {question} is replaced.
PROMPT_FILE = "prompts/r1_zero.prompt"
# Print a line every LOG_EVERY GRPO steps.
LOG_EVERY = 1
