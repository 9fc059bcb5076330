"""The task: two-operand addition, "a+b=", answered with one token (the sum).

The answer vocabulary is the integers 0 .. 2 * MAX_OPERAND, so the policy's output is a
categorical distribution over that many "tokens". The reward is 1 for the correct sum, else 0.
"""
import json
import re

from config import MAX_OPERAND

N_ANSWERS = 2 * MAX_OPERAND + 1  # possible sums 0 .. 2*MAX_OPERAND
N_QUESTIONS = (MAX_OPERAND + 1) ** 2  # every (a, b) with 0 <= a, b <= MAX_OPERAND

_QUESTION = re.compile(r"^\s*(\d+)\s*\+\s*(\d+)\s*=\s*$")


def parse_question(text):
    """'7+12=' -> (7, 12)."""
    match = _QUESTION.match(text)
    if not match:
        raise ValueError(f"not an addition question: {text!r}")
    a, b = int(match.group(1)), int(match.group(2))
    if a > MAX_OPERAND or b > MAX_OPERAND:
        raise ValueError(f"operand out of range (max {MAX_OPERAND}): {text!r}")
    return a, b


def question_index(a, b):
    """The policy's row for the question a+b=."""
    return a * (MAX_OPERAND + 1) + b


def all_problems():
    """Every (a, b) of the task; training prompts are drawn from these."""
    return [(a, b) for a in range(MAX_OPERAND + 1) for b in range(MAX_OPERAND + 1)]


def reward(a, b, answer):
    """The verifiable reward: 1 if the answer is the sum, else 0."""
    return 1.0 if answer == a + b else 0.0


def load_questions(path):
    """The evaluation questions, [(id, a, b)], from a JSON list of {"id", "question"}."""
    with open(path) as f:
        items = json.load(f)
    return [(item["id"],) + parse_question(item["question"]) for item in items]
