"""The evaluator's own copy of the policy and of greedy decoding: the form a checkpoint must fit.

It mirrors code/model.py and code/tasks.py as the environment ships them, but it is not that
code: an idea may edit code/, never this. A checkpoint is the policy's weights plus the two
architecture settings this model takes (hidden width and number of hidden layers); whatever an
idea changes in code/model.py, its trained weights are scored by this forward pass. A checkpoint
whose weights do not fit it (other names or shapes) is not scored (see score.py).
"""
import torch
from torch import nn

VOCAB_SIZE = 12  # digits 0-9, "+", "="
PLUS, EQUALS = 10, 11
PROMPT_LEN = 6  # "aa+bb="
ANSWER_LEN = 3  # the sum's digits, least significant first
CONTEXT_LEN = PROMPT_LEN + ANSWER_LEN - 1


class Policy(nn.Module):
    def __init__(self, hidden, n_layers):
        super().__init__()
        layers, width = [], CONTEXT_LEN * VOCAB_SIZE + ANSWER_LEN
        for _ in range(n_layers):
            layers += [nn.Linear(width, hidden), nn.GELU()]
            width = hidden
        layers.append(nn.Linear(width, VOCAB_SIZE))
        self.mlp = nn.Sequential(*layers)

    def next_logits(self, tokens):
        batch, length = tokens.shape
        onehot = nn.functional.one_hot(tokens, VOCAB_SIZE).float().reshape(batch, -1)
        padded = nn.functional.pad(onehot, (0, CONTEXT_LEN * VOCAB_SIZE - onehot.shape[1]))
        position = nn.functional.one_hot(torch.full((batch,), length - PROMPT_LEN), ANSWER_LEN).float()
        return self.mlp(torch.cat([padded, position], dim=1))


def encode_prompt(a, b):
    return [a // 10, a % 10, PLUS, b // 10, b % 10, EQUALS]


def decode_answer(tokens):
    """The number three answer tokens stand for; None if one is not a digit."""
    if any(t > 9 for t in tokens):
        return None
    return tokens[0] + 10 * tokens[1] + 100 * tokens[2]


@torch.no_grad()
def greedy_answers(policy, problems):
    """The policy's greedy answer to each (a, b): argmax at every one of the ANSWER_LEN tokens."""
    policy.eval()
    sequences = torch.tensor([encode_prompt(a, b) for a, b in problems], dtype=torch.long)
    for _ in range(ANSWER_LEN):
        token = policy.next_logits(sequences).argmax(dim=-1, keepdim=True)
        sequences = torch.cat([sequences, token], dim=1)
    return [decode_answer(row) for row in sequences[:, PROMPT_LEN:].tolist()]
