"""Regenerate the evaluation questions (code/data/) and their answers (evaluator/).

    python3 make_heldout.py

Deterministic: N_HELDOUT problems "a+b=" (0 <= a, b <= MAX_OPERAND) drawn with a fixed seed. The
run trains on the other problems; the answers are only written to the evaluator's folder.
"""
import json
import os
import random

MAX_OPERAND = 99  # must match MAX_OPERAND in code/config.py
N_HELDOUT = 1000

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    problems = [(a, b) for a in range(MAX_OPERAND + 1) for b in range(MAX_OPERAND + 1)]
    chosen = sorted(random.Random(1234).sample(problems, N_HELDOUT))
    questions = [{"id": f"q{i:04d}", "question": f"{a}+{b}="} for i, (a, b) in enumerate(chosen)]
    answers = {f"q{i:04d}": a + b for i, (a, b) in enumerate(chosen)}
    with open(os.path.join(HERE, "code", "data", "heldout_questions.json"), "w") as f:
        json.dump(questions, f, indent=0)
        f.write("\n")
    with open(os.path.join(HERE, "evaluator", "heldout_answers.json"), "w") as f:
        json.dump(answers, f, indent=0, sort_keys=True)
        f.write("\n")
    print(f"wrote {len(questions)} questions and their answers")


if __name__ == "__main__":
    main()
