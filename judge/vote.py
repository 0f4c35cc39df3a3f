"""k-of-n voting over synonym clusters."""
from __future__ import annotations

from dataclasses import dataclass

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

    def keep(self, ballot: ClipBallot) -> list[str]:
        ranked = sorted(ballot.votes, key=lambda c: (-ballot.n_votes(c), c))
        kept = [c for c in ranked if ballot.n_votes(c) >= self.k]
        if len(kept) < self.min_labels:
            kept = ranked[: self.min_labels]
        if self.max_labels:
            kept = kept[: self.max_labels]
        return kept
