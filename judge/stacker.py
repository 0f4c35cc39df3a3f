"""A learned stacker: logistic regression over per-cluster vote features, threshold calibrated.

Each (clip, cluster) of the training clips is one row (features: judge/features.py); its
target is the share of the objective's mappings under which the cluster's emitted word hits
the clip's gold. A fractional target is fitted as two weighted rows (y as positive weight,
1 - y as negative), the standard way to fit a probability to soft labels.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from core.logistic import LogisticModel
from judge.fastscore import FastScorer
from judge.features import ClusterView, Rates, stack_features, targets
from judge.scored import ScoredJudge


@dataclass
class Stacker(ScoredJudge):
    """C: inverse L2 strength of the logistic regression; prior_strength: smoothing of the rates."""

    C: float = 1.0
    prior_strength: float = 5.0

    kind = "stacker"

    def _check_params(self) -> None:
        super()._check_params()
        self._check_positive("C", "prior_strength")

    def _learn(self, views: Sequence[ClusterView], scorer: FastScorer) -> None:
        ys = targets(views, scorer, self.metric_indices())
        self.rates_ = Rates.learn(views, ys, self.prior_strength)
        self.members_ = sorted(self.rates_.member)
        blocks = [self._features(v, own=y) for v, y in zip(views, ys)]
        X = np.concatenate(blocks) if blocks else np.zeros((0, 0))
        y = np.concatenate(ys) if ys else np.zeros(0)
        self.feature_names_ = stack_features(views[0], self.members_, self.rates_, self.word_maps_)[1]
        self.model_ = LogisticModel(C=self.C, soft_targets=True).fit(X, y)

    def _scores(self, v: ClusterView) -> np.ndarray:
        if not v.clusters:
            return np.zeros(0)
        return self.model_.predict_proba(self._features(v))

    def _features(self, v: ClusterView, own: np.ndarray | None = None) -> np.ndarray:
        """The feature matrix of one clip's clusters (a subclass may replace columns)."""
        return stack_features(v, self.members_, self.rates_, self.word_maps_, own=own)[0]

    def coefficients(self) -> dict[str, float]:
        return dict(zip(self.feature_names_, map(float, self.model_.coef_)))

    def _state(self) -> dict:
        return {"members": self.members_, "features": self.feature_names_, "rates": self.rates_.to_dict(),
                "model": self.model_.to_state()}

    def _load(self, data: Mapping) -> None:
        self.members_ = list(data["members"])
        self.feature_names_ = list(data["features"])
        self.rates_ = Rates.from_dict(data["rates"])
        self.model_ = LogisticModel.from_state(data["model"])
        if self.model_.n_features != len(self.feature_names_):
            raise ValueError(f"{self.model_.n_features} coefficients for {len(self.feature_names_)} features")
