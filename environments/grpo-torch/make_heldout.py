"""Regenerate the three splits of the task's 10,000 problems "a+b=" (0 <= a, b <= MAX_OPERAND).

    python3 make_heldout.py

Deterministic. Writes
  code/data/train_problems.json   the 8,000 problems the run may train on (protected)
  evaluator/validation_problems.json  the 1,000 validation problems: the search's reward
  evaluator/test_problems.json        the 1,000 test problems: `test:`'s, never searched on
(one evaluator folder scores both: `score.py validation|test`). The validation problems are the
1,000 the environment always held out (same seed).
"""
import json
import os
import random

MAX_OPERAND = 99  # must match MAX_OPERAND in code/config.py
N_VALIDATION = 1000
N_TEST = 1000

HERE = os.path.dirname(os.path.abspath(__file__))


def write(path, problems):
    with open(os.path.join(HERE, path), "w") as f:
        f.write("[\n" + ",\n".join(f"[{a}, {b}]" for a, b in problems) + "\n]\n")


def main():
    problems = [(a, b) for a in range(MAX_OPERAND + 1) for b in range(MAX_OPERAND + 1)]
    validation = sorted(random.Random(1234).sample(problems, N_VALIDATION))
    rest = [p for p in problems if p not in set(validation)]
    test = sorted(random.Random(5678).sample(rest, N_TEST))
    train = [p for p in rest if p not in set(test)]
    write("code/data/train_problems.json", train)
    write("evaluator/validation_problems.json", validation)
    write("evaluator/test_problems.json", test)
    print(f"wrote {len(train)} training, {len(validation)} validation and {len(test)} test problems")


if __name__ == "__main__":
    main()
