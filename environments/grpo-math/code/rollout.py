"""Rollouts with vLLM: sampling groups of answers, and pushing the policy's weights into vLLM."""
from vllm import LLM, SamplingParams


def make_llm(model_path, seed, gpu_memory_utilization, max_model_len):
    """A vLLM engine on the run's GPU, next to the policy being trained."""
    return LLM(model=model_path, dtype="bfloat16", seed=seed, enable_prefix_caching=True,
               gpu_memory_utilization=gpu_memory_utilization, max_model_len=max_model_len)


def load_policy_into_vllm(policy, llm):
    """Copy the trained policy's weights into the vLLM engine (vLLM 0.6's V0 in-process engine)."""
    model = llm.llm_engine.model_executor.driver_worker.model_runner.model
    model.load_weights(policy.state_dict().items())


def sample(llm, prompts, n, temperature, top_p, max_tokens, min_tokens, seed):
    """n completions per prompt, as text and token ids, in the prompts' order."""
    params = SamplingParams(n=n, temperature=temperature, top_p=top_p, max_tokens=max_tokens,
                            min_tokens=min_tokens, stop=["</answer>"], include_stop_str_in_output=True,
                            seed=seed)
    outputs = llm.generate(prompts, params, use_tqdm=False)
    return [[(c.text, list(c.token_ids)) for c in out.outputs] for out in outputs]

