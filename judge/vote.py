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

    def __post_init__(self) -> None:
        # Checked here, not at predict time: a bad `judge.k=...` must fail before anything is read.
        for name, lowest in (("k", 1), ("min_labels", 0), ("max_labels", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < lowest:
                raise ValueError(f"{name} must be an integer >= {lowest}, got {value!r}")

    def check_members(self, n_members: int) -> None:
        """k above the number of members can never be met: every clip would fall back to the floor."""
        if n_members and self.k > n_members:
            raise InputError(f"judge kofn: k={self.k} but only {n_members} members vote; k must be at most {n_members}")

    def keep(self, ballot: ClipBallot) -> list[str]:
        ranked = sorted(ballot.votes, key=lambda c: (-ballot.n_votes(c), c))
        kept = [c for c in ranked if ballot.n_votes(c) >= self.k]
        if len(kept) < self.min_labels:
            kept = ranked[: self.min_labels]
        if self.max_labels:
            kept = kept[: self.max_labels]
        return kept
