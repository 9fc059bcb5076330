"""The GRPO pieces: sampling a group, group-relative advantages, and the clipped objective.

Everything works on one prompt at a time: the policy gives one vector of logits for the prompt,
all G sampled answers share it, so the gradient of the group's loss with respect to those logits
is a single vector.
"""
import itertools
import math


def log_softmax(logits, temperature):
    """log softmax(logits / temperature), computed stably (subtract the max before exp)."""
    scaled = [z / temperature for z in logits]
    top = max(scaled)
    log_norm = top + math.log(sum(map(math.exp, [z - top for z in scaled])))
    return [z - log_norm for z in scaled]


def sample_group(logprobs, group_size, rng):
    """Draw group_size answers independently from the categorical distribution exp(logprobs)."""
    cumulative = list(itertools.accumulate(map(math.exp, logprobs)))
    return rng.choices(range(len(logprobs)), cum_weights=cumulative, k=group_size)


def group_advantages(rewards, normalize, eps=1e-6):
    """GRPO's critic-free baseline: an answer's advantage is its reward minus the group's mean.

    A group where every answer got the same reward has advantage 0 everywhere and teaches
    nothing, which is why larger groups (more chances of a mixed group) help on hard prompts.
    With `normalize`, advantages are also divided by the group's standard deviation, so a group
    with a single correct answer out of G pushes that answer up as hard as a 50/50 group does.
    """
    mean = sum(rewards) / len(rewards)
    centred = [r - mean for r in rewards]
    if not normalize:
        return centred
    std = math.sqrt(sum(c * c for c in centred) / len(centred))
    return [c / (std + eps) for c in centred]


def group_loss_and_grad(logprobs, answers, old_logprobs, ref_logprobs, advantages,
                        temperature, clip_range, kl_coef):
    """The loss of one prompt's group and its gradient d(loss)/d(logits).

    `logprobs` is the current policy's log_softmax(logits / temperature) for the prompt;
    old_logprobs, ref_logprobs and advantages have one entry per sampled answer.

    For each sampled answer y with advantage A (log-probabilities at the sampling temperature):
      ratio     = pi(y) / pi_old(y)     pi_old: the policy that sampled the group
      surrogate = min(ratio * A, clip(ratio, 1 - clip_range, 1 + clip_range) * A)
      kl        = pi_ref(y)/pi(y) - log(pi_ref(y)/pi(y)) - 1
                  (the "k3" estimator of KL(pi || pi_ref) used by GRPO; always >= 0)
      loss      = -surrogate + kl_coef * kl
    The clip keeps the inner epochs from moving the policy too far from pi_old: once the ratio
    has left the clip range in the direction the advantage asks for, that answer stops pulling.
    The KL term pulls the policy back towards the reference (the warm-up policy). Note that the
    k3 term grows like pi_ref/pi: pushing a sampled answer's probability far below the
    reference's in one step makes its gradient explode. The group's loss is the mean over answers.

    Returns (loss, dlogits, mean kl, number of clipped answers).
    """
    group_size = len(answers)
    loss = kl_total = 0.0
    clipped = 0
    # d(loss)/d(log pi(y)), accumulated per answer index.
    dlogprob = [0.0] * len(logprobs)
    for y, old_lp, ref_lp, adv in zip(answers, old_logprobs, ref_logprobs, advantages):
        lp = logprobs[y]
        ratio = math.exp(lp - old_lp)
        clipped_ratio = min(max(ratio, 1.0 - clip_range), 1.0 + clip_range)
        unclipped_term, clipped_term = ratio * adv, clipped_ratio * adv
        # The min picks one branch; only the unclipped one depends on the policy, and
        # d(ratio)/d(log pi) = ratio.
        if unclipped_term <= clipped_term:
            surrogate, dsurrogate = unclipped_term, ratio * adv
        else:
            surrogate, dsurrogate = clipped_term, 0.0
            clipped += 1
        ref_over_pi = math.exp(ref_lp - lp)
        kl = ref_over_pi - (ref_lp - lp) - 1.0
        dkl = 1.0 - ref_over_pi  # d(kl)/d(log pi)
        loss += (-surrogate + kl_coef * kl) / group_size
        kl_total += kl / group_size
        dlogprob[y] += (-dsurrogate + kl_coef * dkl) / group_size
    # Chain rule through log softmax(z / T): d(log pi(y))/dz = (onehot(y) - pi) / T.
    total = sum(dlogprob)
    dlogits = [(g - total * p) / temperature for g, p in zip(dlogprob, map(math.exp, logprobs))]
    return loss, dlogits, kl_total, clipped
