"""Train a small MLP policy on "a+b=" with GRPO, from a supervised warm-up policy.

Run: OUTPUT_DIR=<existing folder> SEED=0 python3 train.py
Starts from data/warmup_policy.pt (the supervised warm-up, made once by make_warmup.py), trains
on data/train_problems.json only and writes the trained policy to $OUTPUT_DIR/policy.pt (its
weights and the architecture settings the evaluator's model takes): the frozen evaluator answers
its own held-out problems with it, using its own inference code.
Uses the GPU when torch sees one, else the CPU (OMP_NUM_THREADS threads).
"""
import os
import random
import sys
import time

import torch

import config as C
from grpo import group_advantages, grpo_loss, token_logprobs
from model import Policy
from tasks import PROMPT_LEN, decode_answer, encode_answer, encode_prompt, load_problems, reward

HERE = os.path.dirname(os.path.abspath(__file__))
TRAIN_PATH = os.path.join(HERE, "data", "train_problems.json")
WARMUP_PATH = os.path.join(HERE, "data", "warmup_policy.pt")


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


def load_warmup(device):
    """The supervised warm-up policy every run starts from (fixed: it is not the research)."""
    checkpoint = torch.load(WARMUP_PATH, map_location="cpu", weights_only=True)
    policy = Policy(checkpoint["hidden"], checkpoint["n_layers"])
    policy.load_state_dict(checkpoint["state_dict"])
    return policy.to(device), checkpoint


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
    torch.manual_seed(seed)  # anything else random
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)  # sampling
    start = time.time()

    # The evaluation's problems are not among these: the reward measures generalisation.
    problems = load_problems(TRAIN_PATH)
    policy, warmup = load_warmup(device)
    n_params = sum(p.numel() for p in policy.parameters())
    log(f"seed={seed} device={device} threads={torch.get_num_threads()} params={n_params} "
        f"train_problems={len(problems)} elapsed={time.time() - start:.1f}s")

    # The reference policy of the KL penalty is the warm-up policy, frozen.
    reference, _ = load_warmup(device)
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
    checkpoint = {"format": "grpo-torch-policy", "version": 1, "hidden": warmup["hidden"], "n_layers": warmup["n_layers"],
                  "state_dict": {name: tensor.cpu() for name, tensor in policy.state_dict().items()}}
    torch.save(checkpoint, os.path.join(output_dir, "policy.pt"))
    log(f"wrote the trained policy to policy.pt in {time.time() - start:.1f}s")


if __name__ == "__main__":
    main()
