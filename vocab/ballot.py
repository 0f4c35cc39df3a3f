"""Ballots: what every member said about one clip, grouped by the vocabulary's synonym clusters.

The pipeline builds one ballot per clip; judges read them."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from core.labels import normalise_label
from vocab.base import Vocabulary


@dataclass
class ClipBallot:
    """votes[cluster][member] = the surface words that member used for that cluster."""

    clip: str
    members: list[str]
    votes: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    # How many labels each answering member gave, and where (0 = first) each member first
    # named each cluster: a member's first words and short answers are its surest.
    n_labels: dict[str, int] = field(default_factory=dict)
    positions: dict[str, dict[str, int]] = field(default_factory=dict)

    def n_votes(self, cluster: str) -> int:
        return len(self.votes[cluster])

    def surface_word(self, cluster: str) -> str:
        """The word the members used most for a cluster (ties: alphabetical).

        The EW metric maps an emitted word again through all its forms, so the members'
        own word scores better than a canonical cluster name, which may map elsewhere.
        """
        counts = Counter(word for words in self.votes[cluster].values() for word in set(words))
        return min(counts, key=lambda word: (-counts[word], word))

    def is_empty(self) -> bool:
        return not self.votes

    def without(self, dropped: Sequence[str]) -> "ClipBallot":
        """The same ballot as if the `dropped` members had never answered."""
        dropped = set(dropped)
        ballot = ClipBallot(clip=self.clip, members=[m for m in self.members if m not in dropped])
        for cluster, by_member in self.votes.items():
            kept = {m: words for m, words in by_member.items() if m not in dropped}
            if kept:
                ballot.votes[cluster] = kept
                ballot.positions[cluster] = {m: p for m, p in self.positions.get(cluster, {}).items() if m not in dropped}
        ballot.n_labels = {m: n for m, n in self.n_labels.items() if m not in dropped}
        return ballot


def make_ballot(clip: str, answers: Mapping[str, Sequence[str]], vocabulary: Vocabulary) -> ClipBallot:
    """The ballot of one clip from {member: labels}, in member order; members absent don't vote."""
    ballot = ClipBallot(clip=clip, members=list(answers))
    for member, labels in answers.items():
        ballot.n_labels[member] = 0
        for label in labels:
            word = normalise_label(label)
            if not word:
                continue
            cluster = vocabulary.cluster(word)
            if not cluster:  # punctuation-only and similar: nothing to vote on
                continue
            ballot.votes.setdefault(cluster, {}).setdefault(member, []).append(word)
            ballot.positions.setdefault(cluster, {}).setdefault(member, ballot.n_labels[member])
            ballot.n_labels[member] += 1
    return ballot
