"""Judges that score every cluster of a ballot and keep those above a threshold.

The threshold is calibrated on the training clips the judge is fitted on (the objective
the tuner optimises, computed with the fast EW scorer), never on the clips it predicts.
A floor and a cap on labels per clip apply after the threshold. Fitted state can be saved
to JSON and named in a config (`state: FILE`), so `run` reproduces a tuned judge with no gold.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from core.errors import InputError
from core.state import read_state, write_state
from judge.base import Judge
from judge.fastscore import L1_NAMES, FastScorer, PrefixTable, WordMaps
from judge.features import ClusterView, view
from judge.objective import Objective
from vocab.ballot import ClipBallot
from vocab.lexicon import load_lexicon

log = logging.getLogger(__name__)

Gold = Mapping[str, Sequence[str]]
N_THRESHOLDS = 60


def select(scores: np.ndarray, threshold: float, min_labels: int, max_labels: int) -> list[int]:
    """Indices kept: score >= threshold, best first; floor and cap applied."""
    order = sorted(range(len(scores)), key=lambda j: -scores[j])
    kept = [j for j in order if scores[j] >= threshold]
    if len(kept) < min_labels:
        kept = order[:min_labels]
    if max_labels:
        kept = kept[:max_labels]
    return kept


@dataclass
class ScoredJudge(Judge):
    """Base of the learned judges. Subclasses set `kind` and implement _learn/_scores/_state."""

    min_labels: int = 1
    max_labels: int = 0
    threshold: float | None = None  # None: calibrate on the training clips
    objective: str = "ew_l1_f"
    lexicon: str = ""
    state: str = ""  # JSON file with the fitted state; fit() without gold loads it

    kind = "scored"
    path_params = {"lexicon": "folder", "state": "file"}

    # ---- the fitting protocol -------------------------------------------------------
    @property
    def needs_fit(self) -> bool:
        return not hasattr(self, "threshold_")

    def fit(self, ballots: Sequence[ClipBallot], gold: Gold | None = None) -> "ScoredJudge":
        self._check_params()
        if gold is None:
            if not self.state:
                raise InputError(f"judge '{self.kind}' learns from gold: tune it first (its config then names a state file)")
            return self.load_state(self.state)
        clips = [b.clip for b in ballots if b.clip in gold]
        if not clips:
            raise InputError(f"judge '{self.kind}': no training clip has gold")
        by_clip = {b.clip: b for b in ballots}
        self.word_maps_ = WordMaps(self._lexicon())
        scorer = FastScorer(self.word_maps_.lexicon, {c: gold[c] for c in clips}, self.word_maps_)
        views = [view(by_clip[c], self.word_maps_) for c in clips]
        self._learn(views, scorer)
        if self.threshold is not None:
            self.threshold_ = float(self.threshold)
        else:
            self.threshold_ = self._calibrate(views, scorer)
        return self

    def _check_params(self) -> None:
        for name in ("min_labels", "max_labels"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise InputError(f"judge '{self.kind}': {name} must be an integer >= 0 (0 = no cap for max_labels), got {value!r}")
        if self.min_labels < 0 or self.max_labels < 0:
            raise InputError(f"judge '{self.kind}': min_labels and max_labels must be >= 0")
        if self.max_labels and self.min_labels > self.max_labels:
            raise InputError(f"judge '{self.kind}': min_labels {self.min_labels} exceeds max_labels {self.max_labels}")
        if self.threshold is not None and (
            isinstance(self.threshold, bool) or not isinstance(self.threshold, (int, float)) or not math.isfinite(self.threshold)
        ):
            raise InputError(f"judge '{self.kind}': threshold must be a number")
        Objective.parse(self.objective)

    def _check_positive(self, *names: str) -> None:
        """Each named parameter must be a finite number > 0."""
        for name in names:
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise InputError(f"judge '{self.kind}': {name} must be a finite number > 0, got {value!r}")

    def _lexicon(self):
        if not self.lexicon:
            raise InputError(f"judge '{self.kind}': needs the lexicon folder (the run hands down its `lexicon`)")
        return load_lexicon(self.lexicon)

    def metric_indices(self) -> list[int]:
        """The mappings a cluster's target counts: all 12 for M-avg, the wheels' level 1 otherwise."""
        if Objective.parse(self.objective).metric == "m_avg":
            return list(range(len(self.word_maps_.names)))
        return [self.word_maps_.index(n) for n in L1_NAMES]

    def _calibration_objective(self) -> Objective:
        """What the threshold maximises: the objective, or EW-L1 F for one that needs groupings."""
        objective = Objective.parse(self.objective)
        if objective.needs_groupings:
            log.debug("calibrating on EW-L1 F: the MER2024 metric needs groupings the judge does not hold")
            objective = Objective.parse("ew_l1_f")
        return objective

    def _calibrate(self, views: Sequence[ClusterView], scorer: FastScorer) -> float:
        objective = self._calibration_objective()
        scores = [self._scores(v) for v in views]
        table = PrefixTable(scorer, [v.ballot.clip for v in views], [v.rows for v in views], scores)
        pooled = np.concatenate(scores) if scores else np.zeros(0)
        candidates = np.unique(np.quantile(pooled, np.linspace(0, 1, N_THRESHOLDS))) if pooled.size else np.zeros(1)
        best, best_value = float(candidates[0]), -math.inf
        for threshold in candidates:
            value = objective.value(table(table.lengths(threshold, self.min_labels, self.max_labels)))
            if value > best_value + 1e-12:
                best, best_value = float(threshold), value
        return best

    # ---- prediction -----------------------------------------------------------------
    def keep(self, ballot: ClipBallot) -> list[str]:
        if self.needs_fit:
            raise InputError(f"judge '{self.kind}' is not fitted: fit it on gold or name a state file")
        if not hasattr(self, "word_maps_"):
            self.word_maps_ = WordMaps(self._lexicon())
        v = view(ballot, self.word_maps_)
        return [v.clusters[j] for j in self._kept(v)]

    def _kept(self, v: ClusterView) -> list[int]:
        """Indices of the clusters kept (the threshold, floor and cap on the cluster scores)."""
        return select(self._scores(v), self.threshold_, self.min_labels, self.max_labels)

    def threshold_grid(self, ballots: Sequence[ClipBallot], n: int = 25) -> list[float]:
        """Thresholds spanning what this judge can output (for precision-recall curves)."""
        scores = np.concatenate([list(self.cluster_scores(b).values()) for b in ballots] or [np.zeros(1)])
        return sorted(set(np.quantile(scores, np.linspace(0, 1, n)).round(6).tolist()))

    def cluster_scores(self, ballot: ClipBallot) -> dict[str, float]:
        """Every cluster's score (for curves and reports)."""
        v = view(ballot, self.word_maps_)
        return dict(zip(v.clusters, map(float, self._scores(v))))

    # ---- state (core/state.py's format, kind "judge.<kind>") -----------------------------
    def to_state(self) -> dict:
        return {"params": {k: v for k, v in self.get_params().items() if k != "state"},
                "threshold": self.threshold_, **self._state()}

    def save_state(self, path: str | Path) -> None:
        write_state(path, f"judge.{self.kind}", self.to_state())

    def load_state(self, path: str | Path) -> "ScoredJudge":
        data = read_state(path, f"judge.{self.kind}", self._legacy_state)
        try:
            self._load(data)
            self.threshold_ = float(data["threshold"])
        except (KeyError, TypeError, ValueError) as error:
            raise InputError(f"{path}: incomplete judge state ({error})") from None
        return self

    def _legacy_state(self, data: dict) -> dict | None:
        """A version-1 judge state ({"type": kind, ...}, a logistic model's mean, scale, coef and
        intercept at the top) as a version-2 body; None when `data` is not one."""
        if "type" not in data:
            return None
        if data["type"] != self.kind:
            raise ValueError(f"state of a '{data['type']}' judge, config asks for '{self.kind}'")
        body = {k: v for k, v in data.items() if k != "type"}
        if "coef" in body:
            body["model"] = {"standardize": True, **{k: body.pop(k) for k in ("mean", "scale", "coef", "intercept")}}
        return body

    # ---- what subclasses provide ------------------------------------------------------
    def _learn(self, views: Sequence[ClusterView], scorer: FastScorer) -> None:
        raise NotImplementedError

    def _scores(self, v: ClusterView) -> np.ndarray:
        raise NotImplementedError

    def _state(self) -> dict:
        raise NotImplementedError

    def _load(self, data: Mapping) -> None:
        raise NotImplementedError
