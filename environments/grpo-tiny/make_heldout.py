"""Regenerate the evaluation questions (code/data/) and their answers (evaluator/).

    python3 make_heldout.py

Deterministic: the files only depend on MAX_OPERAND. The questions are every "a+b=" of the task
(0 <= a, b <= MAX_OPERAND); their answers are only written to the evaluator's folder, which the
code never sees.
"""
import json
import os

MAX_OPERAND = 24  # must match MAX_OPERAND in code/config.py

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    problems = [(a, b) for a in range(MAX_OPERAND + 1) for b in range(MAX_OPERAND + 1)]
    questions = [{"id": f"q{i:03d}", "question": f"{a}+{b}="} for i, (a, b) in enumerate(problems)]
    answers = {f"q{i:03d}": a + b for i, (a, b) in enumerate(problems)}
    with open(os.path.join(HERE, "code", "data", "heldout_questions.json"), "w") as f:
        json.dump(questions, f, indent=0)
        f.write("\n")
    with open(os.path.join(HERE, "evaluator", "heldout_answers.json"), "w") as f:
        json.dump(answers, f, indent=0, sort_keys=True)
        f.write("\n")
    print(f"wrote {len(questions)} questions and their answers")


if __name__ == "__main__":
    main()
