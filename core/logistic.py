"""A small logistic model, optionally on standardised features: the one learned scorer of the project.

scikit-learn conventions: parameters are constructor fields, `fit` returns self, fitted state
ends in '_'. What it adds to sklearn's LogisticRegression:

- standardize: features are centred and scaled by the training mean and standard deviation
  (a constant feature keeps scale 1), and the scaling is part of the model;
- soft_targets: targets in [0, 1] are probabilities; each row is fitted twice, as a positive
  weighted y and as a negative weighted 1 - y (the standard way to fit soft labels);
- a target with nothing to tell apart (no rows, or every target equal) gives zero
  coefficients and the intercept log((m + 1e-6) / (1 - m + 1e-6)) of the mean target m
  (0 with no rows), where sklearn would refuse;
- `to_state` / `from_state`: plain JSON-ready state, checked on the way in.

Scores are computed as ((X - mean) / scale) @ coef + intercept, probabilities as
1 / (1 + exp(-score)), in that order (saved states reproduce predictions to the last bit).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from core.params import Params


@dataclass
class LogisticModel(Params):
    """C: inverse L2 strength; max_iter: the solver's limit (lbfgs)."""

    C: float = 1.0
    standardize: bool = True
    soft_targets: bool = False
    max_iter: int = 2000

    # ---- fitting --------------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None) -> "LogisticModel":
        """X: (n, d) features; y: n targets (0/1, or in [0, 1] with soft_targets)."""
        X = np.asarray(X, dtype=float)
        y = np.asarray(y)
        if X.ndim != 2 or len(X) != len(y):
            raise ValueError(f"LogisticModel.fit: X must be (n, d) with n = len(y) = {len(y)}, got shape {X.shape}")
        if self.standardize:
            self.mean_ = X.mean(axis=0) if len(X) else np.zeros(X.shape[1])
            std = X.std(axis=0) if len(X) else np.ones(X.shape[1])
            self.scale_ = np.where(std > 0, std, 1.0)
            X = (X - self.mean_) / self.scale_
        if len(y) == 0 or y.min() == y.max():
            # Nothing to tell apart: every row scores the base rate.
            self.coef_ = np.zeros(X.shape[1])
            self.intercept_ = float(np.log((y.mean() + 1e-6) / (1 - y.mean() + 1e-6))) if len(y) else 0.0
            return self
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=self.C, max_iter=self.max_iter)
        if self.soft_targets:
            y = y.astype(float)
            weights = np.r_[y, 1 - y]
            if sample_weight is not None:
                weights = weights * np.r_[sample_weight, sample_weight]
            model.fit(np.vstack([X, X]), np.r_[np.ones(len(y)), np.zeros(len(y))], sample_weight=weights)
        else:
            if not np.isin(y, (0, 1)).all():
                raise ValueError("LogisticModel.fit: targets other than 0 and 1 need soft_targets=True")
            model.fit(X, y, sample_weight=sample_weight)
        self.coef_, self.intercept_ = model.coef_[0].copy(), float(model.intercept_[0])
        return self

    @classmethod
    def with_coefficients(cls, coef, intercept: float, **params) -> "LogisticModel":
        """A model with given coefficients (on unstandardised features unless mean/scale follow)."""
        return cls.from_state({**params, "standardize": False, "coef": list(coef), "intercept": intercept})

    # ---- prediction -------------------------------------------------------------------------
    @property
    def n_features(self) -> int:
        return len(self.coef_)

    def decision_function(self, X) -> np.ndarray:
        if not hasattr(self, "coef_"):
            raise ValueError("LogisticModel is not fitted")
        X = np.asarray(X, dtype=float)
        if self.standardize:
            return ((X - self.mean_) / self.scale_) @ self.coef_ + self.intercept_
        return X @ self.coef_ + self.intercept_

    def predict_proba(self, X) -> np.ndarray:
        """The probability of the positive class, one per row."""
        return 1.0 / (1.0 + np.exp(-self.decision_function(X)))

    # ---- state --------------------------------------------------------------------------------
    def to_state(self) -> dict:
        state = {**self.get_params(), "coef": self.coef_.tolist(), "intercept": self.intercept_}
        if self.standardize:
            state.update(mean=self.mean_.tolist(), scale=self.scale_.tolist())
        return state

    @classmethod
    def from_state(cls, state: Mapping) -> "LogisticModel":
        """The model `to_state` described; ValueError naming what is wrong otherwise."""
        if not isinstance(state, Mapping):
            raise ValueError(f"logistic model state must be a mapping, got {type(state).__name__}")
        if "coef" not in state or "intercept" not in state:
            raise ValueError("logistic model state needs 'coef' and 'intercept'")
        params = {k: state[k] for k in ("C", "standardize", "soft_targets", "max_iter") if k in state}
        model = cls(**params)
        model.coef_ = _vector(state["coef"], "coef")
        try:
            model.intercept_ = float(state["intercept"])
        except (TypeError, ValueError):
            raise ValueError(f"logistic model intercept is not a number: {state['intercept']!r}") from None
        if not math.isfinite(model.intercept_):
            raise ValueError(f"logistic model intercept is not finite: {model.intercept_}")
        if model.standardize:
            if "mean" not in state or "scale" not in state:
                raise ValueError("standardised logistic model state needs 'mean' and 'scale'")
            model.mean_, model.scale_ = _vector(state["mean"], "mean"), _vector(state["scale"], "scale")
            lengths = {"coef": len(model.coef_), "mean": len(model.mean_), "scale": len(model.scale_)}
            if len(set(lengths.values())) > 1:
                listed = ", ".join(f"{k} {n}" for k, n in lengths.items())
                raise ValueError(f"logistic model vectors of different lengths: {listed}")
            if (model.scale_ <= 0).any():
                raise ValueError("logistic model scale must be > 0")
        return model


def _vector(values, name: str) -> np.ndarray:
    try:
        vector = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"logistic model {name} is not a list of numbers") from None
    if vector.ndim != 1:
        raise ValueError(f"logistic model {name} must be a flat list, got shape {vector.shape}")
    if not np.isfinite(vector).all():
        raise ValueError(f"logistic model {name} has a value that is not finite")
    return vector
