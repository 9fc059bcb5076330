"""Train a tiny policy on "a+b=" with a short supervised warm-up followed by GRPO.

Run: OUTPUT_DIR=<existing folder> SEED=0 python3 train.py
Writes $OUTPUT_DIR/predictions.json, {question id: answer}, for data/heldout_questions.json.
"""
import json
import math
import os
import random
import sys
import time

import config as C
from grpo import group_advantages, group_loss_and_grad, log_softmax, sample_group
from policy import TablePolicy
from tasks import N_ANSWERS, N_QUESTIONS, all_problems, load_questions, question_index, reward

HERE = os.path.dirname(os.path.abspath(__file__))
QUESTIONS_PATH = os.path.join(HERE, "data", "heldout_questions.json")


def log(message):
    print(message, flush=True)


def greedy_answer(policy, a, b):
    """The policy's most likely answer (what it is evaluated on)."""
    logits = policy.forward(question_index(a, b))
    return max(range(len(logits)), key=logits.__getitem__)


def greedy_accuracy(policy, problems):
    return sum(reward(a, b, greedy_answer(policy, a, b)) for a, b in problems) / len(problems)


def batches(problems, batch_size, rng):
    """Endless batches of problems: passes over the shuffled problems, reshuffled each pass
    (as a data loader does), so every problem is seen equally often."""
    order = []
    while True:
        if len(order) < batch_size:
            fresh = problems[:]
            rng.shuffle(fresh)
            order.extend(fresh)
        batch, order = order[:batch_size], order[batch_size:]
        yield batch


def warmup(policy, problems, rng):
    """Supervised warm-up (SFT): cross-entropy on the correct sum, for a few steps only.

    It nudges every question towards its answer a little, so that GRPO starts from a policy
    that is sometimes right (a GRPO group with no correct answer carries no signal at all).
    """
    stream = batches(problems, C.WARMUP_BATCH_SIZE, rng)
    for _ in range(C.WARMUP_STEPS):
        questions, grads = [], []
        for a, b in next(stream):
            q = question_index(a, b)
            # d(cross-entropy)/d(logits) = softmax(logits) - onehot(answer)
            grad = [math.exp(lp) for lp in log_softmax(policy.forward(q), 1.0)]
            grad[a + b] -= 1.0
            questions.append(q)
            grads.append(grad)
        policy.sgd_step(questions, grads, C.WARMUP_LEARNING_RATE)


def grpo_step(policy, ref_logprobs_of, prompts, rng):
    """One GRPO step: sample a group of answers per prompt, then INNER_EPOCHS updates on them."""
    # 1. Rollouts. The policy as it is now is pi_old for the whole step: the log-probabilities
    #    it gave the sampled answers are the denominators of the importance ratios below.
    rollouts = []
    rewards_seen = []
    for a, b in prompts:
        q = question_index(a, b)
        old_logprobs = log_softmax(policy.forward(q), C.TEMPERATURE)
        answers = sample_group(old_logprobs, C.GROUP_SIZE, rng)
        rewards = [reward(a, b, y) for y in answers]
        rewards_seen.extend(rewards)
        ref_logprobs = ref_logprobs_of(q)
        rollouts.append({
            "question": q,
            "answers": answers,
            "old_logprobs": [old_logprobs[y] for y in answers],
            "ref_logprobs": [ref_logprobs[y] for y in answers],
            "advantages": group_advantages(rewards, C.NORMALIZE_ADVANTAGES),
            "current_logprobs": old_logprobs,  # the policy has not moved yet
        })

    # 2. Updates: several passes of SGD over the same rollouts. After the first pass the policy
    #    differs from pi_old; the ratio pi/pi_old and its clip account for that.
    for epoch in range(C.INNER_EPOCHS):
        questions, grads = [], []
        loss = kl = 0.0
        clipped = 0
        for r in rollouts:
            if epoch > 0:
                r["current_logprobs"] = log_softmax(policy.forward(r["question"]), C.TEMPERATURE)
            g_loss, g_grad, g_kl, g_clipped = group_loss_and_grad(
                r["current_logprobs"], r["answers"], r["old_logprobs"], r["ref_logprobs"],
                r["advantages"], C.TEMPERATURE, C.CLIP_RANGE, C.KL_COEF)
            loss += g_loss / len(rollouts)
            kl += g_kl / len(rollouts)
            clipped += g_clipped
            questions.append(r["question"])
            grads.append(g_grad)
        if not math.isfinite(loss):
            raise RuntimeError(f"loss diverged: {loss}")
        # Each question has its own row of logits, so its row only receives its own group's
        # gradient: the batch loss is the *sum* of the groups' losses, which makes the learning
        # rate a per-question step size, independent of PROMPTS_PER_STEP.
        policy.sgd_step(questions, grads, C.LEARNING_RATE)

    return {
        "train_reward": sum(rewards_seen) / len(rewards_seen),
        "loss": loss,
        "kl": kl,
        "clip_frac": clipped / len(rewards_seen),
    }


def main():
    seed = int(os.environ.get("SEED", "0"))
    output_dir = os.environ.get("OUTPUT_DIR")
    if not output_dir:
        sys.exit("OUTPUT_DIR is not set")
    rng = random.Random(seed)  # the single source of randomness: init, batches, sampling
    start = time.time()

    questions = load_questions(QUESTIONS_PATH)
    problems = all_problems()
    policy = TablePolicy(N_QUESTIONS, N_ANSWERS, rng, C.INIT_STD)
    log(f"seed={seed} problems={len(problems)} answers={N_ANSWERS} eval_questions={len(questions)}")

    warmup(policy, problems, rng)
    log(f"warmup steps={C.WARMUP_STEPS} greedy_acc={greedy_accuracy(policy, problems):.3f}")

    # The reference policy of the KL penalty is the warm-up policy, frozen.
    reference = policy.copy()
    ref_cache = {}

    def ref_logprobs_of(q):
        if q not in ref_cache:
            ref_cache[q] = log_softmax(reference.forward(q), C.TEMPERATURE)
        return ref_cache[q]

    stream = batches(problems, C.PROMPTS_PER_STEP, rng)
    # GRPO_STEPS in the environment cuts the run short: the smoke step (environment.yaml) runs a few.
    steps = int(os.environ.get("GRPO_STEPS", C.GRPO_STEPS))
    for step in range(1, steps + 1):
        try:
            stats = grpo_step(policy, ref_logprobs_of, next(stream), rng)
        except OverflowError as error:  # math.exp of a huge log-ratio
            raise RuntimeError(f"training diverged at GRPO step {step}: {error}") from error
        if step == 1 or step % C.LOG_EVERY == 0:
            log(f"step {step} train_reward={stats['train_reward']:.3f} loss={stats['loss']:.4f} "
                f"kl={stats['kl']:.4f} clip_frac={stats['clip_frac']:.3f} "
                f"elapsed={time.time() - start:.1f}s")

    log(f"final greedy_acc={greedy_accuracy(policy, problems):.3f}")
    predictions = {qid: greedy_answer(policy, a, b) for qid, a, b in questions}
    with open(os.path.join(output_dir, "predictions.json"), "w") as f:
        json.dump(predictions, f, indent=0, sort_keys=True)
    log(f"wrote {len(predictions)} predictions to predictions.json in {time.time() - start:.1f}s")


if __name__ == "__main__":
    main()
