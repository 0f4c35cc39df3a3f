"""The category judge's choice: which clusters of each clip to emit, from category probabilities.

Pure functions over arrays, for many clips at once. Per clip, `greedy_path` adds clusters one
at a time, each time the one that raises the clip's expected utility most, and records the
utility U of every prefix of that path:

- expected_pr: per mapping, expected precision + weight * expected recall of the categories the
  prefix's words cover, sum(p kept) / n kept + weight * sum(p kept) / G, summed over mappings
  (G: the expected gold size). The metric is F of precision and recall averaged over clips, so
  the best submission maximises P + beta * R of the averages for some beta, which splits into
  one such term per clip;
- expected_f: per mapping the plug-in expected F, 2 * sum(p kept) / (n kept + weight * G).

`best_prefix` then picks, per clip, the prefix size n maximising U(n) + gamma * log pi(n),
where pi is the distribution of the number of gold labels per clip on the training clips
(`size_prior`): a set size gold never had (pi = 0) is never chosen, and gamma trades the
utility against how usual the size is. Without a prior, U alone decides.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

UTILITIES = ("expected_pr", "expected_f")


def size_prior(counts: Sequence[int]) -> np.ndarray:
    """pi(n) for n = 0..max(counts): add-one smoothed over 1..max, 0 above the largest count
    (and pi(0) only as often as gold had an empty clip)."""
    counts = np.asarray(list(counts), dtype=np.int64)
    top = int(counts.max(initial=0))
    tally = np.bincount(counts, minlength=top + 1).astype(float)
    tally[1:] += 1.0
    return tally / tally.sum() if tally.sum() else np.ones(1)


def _value(utility: str, hits: np.ndarray, sizes: np.ndarray, G: np.ndarray, weight: float) -> np.ndarray:
    """U of clips whose kept words cover `sizes` categories with probabilities summing to `hits`, per mapping."""
    if utility == "expected_pr":
        precision = np.divide(hits, sizes, out=np.zeros_like(hits), where=sizes > 0)
        return (precision + weight * np.divide(hits, G, out=np.zeros_like(hits), where=G > 0)).sum(axis=-1)
    den = sizes + weight * G
    return np.divide(2 * hits, den, out=np.zeros_like(hits), where=den > 0).sum(axis=-1)


def greedy_path(slot_start: np.ndarray, slot_cands: np.ndarray, p: np.ndarray, G: np.ndarray, utility: str,
                weight: float, limit: np.ndarray) -> tuple[list[list[int]], np.ndarray]:
    """Per clip, (the clusters in the order the greedy walk adds them, at most limit[c] of them;
    U[c, n] of each prefix size n, -inf past the path's end).

    slot_start: (n_clips + 1,) first slot of each clip; slot_cands[s, m]: the candidate slot s's
    word lands on under mapping m, or -1; p: each candidate's probability; G: (n_clips, n_mappings)."""
    n_clips = len(slot_start) - 1
    per_clip = np.diff(slot_start)
    limit = np.minimum(np.asarray(limit, dtype=np.int64), per_clip)
    slot_clip = np.repeat(np.arange(n_clips), per_clip)
    valid = slot_cands >= 0
    safe = np.where(valid, slot_cands, 0)
    p_slot = np.where(valid, p[safe], 0.0) if len(p) else np.zeros(slot_cands.shape)
    uncovered = np.ones(len(p), dtype=bool)
    available = np.ones(len(slot_clip), dtype=bool)
    n_ii = slot_cands.shape[1]
    hits, sizes = np.zeros((n_clips, n_ii)), np.zeros((n_clips, n_ii))
    values = np.full((n_clips, int(limit.max(initial=0)) + 1), -np.inf)
    values[:, 0] = 0.0
    paths: list[list[int]] = [[] for _ in range(n_clips)]
    step = 0
    active = limit > 0
    while active.any():
        idx = np.flatnonzero(active[slot_clip] & available)
        c_of = slot_clip[idx]
        new = valid[idx] & uncovered[safe[idx]]
        after = _value(utility, hits[c_of] + np.where(new, p_slot[idx], 0.0), sizes[c_of] + new, G[c_of], weight)
        # Per clip, the first slot with the largest utility after adding it.
        starts = np.r_[0, np.flatnonzero(np.diff(c_of)) + 1]
        best = np.maximum.reduceat(after, starts)
        at = np.where(after == np.repeat(best, np.diff(np.r_[starts, len(idx)])), np.arange(len(idx)), len(idx))
        chosen = idx[np.minimum.reduceat(at, starts)]
        clips = c_of[starts]
        step += 1
        values[clips, step] = best
        for c, s in zip(clips.tolist(), (chosen - slot_start[clips]).tolist()):
            paths[c].append(s)
        available[chosen] = False
        added = valid[chosen] & uncovered[safe[chosen]]
        hits[clips] += np.where(added, p_slot[chosen], 0.0)
        sizes[clips] += added
        uncovered[safe[chosen][added]] = False
        active &= limit > step
    return paths, values


def best_prefix(values: np.ndarray, log_prior: np.ndarray, gamma: float, min_labels: int) -> np.ndarray:
    """Per clip, the prefix size n maximising values[c, n] + gamma * log_prior[n] (smallest n on
    ties), at least min_labels where the path is that long. log_prior: one entry per n (-inf: never)."""
    n_clips, width = values.shape
    prior = np.full(width, -np.inf)
    prior[: min(width, len(log_prior))] = log_prior[:width]
    # gamma 0 with a prior is the support cap: sizes gold never had stay out.
    penalty = np.where(np.isfinite(prior), gamma * np.where(np.isfinite(prior), prior, 0.0), -np.inf)
    longest = np.isfinite(values).sum(axis=1) - 1
    floor = np.minimum(min_labels, longest)
    n = np.arange(width)
    allowed = np.isfinite(values) & (n[None, :] >= floor[:, None])
    score = np.where(allowed, values + penalty[None, :], -np.inf)
    # The shortest prefix within 1e-12 of the best: a longer one must raise U to be kept.
    chosen = np.argmax(score >= score.max(axis=1, keepdims=True) - 1e-12, axis=1)
    stuck = ~np.isfinite(score[np.arange(n_clips), chosen])  # only sizes the prior rules out are allowed
    chosen[stuck] = floor[stuck]
    return chosen
