"""Train a small MLP policy on "a+b=" with a supervised warm-up followed by GRPO.

Run: OUTPUT_DIR=<existing folder> SEED=0 python3 train.py
Writes $OUTPUT_DIR/predictions.json, {question id: answer}, for data/heldout_questions.json.
Uses the GPU when torch sees one, else the CPU (OMP_NUM_THREADS threads).
"""
import json
import os
import random
import sys
import time

import torch

import config as C
from grpo import group_advantages, grpo_loss, token_logprobs
from model import Policy
from tasks import PROMPT_LEN, all_problems, decode_answer, encode_answer, encode_prompt, load_questions, reward

HERE = os.path.dirname(os.path.abspath(__file__))
QUESTIONS_PATH = os.path.join(HERE, "data", "heldout_questions.json")


def log(message):
    print(message, flush=True)


def batches(problems, batch_size, rng):
    """Endless batches: passes over the shuffled problems, reshuffled each pass."""
    order = []
    while True:
        if len(order) < batch_size:
            fresh = problems[:]
            rng.shuffle(fresh)
            order.extend(fresh)
        batch, order = order[:batch_size], order[batch_size:]
        yield batch


def prompts_tensor(problems, device):
    return torch.tensor([encode_prompt(a, b) for a, b in problems], device=device)


@torch.no_grad()
def greedy_answers(policy, problems, device, batch_size=1024):
    policy.eval()
    answers = []
    for i in range(0, len(problems), batch_size):
        chunk = problems[i:i + batch_size]
        sequences = policy.generate(prompts_tensor(chunk, device), 1.0, greedy=True)
        answers.extend(decode_answer(row) for row in sequences[:, PROMPT_LEN:].tolist())
    policy.train()
    return answers


def greedy_accuracy(policy, problems, device):
    answers = greedy_answers(policy, problems, device)
    return sum(y == a + b for y, (a, b) in zip(answers, problems)) / len(problems)


def warmup(policy, problems, rng, device):
    """Supervised warm-up (SFT): teacher-forced cross-entropy on the answer digits, briefly.

    It makes the policy sometimes right, so that GRPO groups carry signal (a group in which
    every sample is wrong has zero advantage everywhere).
    """
    optimizer = torch.optim.Adam(policy.parameters(), lr=C.WARMUP_LEARNING_RATE)
    stream = batches(problems, C.WARMUP_BATCH_SIZE, rng)
    for _ in range(C.WARMUP_STEPS):
        batch = next(stream)
        sequences = torch.tensor([encode_prompt(a, b) + encode_answer(a + b) for a, b in batch],
                                 device=device)
        logits = policy.answer_logits(sequences)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                 sequences[:, PROMPT_LEN:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(policy.parameters(), C.MAX_GRAD_NORM)
        optimizer.step()


def grpo_step(policy, reference, optimizer, prompts, generator, device):
    """One GRPO step: a group of answers per prompt, then INNER_EPOCHS updates on them."""
    # 1. Rollouts from the policy as it is now (pi_old for the whole step).
    prompt_ids = prompts_tensor(prompts, device).repeat_interleave(C.GROUP_SIZE, dim=0)
    sequences = policy.generate(prompt_ids, C.TEMPERATURE, generator=generator)
    answers = sequences[:, PROMPT_LEN:]
    rewards = torch.tensor(
        [reward(a, b, row, C.PARTIAL_CREDIT)
         for (a, b), row in zip([p for p in prompts for _ in range(C.GROUP_SIZE)], answers.tolist())],
        device=device)
    advantages = group_advantages(rewards.view(len(prompts), C.GROUP_SIZE),
                                  C.NORMALIZE_ADVANTAGES).reshape(-1)
    with torch.no_grad():
        old_logprobs = token_logprobs(policy.answer_logits(sequences), answers, C.TEMPERATURE)
        ref_logprobs = token_logprobs(reference.answer_logits(sequences), answers, C.TEMPERATURE)

    # 2. Updates on the same rollouts; after the first, pi differs from pi_old and the clip acts.
    for _ in range(C.INNER_EPOCHS):
        logprobs = token_logprobs(policy.answer_logits(sequences), answers, C.TEMPERATURE)
        loss, stats = grpo_loss(logprobs, old_logprobs, ref_logprobs, advantages,
                                C.CLIP_RANGE, C.KL_COEF)
        if not torch.isfinite(loss):
            raise RuntimeError(f"loss diverged: {loss.item()}")
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(policy.parameters(), C.MAX_GRAD_NORM)
        optimizer.step()

    exact = (rewards == 1.0).float().mean().item()
    return {"train_reward": rewards.mean().item(), "train_exact": exact, "loss": loss.item(), **stats}


def main():
    seed = int(os.environ.get("SEED", "0"))
    output_dir = os.environ.get("OUTPUT_DIR")
    if not output_dir:
        sys.exit("OUTPUT_DIR is not set")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    rng = random.Random(seed)  # batch order
    torch.manual_seed(seed)  # initialisation
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)  # sampling
    start = time.time()

    questions = load_questions(QUESTIONS_PATH)
    held_out = {(a, b) for _, a, b in questions}
    # Train only on problems the evaluation does not ask: the reward measures generalisation.
    problems = [p for p in all_problems() if p not in held_out]
    policy = Policy(C.HIDDEN, C.N_LAYERS).to(device)
    n_params = sum(p.numel() for p in policy.parameters())
    log(f"seed={seed} device={device} threads={torch.get_num_threads()} params={n_params} "
        f"train_problems={len(problems)} eval_questions={len(questions)}")

    warmup(policy, problems, rng, device)
    log(f"warmup steps={C.WARMUP_STEPS} greedy_acc={greedy_accuracy(policy, problems, device):.3f} "
        f"elapsed={time.time() - start:.1f}s")

    # The reference policy of the KL penalty is the warm-up policy, frozen.
    reference = Policy(C.HIDDEN, C.N_LAYERS).to(device)
    reference.load_state_dict(policy.state_dict())
    reference.requires_grad_(False)
    optimizer = torch.optim.Adam(policy.parameters(), lr=C.LEARNING_RATE)

    # The progress line environment.yaml declares: greedy accuracy on a fixed probe of training
    # problems (the held-out reward's cheap proxy; picked without touching the seeded streams).
    probe = problems[::len(problems) // C.PROGRESS_PROBE]
    log(f"step 0/{C.GRPO_STEPS} reward {greedy_accuracy(policy, probe, device):.4f}")
    stream = batches(problems, C.PROMPTS_PER_STEP, rng)
    for step in range(1, C.GRPO_STEPS + 1):
        stats = grpo_step(policy, reference, optimizer, next(stream), generator, device)
        if step == 1 or step % C.LOG_EVERY == 0:
            log(f"step {step}/{C.GRPO_STEPS} reward {greedy_accuracy(policy, probe, device):.4f} "
                f"train_reward={stats['train_reward']:.3f} "
                f"train_exact={stats['train_exact']:.3f} loss={stats['loss']:.4f} "
                f"kl={stats['kl']:.4f} clip_frac={stats['clip_frac']:.3f} "
                f"elapsed={time.time() - start:.1f}s")

    log(f"final greedy_acc(train)={greedy_accuracy(policy, problems, device):.3f}")
    answers = greedy_answers(policy, [(a, b) for _, a, b in questions], device)
    predictions = {qid: answer for (qid, _, _), answer in zip(questions, answers)}
    with open(os.path.join(output_dir, "predictions.json"), "w") as f:
        json.dump(predictions, f, indent=0, sort_keys=True)
    log(f"wrote {len(predictions)} predictions to predictions.json in {time.time() - start:.1f}s")


if __name__ == "__main__":
    main()
