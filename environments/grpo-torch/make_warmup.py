"""Regenerate code/data/warmup_policy.pt: the supervised warm-up every GRPO run starts from.

    python3 make_warmup.py        (in the CPU image: torch lives there)

Deterministic (seed 0, on the CPU). The warm-up is teacher-forced cross-entropy on the answer
digits of the training problems, briefly: it leaves the policy sometimes right (greedy accuracy
about 0.9, sampled exact-match about 0.6), so that GRPO's groups carry signal. It is done once,
here, and shipped, rather than at the start of each run, for the reason real GRPO runs start from
a fixed supervised checkpoint: the research is the RL, and a run that re-did the warm-up spent
about half its time on it (and took most of its seed-to-seed spread from it, since the warm-up's
accuracy rises steeply with its length: ~0.15 after 300 steps, ~1.0 after 600).

The checkpoint has the format train.py saves and the evaluator scores
({"format": "grpo-torch-policy", "version": 1, "hidden", "n_layers", "state_dict"}).
"""
import os
import random
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
CODE = os.path.join(HERE, "code")
sys.path.insert(0, CODE)

from model import Policy  # noqa: E402
from tasks import PROMPT_LEN, encode_answer, encode_prompt, load_problems  # noqa: E402

SEED = 0
HIDDEN = 256
N_LAYERS = 2
STEPS = 400
BATCH_SIZE = 128
LEARNING_RATE = 3e-3
MAX_GRAD_NORM = 1.0
OUT = os.path.join(CODE, "data", "warmup_policy.pt")


def main():
    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    rng = random.Random(SEED)
    problems = load_problems(os.path.join(CODE, "data", "train_problems.json"))
    policy = Policy(HIDDEN, N_LAYERS)
    optimizer = torch.optim.Adam(policy.parameters(), lr=LEARNING_RATE)
    order = []
    for _ in range(STEPS):
        if len(order) < BATCH_SIZE:
            fresh = problems[:]
            rng.shuffle(fresh)
            order.extend(fresh)
        batch, order = order[:BATCH_SIZE], order[BATCH_SIZE:]
        sequences = torch.tensor([encode_prompt(a, b) + encode_answer(a + b) for a, b in batch])
        logits = policy.answer_logits(sequences)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                 sequences[:, PROMPT_LEN:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(policy.parameters(), MAX_GRAD_NORM)
        optimizer.step()
    checkpoint = {"format": "grpo-torch-policy", "version": 1, "hidden": HIDDEN, "n_layers": N_LAYERS,
                  "state_dict": {name: tensor.clone() for name, tensor in policy.state_dict().items()}}
    torch.save(checkpoint, OUT)
    print(f"wrote {os.path.relpath(OUT, HERE)}: {STEPS} warm-up steps (seed {SEED}), final loss {loss.item():.4f}")


if __name__ == "__main__":
    main()
