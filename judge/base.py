"""The judge interface: decide which clusters of each ballot to emit, scikit-learn style.

What commands and reports may ask of any judge is declared here, so they never probe a judge
for private methods:

- `learns`: fit needs gold, and the fitted state is saved (`save_state`) and loaded
  (`load_state`) so that `run` needs no gold;
- `validate()`: the one check of the parameters (InputError), run before anything is read;
- `threshold_grid` / `get_threshold` / `set_threshold`: the one knob a precision-recall curve sweeps;
- `summary()`: what a report shows of the fitted judge;
- `explain(ballots)`: per clip, every candidate with its voters, score and whether it was kept.
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Mapping, Sequence

from core.errors import InputError, excerpt
from core.params import Params
from core.uses import DeclaresPaths
from vocab.ballot import ClipBallot

Gold = Mapping[str, Sequence[str]]


class Judge(Params, DeclaresPaths, ABC):
    """fit(ballots, gold) -> self; predict(ballots) -> {clip: [surface words]}.

    Parameters are plain dataclass fields (they round-trip through get_params); anything
    learned lives in attributes ending in '_'."""

    # What `explain`'s candidate `score` means, for people reading an explain file or page.
    # A judge that overrides `explain` with another score says here what it is.
    score_meaning: ClassVar[str] = "number of members that named the cluster (the default explanation's score)"

    kind: ClassVar[str] = "judge"
    learns: ClassVar[bool] = False

    def validate(self) -> None:
        """Refuse bad parameters with one InputError. Default: min_labels and max_labels, where declared."""
        params = self.get_params()
        for name in ("min_labels", "max_labels"):
            if name in params:
                self._check_number(name, 0, integer=True)
        if params.get("max_labels") and params.get("min_labels", 0) > params["max_labels"]:
            raise InputError(f"judge '{self.kind}': min_labels {params['min_labels']} exceeds max_labels {params['max_labels']}")

    def _check_number(self, name: str, low: float, high: float = math.inf, integer: bool = False, open_low: bool = False) -> None:
        value = getattr(self, name)
        kind = "an integer" if integer else "a number"
        good = not isinstance(value, bool) and isinstance(value, int if integer else (int, float)) and math.isfinite(value)
        if not good or value < low or (open_low and value == low) or value > high:
            bounds = f"{'>' if open_low else '>='} {low:g}" + ("" if high == math.inf else f" and <= {high:g}")
            shown = repr(value) if len(repr(value)) <= 60 else excerpt(value)
            raise InputError(f"judge '{self.kind}': {name} must be {kind} {bounds}, got {shown}")

    def fit(self, ballots: Sequence[ClipBallot], gold: Gold | None = None) -> "Judge":
        self.validate()
        return self

    def check_members(self, members: Sequence[str]) -> None:
        """Refuse a member list this judge cannot work with (InputError). Default: none."""

    @abstractmethod
    def predict(self, ballots: Sequence[ClipBallot]) -> dict[str, list[str]]:
        """{clip: the words to emit}."""

    def explain(self, ballots: Sequence[ClipBallot]) -> dict[str, dict]:
        """Why each clip got its answer: {clip: {"candidates": [...], "detail": {}}}.

        One candidate per cluster of the ballot: {"cluster", "word", "voters" (member names),
        "score" (float or None; its meaning is `score_meaning`), "kept" (the candidate's word is in
        `predict`'s answer), "detail" (judge-specific numbers or small dicts; empty here)}.
        This default scores a cluster by its number of voters; judges that weigh clusters by
        other numbers override it with the same keys.
        """
        answers = self.predict(ballots)
        explained = {}
        for ballot in ballots:
            answer = set(answers.get(ballot.clip, ()))
            candidates = []
            for cluster, by_member in ballot.votes.items():
                # A judge may emit another of the cluster's words than the ballot's most used one
                # (a view judge counts pooled votes): the cluster is kept if any of its words is.
                emitted = sorted({word for words in by_member.values() for word in words} & answer)
                candidates.append({
                    "cluster": cluster,
                    "word": emitted[0] if emitted else ballot.surface_word(cluster),
                    "voters": list(by_member),
                    "score": float(len(by_member)),
                    "kept": bool(emitted),
                    "detail": {},
                })
            explained[ballot.clip] = {"candidates": candidates, "detail": {}}
        return explained

    # ---- the knob a curve sweeps (none by default) -------------------------------------
    def threshold_grid(self, ballots: Sequence[ClipBallot]) -> list[float]:
        return []

    def get_threshold(self) -> float | None:
        return None

    def set_threshold(self, value: float) -> None:
        raise InputError(f"judge '{self.kind}' has no threshold")

    def summary(self) -> dict[str, Any]:
        return {}

    # ---- fitted state (judges that learn) ----------------------------------------------
    def save_state(self, path: str | Path) -> None:
        raise InputError(f"judge '{self.kind}' learns nothing: it has no state to save")

    def load_state(self, path: str | Path) -> "Judge":
        raise InputError(f"judge '{self.kind}' learns nothing: it takes no state file ({path})")
