# Hyper-parameters of the GRPO run: one `NAME = value` per line (the search rewrites these lines).

# --- GRPO -------------------------------------------------------------------------------------
# Adam step size of the GRPO updates.
LEARNING_RATE = 3e-4
# Answers sampled per prompt. The advantage is relative to the group, so a group in which every
# answer got the same reward teaches nothing.
GROUP_SIZE = 8
# PPO-style clip range of the per-token importance ratio pi / pi_old.
CLIP_RANGE = 0.2
# Weight of the k3 KL penalty that keeps the policy near the reference (warm-up) policy.
KL_COEF = 0.05
# Sampling temperature of the groups; the loss uses log-probabilities at the same temperature.
TEMPERATURE = 1.0
# Divide the group-centred rewards by the group's standard deviation (as in the GRPO paper).
NORMALIZE_ADVANTAGES = True
# Reward per correct answer digit (0 = only an exactly right answer scores 1).
PARTIAL_CREDIT = 0.0
# Updates on the same rollouts per GRPO step (the ratio and its clip matter from the second on).
INNER_EPOCHS = 2

# --- Fixed settings (not searched; together they bound the run time) --------------------------
# Problems are "a+b=" with 0 <= a, b <= MAX_OPERAND (must match make_heldout.py).
MAX_OPERAND = 99
# GRPO loop: GRPO_STEPS steps of PROMPTS_PER_STEP prompts, from the supervised warm-up policy
# data/warmup_policy.pt (an MLP of 2 hidden layers of 256; made once by make_warmup.py: about
# 0.9 greedy accuracy).
GRPO_STEPS = 60
PROMPTS_PER_STEP = 32
# Gradient-norm clip of every update.
MAX_GRAD_NORM = 1.0
# Print a progress line every LOG_EVERY GRPO steps, with the greedy accuracy on PROGRESS_PROBE
# training problems (the curve environment.yaml's progress: reads).
LOG_EVERY = 1
PROGRESS_PROBE = 500
