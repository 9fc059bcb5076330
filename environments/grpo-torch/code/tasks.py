"""The task: "a+b=" with two-digit operands, answered digit by digit.

A prompt is the 6 tokens "aa+bb=" (operands zero-padded to two digits). The answer is the sum's
three digits, zero-padded and written least-significant digit first (so that each digit only
depends on the operands and the carry from the digit before it, which a small model can learn).
"""
import json

DIGITS = "0123456789"
PLUS, EQUALS = 10, 11
VOCAB_SIZE = 12
PROMPT_LEN = 6
ANSWER_LEN = 3


def encode_prompt(a, b):
    return [a // 10, a % 10, PLUS, b // 10, b % 10, EQUALS]


def encode_answer(n):
    """Three digits, least significant first: 123 -> [3, 2, 1]."""
    return [n % 10, (n // 10) % 10, (n // 100) % 10]


def decode_answer(tokens):
    """The number three answer tokens stand for; None if one is not a digit."""
    if any(t > 9 for t in tokens):
        return None
    return tokens[0] + 10 * tokens[1] + 100 * tokens[2]


def load_problems(path):
    """[(a, b)] from a problems file (a JSON list of [a, b] pairs)."""
    with open(path) as f:
        return [(a, b) for a, b in json.load(f)]


def reward(a, b, tokens, partial_credit):
    """1 for the exact sum; else partial_credit per correct digit."""
    target = encode_answer(a + b)
    if list(tokens) == target:
        return 1.0
    return partial_credit * sum(t == g for t, g in zip(tokens, target))
