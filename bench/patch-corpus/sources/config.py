# Hyper-parameters of the GRPO run: one `NAME = value` per line (the search rewrites these lines).

# --- GRPO -------------------------------------------------------------------------------------
# SGD step size of the GRPO updates (per question: see train.py). Too large and the run diverges.
LEARNING_RATE = 0.2
# Answers sampled per prompt. The advantage is relative to the group, so a group in which every
# answer got the same reward teaches nothing: small groups waste many prompts.
GROUP_SIZE = 4
# PPO-style clip range of the importance ratio pi / pi_old.
CLIP_RANGE = 0.2
# Weight of the KL penalty that keeps the policy near the reference (warm-up) policy.
KL_COEF = 0.1
# Sampling temperature of the groups; the loss uses log-probabilities at the same temperature.
TEMPERATURE = 1.0
# Divide the group-centred rewards by the group's standard deviation (as in the GRPO paper).
NORMALIZE_ADVANTAGES = False

# --- Fixed settings (not searched; together they bound the run time) --------------------------
# Problems are "a+b=" with 0 <= a, b <= MAX_OPERAND (must match make_heldout.py).
MAX_OPERAND = 24
# Spread of the policy's random initial logits.
INIT_STD = 1.0
# Supervised warm-up: one pass over the problems with a small step, deliberately far from
# enough to solve the task.
WARMUP_STEPS = 25
WARMUP_BATCH_SIZE = 25
WARMUP_LEARNING_RATE = 1.0
# GRPO loop: GRPO_STEPS steps of PROMPTS_PER_STEP prompts, INNER_EPOCHS updates per step.
GRPO_STEPS = 400
PROMPTS_PER_STEP = 64
INNER_EPOCHS = 3
# Print a progress line every LOG_EVERY GRPO steps.
LOG_EVERY = 25
