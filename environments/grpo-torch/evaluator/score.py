"""Score a run from its checkpoint: greedy exact-match accuracy of the trained policy on one split.

    python3 score.py validation   (evaluate:, the reward the search sees: validation_problems.json)
    python3 score.py test         (test:, never searched on: test_problems.json)


Runs in a frozen copy of this folder (outside the code a diff may change). It reads
$OUTPUT_DIR/policy.pt, which train.py writes:
    {"format": "grpo-torch-policy", "version": 1, "hidden": int, "n_layers": int,
     "state_dict": {name: tensor}}
rebuilds the policy with its OWN model and decoding code (policy_model.py), and answers the
split's problems from this folder (the run never sees them). One folder and one scoring code
for both splits, so that validation and test can never be scored differently. Predictions the run may have written are
ignored. Writes $EVAL_DIR/metrics.json = {"accuracy": float, "n": int} and prints accuracy=<float>.
A missing, unreadable or ill-fitting checkpoint: exit 1 with a one-line message, no metrics.

The checkpoint is hostile input (a diff wrote the code that wrote it): it is loaded with
weights_only=True, so unpickling it cannot run code, and every field is checked before use.
"""
import json
import math
import os
import sys

import torch

from policy_model import Policy, greedy_answers

HERE = os.path.dirname(os.path.abspath(__file__))
SPLITS = {"validation": "validation_problems.json", "test": "test_problems.json"}
FORMAT, VERSION = "grpo-torch-policy", 1
# The shape of the shipped warm-up policy (code/data/warmup_policy.pt), which every run trains
# from: a checkpoint of another width or depth was not trained from it (and is not scored).
SHAPE = {"hidden": 256, "n_layers": 2}


def fail(message):
    print(f"score.py: {message}", file=sys.stderr)
    sys.exit(1)


def architecture(checkpoint, key):
    value = checkpoint.get(key)
    if isinstance(value, bool) or value != SHAPE[key]:
        fail(f"checkpoint: {key} must be {SHAPE[key]} (the warm-up policy's, which every run trains from), "
             f"got {value!r}")
    return value


def load_policy(path):
    if not os.path.isfile(path):
        fail(f"no checkpoint: {path} does not exist (train.py must save the trained policy there)")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # any way a hostile file fails to load is the run's fault
        fail(f"unreadable checkpoint {path}: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}")
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT or checkpoint.get("version") != VERSION:
        fail(f"checkpoint: not a {FORMAT} version {VERSION} checkpoint (a dict with format, version, "
             "hidden, n_layers, state_dict)")
    policy = Policy(architecture(checkpoint, "hidden"), architecture(checkpoint, "n_layers"))
    state = checkpoint.get("state_dict")
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        fail("checkpoint: state_dict must map parameter names to tensors")
    expected = policy.state_dict()
    if set(state) != set(expected):
        extra, missing = sorted(set(state) - set(expected)), sorted(set(expected) - set(state))
        fail(f"checkpoint does not fit the evaluator's model: unexpected {extra[:3]}, missing {missing[:3]}")
    for name, tensor in state.items():
        if tuple(tensor.shape) != tuple(expected[name].shape):
            fail(f"checkpoint does not fit the evaluator's model: {name} has shape {tuple(tensor.shape)}, "
                 f"expected {tuple(expected[name].shape)}")
    policy.load_state_dict({name: tensor.float() for name, tensor in state.items()})
    return policy


def main():
    output_dir = os.environ.get("OUTPUT_DIR")
    eval_dir = os.environ.get("EVAL_DIR")
    if not output_dir:
        fail("OUTPUT_DIR is not set")
    if not eval_dir:
        fail("EVAL_DIR is not set")
    if len(sys.argv) != 2 or sys.argv[1] not in SPLITS:
        fail(f"usage: python3 score.py {'|'.join(SPLITS)} (environment.yaml's evaluate: and test: commands)")
    torch.set_num_threads(1)
    with open(os.path.join(HERE, SPLITS[sys.argv[1]])) as f:
        problems = [(a, b) for a, b in json.load(f)]
    policy = load_policy(os.path.join(output_dir, "policy.pt"))
    answers = greedy_answers(policy, problems)
    accuracy = sum(y == a + b for y, (a, b) in zip(answers, problems)) / len(problems)
    if not math.isfinite(accuracy):
        fail("accuracy is not a number")
    with open(os.path.join(eval_dir, "metrics.json"), "w") as f:
        json.dump({"accuracy": accuracy, "n": len(problems)}, f)
        f.write("\n")
    print(f"accuracy={accuracy:.4f} n={len(problems)}")


if __name__ == "__main__":
    main()
