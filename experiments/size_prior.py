"""Prototype, for measurement only: the category judge with issue 16's size-prior decision rule.

On each clip the choice walks the greedy path of clusters exactly as `expected_pr` /
`expected_f` do today (judge/category.py, `_choose`), all the way to the end, and scores every
prefix of n emitted words by

    U(n) = utility(n) + gamma * log pi(n)

where utility(n) is the utility's value after the prefix (the sum of the greedy gains: expected
precision + beta * expected recall, or the plug-in expected F, summed over mappings) and pi is
the label-count distribution of the training gold (gold labels per clip, add-one smoothed over
1..max; pi(n) = 0, never chosen, above the largest count in the training gold). The best prefix
is kept (at least one word). gamma = 0 is the plain support cap. gamma and the utility's
threshold (beta or lambda) are calibrated together on the training clips, as today's threshold
is (in-sample EW-L1 F of the training clips).

The judge engineer implements the rule in judge/; this file subclasses today's classes only to
measure it (experiments/repeated_cv.py rows `*_sp*`). `code` only keys the tune cache: the cache
digests judge/, vocab/ and core/ but not experiments/, so the rows pass this file's digest.
"""
from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import InputError
from judge.category import BATCH_CLIPS, GRIDS, CategoryJudge, _answers
from judge.category_batch import CategoryBatch, build_batch
from judge.views import ViewCategory
from vocab.ballot import ClipBallot

GAMMAS = (0.0, 0.02, 0.05, 0.1, 0.2, 0.4)


def source_digest() -> str:
    """Digest of this file: the rows pass it as `code`, so editing the rule never reuses old fits."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]


def log_size_prior(counts: Sequence[int]) -> np.ndarray:
    """log pi(n) for n = 0..max(counts): add-one smoothed over 1..max, -inf at 0 (never chosen)."""
    top = max(counts)
    tally = np.bincount(np.asarray(counts, dtype=np.int64), minlength=top + 1)[1:].astype(float)
    out = np.full(top + 1, -np.inf)
    out[1:] = np.log((tally + 1.0) / (tally.sum() + top))
    return out


@dataclass
class ClipPath:
    """One clip's greedy path: the slots in the order taken, and per prefix (n = 1..len) the
    utility after it and the number of distinct words it emits."""

    slots: list[int]
    values: np.ndarray
    n_words: np.ndarray


def greedy_paths(batch: CategoryBatch, utility: str, threshold: float) -> list[ClipPath]:
    """Every clip's full greedy path under `utility` at `threshold` (beta or lambda): the gains
    of judge/category.py `_choose` (ties: the first cluster), never stopping early."""
    out = []
    uncovered = np.ones(len(batch.p), dtype=bool)
    for c in range(len(batch.clips)):
        start, end = int(batch.slot_start[c]), int(batch.slot_start[c + 1])
        cands = batch.slot_cands[start:end]
        valid = cands >= 0
        safe = np.where(valid, cands, 0)
        p = np.where(valid, batch.p[safe], 0.0) if len(batch.p) else np.zeros(cands.shape)
        G = batch.G[c]
        recall = threshold * p / np.maximum(G, 1e-12)
        hits, sizes = np.zeros(cands.shape[1]), np.zeros(cands.shape[1])
        available = np.ones(end - start, dtype=bool)
        slots, values, n_words, words, value = [], [], [], set(), 0.0
        for _ in range(end - start):
            unc = valid & uncovered[safe]
            new_hits = np.where(unc, p, 0.0) + hits
            new_sizes = unc.astype(float) + sizes
            if utility == "expected_pr":
                before = np.divide(hits, sizes, out=np.zeros_like(hits), where=sizes > 0)
                after = np.divide(new_hits, new_sizes, out=np.zeros_like(new_hits), where=new_sizes > 0)
                raw = ((after - before) + np.where(unc, recall, 0.0)).sum(axis=1)
            else:  # expected_f
                den = threshold * G
                before = np.divide(2 * hits, sizes + den, out=np.zeros_like(hits), where=(sizes + den) > 0)
                after = np.divide(2 * new_hits, new_sizes + den, out=np.zeros_like(new_hits), where=(new_sizes + den) > 0)
                raw = (after - before).sum(axis=1)
            gains = np.where(available, raw, -np.inf)
            best = int(np.argmax(gains))
            value += gains[best]
            available[best] = False
            new = unc[best]
            hits += np.where(new, p[best], 0.0)
            sizes += new
            uncovered[safe[best][new]] = False
            slots.append(best)
            words.add(batch.words[c][best])
            values.append(value)
            n_words.append(len(words))
        out.append(ClipPath(slots, np.array(values), np.array(n_words, dtype=np.int64)))
    return out


def best_prefix(path: ClipPath, log_prior: np.ndarray, gamma: float, min_labels: int = 1) -> list[int]:
    """The prefix with the largest U(n) among those of at least `min_labels` clusters (ties: the shorter)."""
    if not path.slots:
        return []
    sizes = np.minimum(path.n_words, len(log_prior))  # index len(log_prior): above the support
    prior = np.append(log_prior, -np.inf)[sizes]
    with np.errstate(invalid="ignore"):
        scores = path.values + np.where(np.isfinite(prior), gamma * prior, -np.inf)
    first = min(max(min_labels, 1), len(scores)) - 1
    best, best_score = first, scores[first]
    for n in range(first + 1, len(scores)):
        if scores[n] > best_score + 1e-12:
            best, best_score = n, scores[n]
    return path.slots[: best + 1]


def covered_words(batch: CategoryBatch, clip: int, kept: list[int]) -> list[int]:
    """The clip's other clusters whose every category (under every modelled mapping) the kept
    clusters already cover: adding them leaves each mapping's category set, so the EW scores, unchanged."""
    start, end = int(batch.slot_start[clip]), int(batch.slot_start[clip + 1])
    cands = batch.slot_cands[start:end]
    covered = {int(x) for j in kept for x in cands[j] if x >= 0}
    return [j for j in range(end - start)
            if j not in kept and (cands[j] >= 0).any() and all(int(x) in covered for x in cands[j] if x >= 0)]


def with_covered(batch: CategoryBatch, clip: int, kept: list[int], budget: int) -> list[int]:
    """`kept`, then its covered clusters (cluster order) while the clip has fewer than `budget` words."""
    words = {batch.words[clip][j] for j in kept}
    out = list(kept)
    for j in covered_words(batch, clip, kept):
        if len(words) >= budget:
            break
        if batch.words[clip][j] not in words:
            words.add(batch.words[clip][j])
            out.append(j)
    return out


class SizePriorRule:
    """What both prototypes add to today's judge: the prior from the training gold, the joint
    calibration of (threshold, gamma), and the prefix choice at prediction."""

    def _check_params(self) -> None:
        super()._check_params()
        if self.utility not in ("expected_pr", "expected_f"):
            raise InputError(f"judge '{self.kind}': the size prior walks expected_pr or expected_f, got {self.utility!r}")
        if not self.gammas or any(not isinstance(g, (int, float)) or not math.isfinite(g) or g < 0 for g in self.gammas):
            raise InputError(f"judge '{self.kind}': gammas must be numbers >= 0, got {self.gammas!r}")

    def fit(self, ballots, gold=None):
        if gold is None:
            raise InputError("the size-prior prototype is fitted on gold only")
        self._fit_prior(ballots, gold)
        return super().fit(ballots, gold)

    def _finish(self, batch: CategoryBatch, chosen: list[list[int]]) -> list[list[int]]:
        """fill_covered: each clip's answer topped up with covered synonyms up to the training gold's
        mean count (rounded), a count-only change: the EW scores stay as they are."""
        if not self.fill_covered:
            return chosen
        return [with_covered(batch, c, kept, self.fill_to_) for c, kept in enumerate(chosen)]

    def _fit_prior(self, ballots: Sequence[ClipBallot], gold: Mapping[str, Sequence[str]]) -> None:
        counts = [len(gold[b.clip]) for b in ballots if b.clip in gold]
        self.log_prior_ = log_size_prior(counts)
        self.fill_to_ = round(float(np.mean(counts)))

    def _calibrate(self, views, scorer) -> float:
        objective = self._calibration_objective()
        batch = build_batch(self, [v.ballot for v in views])
        clips = [v.ballot.clip for v in views]
        best, best_value = (GRIDS[self.utility][0], self.gammas[0]), -math.inf
        for threshold in GRIDS[self.utility]:
            paths = greedy_paths(batch, self.utility, threshold)
            for gamma in self.gammas:
                chosen = self._finish(batch, [best_prefix(path, self.log_prior_, gamma, self.min_labels) for path in paths])
                value = objective.value(scorer(clips, _answers(batch.clips, batch.words, chosen)))
                if value > best_value + 1e-12:
                    best, best_value = (float(threshold), float(gamma)), value
        self.gamma_ = best[1]
        return best[0]

    def _choose_all(self, ballots: Sequence[ClipBallot]) -> dict[str, list[str]]:
        answers: dict[str, list[str]] = {}
        for start in range(0, len(ballots), BATCH_CLIPS):
            batch = build_batch(self, ballots[start: start + BATCH_CLIPS])
            paths = greedy_paths(batch, self.utility, self.threshold_)
            chosen = self._finish(batch, [best_prefix(path, self.log_prior_, self.gamma_, self.min_labels) for path in paths])
            answers.update(_answers(batch.clips, batch.words, chosen))
        return answers


@dataclass
class SizePriorCategory(SizePriorRule, CategoryJudge):
    """Every member its own voter (today's `category` judge) with the size-prior rule."""

    gammas: tuple = GAMMAS
    fill_covered: bool = False
    code: str = ""
    kind = "size_prior_category"

    def predict(self, ballots):
        if self.needs_fit:
            raise InputError(f"judge '{self.kind}' is not fitted")
        return self._choose_all(list(ballots))


@dataclass
class SizePriorViewCategory(SizePriorRule, ViewCategory):
    """Views pooled into models (today's `view_category` judge) with the size-prior rule."""

    gammas: tuple = GAMMAS
    fill_covered: bool = False
    code: str = ""
    kind = "size_prior_view_category"

    def _predict_pooled(self, ballots):
        return self._choose_all([self.pool(b) for b in ballots])
