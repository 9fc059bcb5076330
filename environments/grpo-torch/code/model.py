"""The policy: an autoregressive MLP over the task's 12 tokens.

The logits of answer token k come from an MLP applied to the one-hot encoding of everything
before it (the prompt and answer tokens 0..k-1, zero-padded to a fixed width), so each answer
digit can depend on the operands and on the digits already written (the carry).
"""
import torch
from torch import nn

from tasks import ANSWER_LEN, PROMPT_LEN, VOCAB_SIZE

CONTEXT_LEN = PROMPT_LEN + ANSWER_LEN - 1  # the most tokens the last answer token sees


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
        """Logits of the next token after `tokens` (batch, PROMPT_LEN + k), 0 <= k < ANSWER_LEN."""
        batch, length = tokens.shape
        onehot = nn.functional.one_hot(tokens, VOCAB_SIZE).float().reshape(batch, -1)
        padded = nn.functional.pad(onehot, (0, CONTEXT_LEN * VOCAB_SIZE - onehot.shape[1]))
        position = nn.functional.one_hot(torch.full((batch,), length - PROMPT_LEN, device=tokens.device),
                                         ANSWER_LEN).float()
        return self.mlp(torch.cat([padded, position], dim=1))

    def answer_logits(self, sequences):
        """Logits of the ANSWER_LEN answer tokens of full sequences: (batch, ANSWER_LEN, vocab)."""
        return torch.stack([self.next_logits(sequences[:, :PROMPT_LEN + k])
                            for k in range(ANSWER_LEN)], dim=1)

    @torch.no_grad()
    def generate(self, prompts, temperature, generator=None, greedy=False):
        """Append ANSWER_LEN tokens to each prompt, sampled at `temperature` (or greedily)."""
        sequences = prompts
        for _ in range(ANSWER_LEN):
            logits = self.next_logits(sequences)
            if greedy:
                token = logits.argmax(dim=-1, keepdim=True)
            else:
                probs = torch.softmax(logits / temperature, dim=-1)
                token = torch.multinomial(probs, 1, generator=generator)
            sequences = torch.cat([sequences, token], dim=1)
        return sequences
