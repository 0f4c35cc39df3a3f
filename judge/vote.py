"""k-of-n voting over synonym clusters."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from core.errors import InputError
from judge.base import Judge
from vocab.ballot import ClipBallot


@dataclass
class KOfNVote(Judge):
    """Emit every cluster named by at least k members.

    min_labels: when fewer clusters pass, the most-voted ones fill up to this floor, so a
    clip any member spoke about never gets an empty answer. max_labels: a cap (0 = none).
    """

    k: int = 3
    min_labels: int = 1
    max_labels: int = 0

    kind = "kofn"

    def validate(self) -> None:
        self._check_number("k", 1, integer=True)
        super().validate()

    def check_members(self, members: Sequence[str]) -> None:
        """k above the number of members can never be met: every clip would fall back to the floor."""
        if members and self.k > len(members):
            raise InputError(f"judge kofn: k={self.k} but only {len(members)} members vote; k must be at most {len(members)}")

    def predict(self, ballots: Sequence[ClipBallot]) -> dict[str, list[str]]:
        # No member check on the ballots given: the run checks the whole ensemble once
        # (check_members), and a chunk of clips that one or two members answered is no error.
        self.validate()
        return {ballot.clip: list(dict.fromkeys(ballot.surface_word(c) for c in self.keep(ballot))) for ballot in ballots}

    def keep(self, ballot: ClipBallot) -> list[str]:
        ranked = sorted(ballot.votes, key=lambda c: (-ballot.n_votes(c), c))
        kept = [c for c in ranked if ballot.n_votes(c) >= self.k]
        if len(kept) < self.min_labels:
            kept = ranked[: self.min_labels]
        if self.max_labels:
            kept = kept[: self.max_labels]
        return kept

    def threshold_grid(self, ballots: Sequence[ClipBallot]) -> list[float]:
        return [float(k) for k in range(1, max((len(b.members) for b in ballots), default=1) + 1)]

    def get_threshold(self) -> float:
        return float(self.k)

    def set_threshold(self, value: float) -> None:
        self.k = int(value)
