"""Score a grpo-math run: MATH500 accuracy of $OUTPUT_DIR/generations.jsonl.

Runs in a frozen copy of the evaluator folder. Reads data/math500_answers.jsonl (written by
../setup.sh; never part of the code) and the run's generations, one JSON object per line with
"id" and "generation". Writes $EVAL_DIR/metrics.json =
{"accuracy", "format_rate", "n", "n_generated"} and prints accuracy=<float>. A missing question
counts as wrong; no generations file, or no answers file: exit 1 with one line on stderr.
"""
import json
import os
import sys

from grading import grade

HERE = os.path.dirname(os.path.abspath(__file__))
ANSWERS_PATH = os.path.join(HERE, "data", "math500_answers.jsonl")


def fail(message):
    print(f"score.py: {message}", file=sys.stderr)
    sys.exit(1)


def read_jsonl(path, what):
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        fail(f"no {what}: {path} does not exist")
    except ValueError as error:
        fail(f"malformed {what}: {path} is not JSON lines ({error})")


def main():
    output_dir, eval_dir = os.environ.get("OUTPUT_DIR"), os.environ.get("EVAL_DIR")
    if not output_dir or not eval_dir:
        fail("OUTPUT_DIR and EVAL_DIR must be set")
    if not os.path.exists(ANSWERS_PATH):
        fail(f"{ANSWERS_PATH} is missing: run environments/grpo-math/setup.sh on this machine first")
    answers = {row["id"]: row["answer"] for row in read_jsonl(ANSWERS_PATH, "answers")}
    generations = {}
    for row in read_jsonl(os.path.join(output_dir, "generations.jsonl"), "generations"):
        if not isinstance(row, dict) or "id" not in row or not isinstance(row.get("generation"), str):
            fail("malformed generations: every line needs an \"id\" and a string \"generation\"")
        generations.setdefault(row["id"], row["generation"])  # the first one per question counts
    if not generations:
        fail("no generations: generations.jsonl is empty")

    correct = formatted = 0
    for qid, reference in answers.items():
        if qid in generations:
            result = grade(generations[qid], reference)
            correct += result["answer"]
            formatted += result["format"]
    metrics = {
        "accuracy": correct / len(answers),
        "format_rate": formatted / len(answers),
        "n": len(answers),
        "n_generated": sum(qid in generations for qid in answers),
    }
    with open(os.path.join(eval_dir, "metrics.json"), "w") as f:
        json.dump(metrics, f)
        f.write("\n")
    print(f"accuracy={metrics['accuracy']:.4f} format_rate={metrics['format_rate']:.4f} "
          f"generated={metrics['n_generated']}/{metrics['n']}")


if __name__ == "__main__":
    main()
