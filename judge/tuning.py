"""Choosing judge parameters by k-fold cross-validation on gold clips only.

Each fold's parameters are chosen on its training clips and scored on its held-out clips,
so the reported figures never come from clips the choice saw. The final parameters are
then chosen on all gold clips, for the submission.
"""
from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np
from sklearn.model_selection import KFold

from ensemble.errors import InputError
from ensemble.metrics import ew_scores, mer2024_scores
from judge.ballot import ClipBallot
from judge.base import Judge
from vocab.lexicon import Lexicon

log = logging.getLogger(__name__)

Gold = Mapping[str, Sequence[str]]

# Name -> how to read it off the scores (EW in percent, MER2024 as a fraction).
OBJECTIVES = ("ew_l1_f", "m_avg", "mer2024_avg")


@dataclass
class Scorer:
    """Scores predictions against gold with the official metrics."""

    lexicon: Lexicon
    grouper: Any = None

    def __call__(self, gold: Gold, predictions: Mapping[str, Sequence[str]]) -> dict[str, float]:
        ew = ew_scores(gold, predictions, self.lexicon)
        row = {"ew_l1_f": ew.level(1), "ew_l1_p": ew.level(1, "p"), "ew_l1_r": ew.level(1, "r"), "m_avg": ew.m_avg}
        if self.grouper is not None:
            row["mer2024_avg"] = 100 * mer2024_scores(gold, predictions, self.grouper).avg
        return row


def expand_grid(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """All combinations of a {parameter: [values]} grid, in a fixed order."""
    if not grid:
        return [{}]
    keys = sorted(grid)
    values = [list(grid[k]) if isinstance(grid[k], (list, tuple)) else [grid[k]] for k in keys]
    return [dict(zip(keys, combo)) for combo in itertools.product(*values)]


def folds(clips: Sequence[str], n_folds: int, seed: int) -> list[tuple[list[str], list[str]]]:
    """(train clips, test clips) per fold; the same clips and seed give the same folds."""
    clips = sorted(clips)
    if len(clips) < n_folds:
        raise InputError(f"{len(clips)} gold clips cannot make {n_folds} folds")
    splitter = KFold(n_splits=n_folds, shuffle=True, random_state=seed)
    return [([clips[i] for i in tr], [clips[i] for i in te]) for tr, te in splitter.split(clips)]


def _restrict(gold: Gold, clips: Sequence[str]) -> dict[str, Sequence[str]]:
    return {c: gold[c] for c in clips}


@dataclass
class Selection:
    params: dict[str, Any]
    objective_value: float


def select(
    make_judge: Callable[[dict], Judge],
    grid: list[dict],
    ballots: Sequence[ClipBallot],
    gold: Gold,
    scorer: Scorer,
    objective: str,
) -> Selection:
    """The grid point with the best objective on these clips (first one wins ties)."""
    best: Selection | None = None
    for params in grid:
        judge = make_judge(params).fit(ballots, gold)
        value = scorer(_restrict(gold, [b.clip for b in ballots]), judge.predict(ballots))[objective]
        if best is None or value > best.objective_value + 1e-12:
            best = Selection(params, value)
    return best


@dataclass
class CVResult:
    """Out-of-fold scores per fold, the parameters each fold chose, and the final choice."""

    fold_scores: list[dict[str, float]]
    fold_params: list[dict[str, Any]]
    final_params: dict[str, Any]
    out_of_fold: dict[str, list[str]] = field(default_factory=dict)

    def summary(self) -> dict[str, dict[str, float]]:
        keys = self.fold_scores[0]
        return {
            key: {"mean": float(np.mean([s[key] for s in self.fold_scores])), "std": float(np.std([s[key] for s in self.fold_scores]))}
            for key in keys
        }


def cross_validate(
    make_judge: Callable[[dict], Judge],
    grid: list[dict],
    ballots: Sequence[ClipBallot],
    gold: Gold,
    scorer: Scorer,
    objective: str = "ew_l1_f",
    n_folds: int = 5,
    seed: int = 0,
) -> CVResult:
    """Nested choice: per fold, select on train clips, score on test clips; then select on all."""
    if objective not in OBJECTIVES:
        raise InputError(f"unknown objective '{objective}' (known: {', '.join(OBJECTIVES)})")
    if objective == "mer2024_avg" and scorer.grouper is None:
        raise InputError("objective mer2024_avg needs synonym groupings (--groupings ZIP)")
    by_clip = {b.clip: b for b in ballots}
    gold_clips = sorted(c for c in gold if c in by_clip)
    if not gold_clips:
        raise InputError("the gold file shares no clip with the members")
    if len(gold_clips) < len(gold):
        log.warning("%d gold clips have no member output and are left out of tuning", len(gold) - len(gold_clips))
    fold_scores, fold_params, out_of_fold = [], [], {}
    for index, (train, test) in enumerate(folds(gold_clips, n_folds, seed)):
        chosen = select(make_judge, grid, [by_clip[c] for c in train], gold, scorer, objective)
        judge = make_judge(chosen.params).fit([by_clip[c] for c in train], gold)
        predictions = judge.predict([by_clip[c] for c in test])
        out_of_fold.update(predictions)
        fold_scores.append(scorer(_restrict(gold, test), predictions))
        fold_params.append(chosen.params)
        log.info("fold %d: chose %s, held-out %s %.2f", index + 1, chosen.params, objective, fold_scores[-1][objective])
    final = select(make_judge, grid, [by_clip[c] for c in gold_clips], gold, scorer, objective)
    return CVResult(fold_scores, fold_params, final.params, out_of_fold)
