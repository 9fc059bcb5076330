"""The pieces of GRPO: group-relative advantages and the clipped, KL-regularised loss."""
import torch


def group_advantages(rewards, normalize, eps=1e-6):
    """rewards: (prompts, group). Reward minus its group's mean, over the group's std if asked."""
    centred = rewards - rewards.mean(dim=1, keepdim=True)
    if normalize:
        centred = centred / (rewards.std(dim=1, keepdim=True) + eps)
    return centred


def token_logprobs(logits, tokens, temperature):
    """log pi(token) at `temperature`: logits (n, T, vocab), tokens (n, T) -> (n, T)."""
    logprobs = torch.log_softmax(logits / temperature, dim=-1)
    return logprobs.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)


def grpo_loss(logprobs, old_logprobs, ref_logprobs, advantages, clip_range, kl_coef):
    """Per-token PPO-clipped objective with a sequence-level advantage, plus k3 KL to the reference.

    logprobs/old_logprobs/ref_logprobs: (n, T); advantages: (n,). Returns (loss, stats).
    """
    adv = advantages.unsqueeze(1)
    ratio = torch.exp(logprobs - old_logprobs)
    unclipped = ratio * adv
    clipped = torch.clamp(ratio, 1 - clip_range, 1 + clip_range) * adv
    policy_loss = -torch.min(unclipped, clipped)
    # k3 = pi_ref/pi - log(pi_ref/pi) - 1: an unbiased, always non-negative KL(pi || pi_ref) estimate.
    log_ratio_ref = ref_logprobs - logprobs
    kl = torch.exp(log_ratio_ref) - log_ratio_ref - 1
    loss = (policy_loss + kl_coef * kl).mean()
    stats = {
        "kl": kl.mean().item(),
        "clip_frac": ((ratio - 1).abs() > clip_range).float().mean().item(),
    }
    return loss, stats
