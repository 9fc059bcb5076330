"""Score a run: the accuracy of $OUTPUT_DIR/predictions.json against heldout_answers.json.

Runs in the evaluator's folder (a frozen copy, outside the code a diff may change).
Writes $EVAL_DIR/metrics.json = {"accuracy": float, "n": int} and prints accuracy=<float>.
Missing or malformed predictions: exit 1 with a one-line message on stderr, and no metrics.
"""
import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def fail(message):
    print(f"score.py: {message}", file=sys.stderr)
    sys.exit(1)


def as_answer(value):
    """An integer answer from an int, an integral float or a numeric string; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def load_predictions(path, ids):
    """{question id: prediction} from a dict keyed by id, or a list of {"id", "answer"} (or
    "prediction") objects, or a plain list in the questions' order."""
    try:
        with open(path) as f:
            data = json.load(f)
    except FileNotFoundError:
        fail(f"no predictions: {path} does not exist (did train.py finish?)")
    except (OSError, ValueError) as error:
        fail(f"malformed predictions: {path} is not valid JSON ({error})")
    if isinstance(data, dict):
        return data
    if isinstance(data, list):
        if all(isinstance(item, dict) and "id" in item for item in data):
            out = {}
            for item in data:
                if "answer" in item:
                    out[str(item["id"])] = item["answer"]
                elif "prediction" in item:
                    out[str(item["id"])] = item["prediction"]
                else:
                    fail(f"malformed predictions: item {item['id']!r} has no 'answer' or 'prediction'")
            return out
        if len(data) == len(ids):
            return dict(zip(ids, data))
        fail(f"malformed predictions: a list of {len(data)} answers for {len(ids)} questions")
    fail(f"malformed predictions: expected a JSON object or list, got {type(data).__name__}")


def main():
    output_dir = os.environ.get("OUTPUT_DIR")
    eval_dir = os.environ.get("EVAL_DIR")
    if not output_dir:
        fail("OUTPUT_DIR is not set")
    if not eval_dir:
        fail("EVAL_DIR is not set")
    with open(os.path.join(HERE, "heldout_answers.json")) as f:
        answers = json.load(f)
    ids = sorted(answers)
    predictions = load_predictions(os.path.join(output_dir, "predictions.json"), ids)

    missing = [qid for qid in ids if qid not in predictions]
    if missing:
        fail(f"malformed predictions: {len(missing)} of {len(ids)} questions have no prediction "
             f"(first: {missing[0]})")
    correct = 0
    for qid in ids:
        value = predictions[qid]
        if value is not None and as_answer(value) is None:
            fail(f"malformed predictions: the prediction for {qid} is not a number: {value!r}")
        correct += as_answer(value) == answers[qid]

    accuracy = correct / len(ids)
    with open(os.path.join(eval_dir, "metrics.json"), "w") as f:
        json.dump({"accuracy": accuracy, "n": len(ids)}, f)
        f.write("\n")
    print(f"accuracy={accuracy:.4f}")


if __name__ == "__main__":
    main()
