"""A learned stacker: logistic regression over per-cluster vote features, threshold calibrated.

Each (clip, cluster) of the training clips is one row (features: judge/features.py); its
target is the share of the objective's mappings under which the cluster's emitted word hits
the clip's gold. A fractional target is fitted as two weighted rows (y as positive weight,
1 - y as negative), the standard way to fit a probability to soft labels.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

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
        from sklearn.linear_model import LogisticRegression

        ys = targets(views, scorer, self.metric_indices())
        self.rates_ = Rates.learn(views, ys, self.prior_strength)
        self.members_ = sorted(self.rates_.member)
        blocks = [stack_features(v, self.members_, self.rates_, self.word_maps_, own=y)[0] for v, y in zip(views, ys)]
        X = np.concatenate(blocks) if blocks else np.zeros((0, 0))
        y = np.concatenate(ys) if ys else np.zeros(0)
        self.feature_names_ = stack_features(views[0], self.members_, self.rates_, self.word_maps_)[1]
        if len(X) == 0 or y.min() == y.max():
            # Nothing to tell apart: every cluster scores the base rate.
            self.mean_, self.scale_ = np.zeros(X.shape[1]), np.ones(X.shape[1])
            self.coef_, self.intercept_ = np.zeros(X.shape[1]), float(np.log((y.mean() + 1e-6) / (1 - y.mean() + 1e-6)))
            return
        self.mean_ = X.mean(axis=0)
        self.scale_ = np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
        Z = (X - self.mean_) / self.scale_
        model = LogisticRegression(C=self.C, max_iter=2000)
        model.fit(np.vstack([Z, Z]), np.r_[np.ones(len(y)), np.zeros(len(y))], sample_weight=np.r_[y, 1 - y])
        self.coef_, self.intercept_ = model.coef_[0], float(model.intercept_[0])

    def _scores(self, v: ClusterView) -> np.ndarray:
        if not v.clusters:
            return np.zeros(0)
        X, _ = stack_features(v, self.members_, self.rates_, self.word_maps_)
        z = ((X - self.mean_) / self.scale_) @ self.coef_ + self.intercept_
        return 1.0 / (1.0 + np.exp(-z))

    def coefficients(self) -> dict[str, float]:
        return dict(zip(self.feature_names_, map(float, self.coef_)))

    def _state(self) -> dict:
        return {
            "members": self.members_,
            "features": self.feature_names_,
            "rates": self.rates_.to_dict(),
            "mean": self.mean_.tolist(),
            "scale": self.scale_.tolist(),
            "coef": self.coef_.tolist(),
            "intercept": self.intercept_,
        }

    def _load(self, data: Mapping) -> None:
        self.members_ = list(data["members"])
        self.feature_names_ = list(data["features"])
        self.rates_ = Rates.from_dict(data["rates"])
        self.mean_, self.scale_, self.coef_ = (np.asarray(data[k], dtype=float) for k in ("mean", "scale", "coef"))
        self.intercept_ = float(data["intercept"])
        if not (len(self.mean_) == len(self.scale_) == len(self.coef_) == len(self.feature_names_)):
            raise ValueError("feature vectors of different lengths")
