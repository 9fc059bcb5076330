#!/usr/bin/env bash
# One-time set-up of grpo-math on a GPU box WITH internet access (run from the repository root):
#
#   bash environments/grpo-math/setup.sh
#
# 1. downloads Qwen/Qwen2.5-Math-1.5B and the MATH train set (7,500 problems) into
#    sandboxes/grpo-math/assets/ (git-ignored), which the image copies to /opt/grpo-math
#    (GRPO_MATH_DATA in environment.yaml);
# 2. writes MATH500's questions and answers to environments/grpo-math/evaluator/data/
#    (git-ignored; only the evaluator reads them, never the code a run can edit);
# 3. builds the image `grpo-math` (sandboxes/grpo-math/Dockerfile).
#
# Needs python3 with `datasets` and `huggingface_hub` (pip install datasets huggingface_hub) and
# Docker. Nothing it fetches is committed.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
ASSETS="$ROOT/sandboxes/grpo-math/assets"
ANSWERS_DIR="$ROOT/environments/grpo-math/evaluator/data"
mkdir -p "$ASSETS" "$ANSWERS_DIR"

python3 - "$ASSETS" "$ANSWERS_DIR" <<'PY'
import json, os, sys
from datasets import load_dataset
from huggingface_hub import snapshot_download

assets, answers_dir = sys.argv[1], sys.argv[2]

def boxed(solution):
    start = solution.rfind("\\boxed")
    i = solution.find("{", start)
    depth = 0
    for j in range(i, len(solution)):
        depth += solution[j] == "{"
        depth -= solution[j] == "}"
        if depth == 0:
            return solution[i + 1:j]
    raise ValueError("no boxed answer")

# MATH train: the 7,500 problems of Hendrycks et al. (all subjects).
subjects = ["algebra", "counting_and_probability", "geometry", "intermediate_algebra",
            "number_theory", "prealgebra", "precalculus"]
n = 0
with open(os.path.join(assets, "math_train.jsonl"), "w") as f:
    for subject in subjects:
        for row in load_dataset("EleutherAI/hendrycks_math", subject, split="train"):
            f.write(json.dumps({"id": f"train-{n}", "problem": row["problem"],
                                "answer": boxed(row["solution"]), "level": row["level"],
                                "type": row["type"]}) + "\n")
            n += 1
print(f"MATH train: {n} problems")

# MATH500: questions and answers to the evaluator only (the run never sees either). A copy of the
# questions an older set-up put in the assets would reach the image: removed.
stale = os.path.join(assets, "math500_questions.jsonl")
if os.path.exists(stale):
    os.remove(stale)
math500 = load_dataset("HuggingFaceH4/MATH-500", split="test")
with open(os.path.join(answers_dir, "math500_questions.jsonl"), "w") as q, \
     open(os.path.join(answers_dir, "math500_answers.jsonl"), "w") as a:
    for row in math500:
        q.write(json.dumps({"id": row["unique_id"], "problem": row["problem"]}) + "\n")
        a.write(json.dumps({"id": row["unique_id"], "answer": row["answer"]}) + "\n")
print(f"MATH500: {len(math500)} questions")

snapshot_download("Qwen/Qwen2.5-Math-1.5B", local_dir=os.path.join(assets, "model"))
print("model: Qwen/Qwen2.5-Math-1.5B")
PY

cd "$ROOT"
node bin/researcher.js sandbox build grpo-math
echo "grpo-math is set up: node bin/researcher.js env check environments/grpo-math --sandbox docker"
