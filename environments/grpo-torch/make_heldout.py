"""Regenerate the three splits of the task's 10,000 problems "a+b=" (0 <= a, b <= MAX_OPERAND).

    python3 make_heldout.py

Deterministic. Writes
  code/data/train_problems.json   the 8,000 problems the run may train on (protected)
  evaluator/problems.json         the 1,000 validation problems: the search's reward
  test/problems.json              the 1,000 test problems: the `test:` evaluator's, never searched on
and copies the evaluator's inference code (evaluator/score.py, evaluator/policy_model.py) into
test/, so that both evaluators score a checkpoint with the same code (edit evaluator/, then run
this). The validation problems are the 1,000 the environment always held out (same seed).
"""
import json
import os
import random
import shutil

MAX_OPERAND = 99  # must match MAX_OPERAND in code/config.py
N_VALIDATION = 1000
N_TEST = 1000
SHARED_CODE = ["score.py", "policy_model.py"]

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
    write("evaluator/problems.json", validation)
    write("test/problems.json", test)
    for name in SHARED_CODE:
        shutil.copyfile(os.path.join(HERE, "evaluator", name), os.path.join(HERE, "test", name))
    print(f"wrote {len(train)} training, {len(validation)} validation and {len(test)} test problems")


if __name__ == "__main__":
    main()
