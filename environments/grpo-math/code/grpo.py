"""The pieces of GRPO, on torch tensors: advantages, per-token log-probabilities, the losses."""
import torch


def group_normalized_advantages(rewards, group_size, use_std, eps):
    """rewards: (n_prompts * group_size,), grouped consecutively -> advantages of the same shape."""
    grouped = rewards.view(-1, group_size)
    centred = grouped - grouped.mean(dim=1, keepdim=True)
    if use_std:
        centred = centred / (grouped.std(dim=1, keepdim=True) + eps)
    return centred.reshape(-1)


def response_logprobs(model, input_ids, attention_mask):
    """log pi(token_t | tokens_<t) for every position t >= 1: (batch, length - 1)."""
    logits = model(input_ids=input_ids, attention_mask=attention_mask).logits[:, :-1].float()
    logprobs = torch.log_softmax(logits, dim=-1)
    return logprobs.gather(-1, input_ids[:, 1:].unsqueeze(-1)).squeeze(-1)


def per_token_loss(loss_type, logprobs, raw_rewards, advantages, old_logprobs, clip_range):
    """Per-token loss (to be masked and averaged): (batch, T). raw_rewards/advantages: (batch,)."""
    if loss_type == "no_baseline":
        return -raw_rewards.unsqueeze(1) * logprobs
    if loss_type == "reinforce_with_baseline":
        return -advantages.unsqueeze(1) * logprobs
    if loss_type == "grpo_clip":
        ratio = torch.exp(logprobs - old_logprobs)
        adv = advantages.unsqueeze(1)
        return -torch.min(ratio * adv, torch.clamp(ratio, 1 - clip_range, 1 + clip_range) * adv)
    raise ValueError(f"unknown LOSS_TYPE {loss_type!r}: use no_baseline, reinforce_with_baseline or grpo_clip")


def masked_mean(values, mask, normalization, max_new_tokens):
    """Average of the response tokens: per sequence then over the batch, or a constant divisor."""
    if normalization == "sequence":
        return ((values * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)).mean()
    if normalization == "constant":
        return (values * mask).sum() / (mask.shape[0] * max_new_tokens)
    raise ValueError(f"unknown LENGTH_NORMALIZATION {normalization!r}: use sequence or constant")
