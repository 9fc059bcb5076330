"""Score a grpo-math run: MATH500 accuracy of the trained policy, decoded by the evaluator itself.

Runs in a frozen copy of the evaluator folder, on the GPU the run held (evaluate.gpus). The run
leaves only weights: $OUTPUT_DIR/policy/*.safetensors (save_pretrained). This script checks that
they are exactly the base model's tensors (names, shapes, dtypes: only their values may differ),
puts them beside the base model's own config and tokenizer ($GRPO_MATH_DATA/model), loads that into
its own vLLM engine, answers data/math500_questions.jsonl greedily under its own copy of the shipped
prompt (r1_zero.prompt) and grades the answers against data/math500_answers.jsonl (both written by
../setup.sh; never part of the code). Writes $EVAL_DIR/metrics.json =
{"accuracy", "format_rate", "n", "n_generated"} and prints accuracy=<float>. Safetensors hold no
code, so a hostile checkpoint cannot run anything here; a missing, unreadable or ill-fitting one:
exit 1 with one line on stderr.
"""
import json
import os
import sys
import tempfile

from grading import grade

HERE = os.path.dirname(os.path.abspath(__file__))
ANSWERS_PATH = os.path.join(HERE, "data", "math500_answers.jsonl")
QUESTIONS_PATH = os.path.join(HERE, "data", "math500_questions.jsonl")
PROMPT_PATH = os.path.join(HERE, "r1_zero.prompt")
# The evaluation protocol is the evaluator's, as published for this setup: greedy, 1,024 new tokens.
MAX_NEW_TOKENS = 1024
MAX_MODEL_LEN = 2048
WEIGHT_SUFFIX = ".safetensors"
WEIGHT_INDEX = "model.safetensors.index.json"


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


MAX_HEADER_BYTES = 100_000_000  # as the safetensors library itself bounds a header


def read_header(path, name):
    """{tensor: (dtype, shape)} from a safetensors file's header (8-byte little-endian length, then JSON).

    Read by hand, without loading any tensor: it is the run's file, so only its layout is trusted
    after checking, and nothing in it is ever executed.
    """
    try:
        with open(path, "rb") as f:
            prefix = f.read(8)
            if len(prefix) != 8:
                raise ValueError("shorter than a safetensors header")
            size = int.from_bytes(prefix, "little")
            if not 2 <= size <= MAX_HEADER_BYTES:
                raise ValueError(f"header of {size} bytes")
            raw = f.read(size)
            if len(raw) != size:
                raise ValueError("truncated header")
        header = json.loads(raw)
        if not isinstance(header, dict):
            raise ValueError("header is not a JSON object")
        layout = {}
        for key, entry in header.items():
            if key == "__metadata__":
                continue
            if not isinstance(entry, dict) or not isinstance(entry.get("dtype"), str) or not isinstance(entry.get("shape"), list):
                raise ValueError(f"tensor {key!r} has no dtype and shape")
            layout[key] = (entry["dtype"], tuple(entry["shape"]))
        return layout
    except (OSError, ValueError) as error:  # json.JSONDecodeError is a ValueError
        fail(f"unreadable checkpoint {name}: {error}")


def tensor_layout(folder, what):
    """The folder's safetensors files and {name: (dtype, shape)} of every tensor in them."""
    files = sorted(f for f in os.listdir(folder) if f.endswith(WEIGHT_SUFFIX))
    if not files:
        fail(f"no checkpoint: {what} holds no {WEIGHT_SUFFIX} file (train.py saves the policy with save_pretrained)")
    layout = {}
    for name in files:
        path = os.path.join(folder, name)
        if os.path.islink(path) or not os.path.isfile(path):
            fail(f"unreadable checkpoint {name}: not a plain file")
        for key, value in read_header(path, name).items():
            if key in layout:
                fail(f"checkpoint does not fit the base model: tensor {key} appears twice")
            layout[key] = value
    return files, layout


def model_folder(policy_dir, base_dir, work_dir):
    """The base model's config and tokenizer with the run's weights, as a folder vLLM can load."""
    files, layout = tensor_layout(policy_dir, "$OUTPUT_DIR/policy")
    _, expected = tensor_layout(base_dir, "the base model folder")
    if layout != expected:
        missing = sorted(set(expected) - set(layout))[:3]
        extra = sorted(set(layout) - set(expected))[:3]
        changed = sorted(k for k in set(layout) & set(expected) if layout[k] != expected[k])[:3]
        fail(f"checkpoint does not fit the base model: missing {missing}, unexpected {extra}, other dtype or shape {changed}")
    os.makedirs(work_dir)  # outside EVAL_DIR: only metrics.json goes back
    for name in os.listdir(base_dir):  # config, tokenizer, generation settings: the base model's
        if not name.endswith(WEIGHT_SUFFIX) and name != WEIGHT_INDEX:
            os.symlink(os.path.join(base_dir, name), os.path.join(work_dir, name))
    for name in files:
        os.symlink(os.path.join(policy_dir, name), os.path.join(work_dir, name))
    if len(files) > 1:  # sharded: the index vLLM reads, rebuilt from the headers rather than trusted
        weight_map = {}
        for name in files:
            weight_map.update({key: name for key in read_header(os.path.join(policy_dir, name), name)})
        with open(os.path.join(work_dir, WEIGHT_INDEX), "w") as f:
            json.dump({"metadata": {}, "weight_map": weight_map}, f)
    return work_dir


def generate(model_dir, prompts):
    import torch
    from vllm import LLM, SamplingParams

    if not torch.cuda.is_available():
        fail("no GPU: the evaluator decodes the checkpoint itself (evaluate.gpus: 1 in environment.yaml)")
    llm = LLM(model=model_dir, tokenizer=model_dir, dtype="bfloat16", seed=0,
              gpu_memory_utilization=0.85, max_model_len=MAX_MODEL_LEN)
    params = SamplingParams(temperature=0.0, max_tokens=MAX_NEW_TOKENS, stop=["</answer>"],
                            include_stop_str_in_output=True)
    return [out.outputs[0].text for out in llm.generate(prompts, params, use_tqdm=False)]


def main():
    output_dir, eval_dir = os.environ.get("OUTPUT_DIR"), os.environ.get("EVAL_DIR")
    data_dir = os.environ.get("GRPO_MATH_DATA")
    if not output_dir or not eval_dir:
        fail("OUTPUT_DIR and EVAL_DIR must be set")
    for path in (ANSWERS_PATH, QUESTIONS_PATH):
        if not os.path.exists(path):
            fail(f"{path} is missing: run environments/grpo-math/setup.sh on this machine first")
    if not data_dir or not os.path.isdir(os.path.join(data_dir, "model")):
        fail(f"GRPO_MATH_DATA={data_dir!r} has no model/: run environments/grpo-math/setup.sh first")
    policy_dir = os.path.join(output_dir, "policy")
    if not os.path.isdir(policy_dir) or os.path.islink(policy_dir):
        fail(f"no checkpoint: {policy_dir} is not a folder (train.py saves the policy there)")
    answers = {row["id"]: row["answer"] for row in read_jsonl(ANSWERS_PATH, "answers")}
    questions = read_jsonl(QUESTIONS_PATH, "questions")
    with open(PROMPT_PATH) as f:
        template = f.read()

    model_dir = model_folder(policy_dir, os.path.join(data_dir, "model"), os.path.join(tempfile.mkdtemp(), "model"))
    texts = generate(model_dir, [template.format(question=q["problem"]) for q in questions])
    generations = {q["id"]: text for q, text in zip(questions, texts)}

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
