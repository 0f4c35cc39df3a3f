"""Weighted voting: each member's vote counts by its reliability learned from gold, optionally
topped up by agreement at the emotion wheels' coarse level."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from core.errors import InputError
from judge.fastscore import FastScorer
from judge.features import ClusterView, Rates, coarse_agreement, targets, weighted_share, wheel_indices
from judge.scored import ScoredJudge


@dataclass
class WeightedVote(ScoredJudge):
    """score = voters' weight / answering members' weight + coarse_weight * coarse agreement.

    Weights: `weights` from the config when given (no learning; must be finite and >= 0), else
    each member's smoothed hit rate on the training clips raised to `power` (reliability=True)
    or 1 for everyone (reliability=False). A member missing from a clip is left out of that
    clip's denominator, so a clip is judged by the members that have it.
    """

    reliability: bool = True
    power: float = 1.0
    coarse_weight: float = 0.0
    prior_strength: float = 5.0
    weights: dict[str, float] | None = None

    kind = "weighted"

    def _check_params(self) -> None:
        super()._check_params()
        for name in ("power", "coarse_weight", "prior_strength"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise InputError(f"judge '{self.kind}': {name} must be a finite number >= 0, got {value!r}")
        if self.weights is not None:
            check_weights(self.weights, self.kind)

    def _learn(self, views: Sequence[ClusterView], scorer: FastScorer) -> None:
        if self.weights is not None:
            self.weights_ = {m: float(w) for m, w in self.weights.items()}
            return
        rates = Rates.learn(views, targets(views, scorer, self.metric_indices()), self.prior_strength)
        members = sorted(rates.member)
        if self.reliability:
            self.weights_ = {m: rates.member[m] ** self.power for m in members}
        else:
            self.weights_ = {m: 1.0 for m in members}

    def _scores(self, v: ClusterView) -> np.ndarray:
        if not v.clusters:
            return np.zeros(0)
        unknown = set(v.ballot.members) - set(self.weights_)
        if unknown and self.weights is not None:
            raise InputError(f"judge '{self.kind}': no weight for member '{sorted(unknown)[0]}'")
        score = weighted_share(v, self.weights_)
        if self.coarse_weight:
            score = score + self.coarse_weight * coarse_agreement(v, self.weights_, wheel_indices(self.word_maps_))
        return score

    def _state(self) -> dict:
        return {"weights": self.weights_}

    def _load(self, data: Mapping) -> None:
        self.weights_ = check_weights(data["weights"], self.kind)


@dataclass
class CoarseVote(WeightedVote):
    """Equal votes, plus agreement at the wheels' level-1 categories (a calibrated threshold)."""

    reliability: bool = False
    coarse_weight: float = 0.5

    kind = "coarse"


def check_weights(weights: Mapping[str, float], kind: str) -> dict[str, float]:
    out = {}
    for member, value in dict(weights).items():
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise InputError(f"judge '{kind}': weight of '{member}' is not a number: {value!r}") from None
        if not math.isfinite(value) or value < 0:
            raise InputError(f"judge '{kind}': weight of '{member}' must be finite and >= 0, got {value}")
        out[str(member)] = value
    if out and not any(out.values()):
        raise InputError(f"judge '{kind}': every weight is 0")
    return out
