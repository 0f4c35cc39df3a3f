"""Ballots: what every member said about one clip, grouped by the vocabulary's synonym clusters.

The pipeline builds one ballot per clip; judges read them."""
from __future__ import annotations

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
        counts: dict[str, int] = {}
        for words in self.votes[cluster].values():
            for word in set(words) if len(words) > 1 else words:
                counts[word] = counts.get(word, 0) + 1
        if len(counts) == 1:
            return next(iter(counts))
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


class BallotMaker:
    """Builds ballots with one fitted vocabulary, normalising and clustering each distinct label once.

    A challenge run names a few hundred distinct words some millions of times; every
    occurrence of a label maps the same way, so the mapping is looked up, not recomputed.
    Equal words share one string object across all ballots (less memory at scale).
    """

    def __init__(self, vocabulary: Vocabulary):
        self.vocabulary = vocabulary
        self._memo: dict[str, tuple[str, str]] = {}

    def word_cluster(self, label: str) -> tuple[str, str]:
        """(normalised word, cluster id) of one raw label; ('', '') when there is nothing to vote on."""
        found = self._memo.get(label)
        if found is None:
            word = normalise_label(label)
            cluster = self.vocabulary.cluster(word) if word else ""
            found = (word, cluster) if cluster else ("", "")
            self._memo[label] = found
        return found

    def __call__(self, clip: str, answers: Mapping[str, Sequence[str]]) -> ClipBallot:
        """The ballot of one clip from {member: labels}, in member order; members absent don't vote."""
        ballot = ClipBallot(clip=clip, members=list(answers))
        votes, positions, n_labels = ballot.votes, ballot.positions, ballot.n_labels
        lookup = self._memo.get
        for member, labels in answers.items():
            count = 0
            for label in labels:
                found = lookup(label) or self.word_cluster(label)
                word, cluster = found
                if not cluster:  # empty or punctuation-only: nothing to vote on
                    continue
                by_member = votes.get(cluster)
                if by_member is None:
                    votes[cluster] = {member: [word]}
                    positions[cluster] = {member: count}
                elif member in by_member:
                    by_member[member].append(word)
                else:
                    by_member[member] = [word]
                    positions[cluster][member] = count
                count += 1
            n_labels[member] = count
        return ballot


def make_ballot(clip: str, answers: Mapping[str, Sequence[str]], vocabulary: Vocabulary) -> ClipBallot:
    """The ballot of one clip from {member: labels}, in member order; members absent don't vote.

    For many clips, build one BallotMaker and call it per clip (labels are then mapped once)."""
    return BallotMaker(vocabulary)(clip, answers)
