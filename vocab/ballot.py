"""Ballots: what every member said about one clip, grouped by the vocabulary's synonym clusters.

The pipeline builds one ballot per clip; judges read them."""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import chain
from typing import Mapping, Sequence

from core.labels import normalise_label
from vocab.base import Vocabulary


@dataclass(slots=True)
class ClipBallot:
    """votes[cluster][member] = the surface words that member used for that cluster.

    Read-only once built. A run holds one ballot per clip (200,000 at challenge scale), so
    what judges read less often is stored flat: `counts` (labels per member, in `members`
    order) and `firsts` (each member's first position per cluster, in the order of `votes`'
    (cluster, member) pairs); `n_labels` and `positions` rebuild the dictionaries on each call.
    """

    clip: str
    members: list[str]
    votes: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    counts: tuple[int, ...] = ()
    firsts: tuple[int, ...] = ()

    # How many labels each answering member gave, and where (0 = first) each member first
    # named each cluster: a member's first words and short answers are its surest.
    @property
    def n_labels(self) -> dict[str, int]:
        """{member: how many labels it gave}, members in order."""
        return dict(zip(self.members, self.counts))

    @property
    def positions(self) -> dict[str, dict[str, int]]:
        """positions[cluster][member]: where (0 = first) the member first named the cluster."""
        first = iter(self.firsts)
        return {cluster: {member: next(first, 0) for member in by_member} for cluster, by_member in self.votes.items()}

    def n_votes(self, cluster: str) -> int:
        return len(self.votes[cluster])

    def surface_word(self, cluster: str) -> str:
        """The word the members used most for a cluster (ties: alphabetical).

        The EW metric maps an emitted word again through all its forms, so the members'
        own word scores better than a canonical cluster name, which may map elsewhere.
        """
        by_member = self.votes[cluster]
        if len(by_member) == 1:  # the most common case: one member, often one word
            (words,) = by_member.values()
            if len(words) == 1:
                return words[0]
        counts: dict[str, int] = {}
        for words in by_member.values():
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
        votes, firsts = {}, []
        position = iter(self.firsts)
        for cluster, by_member in self.votes.items():
            kept = {}
            for member, words in by_member.items():
                first = next(position, 0)
                if member not in dropped:
                    kept[member] = words
                    firsts.append(first)
            if kept:
                votes[cluster] = kept
        kept_members = [(m, n) for m, n in zip(self.members, self.counts) if m not in dropped]
        return ClipBallot(clip=self.clip, members=[m for m, _ in kept_members], votes=votes,
                          counts=tuple(n for _, n in kept_members), firsts=tuple(firsts))


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
        """(the word to emit, cluster id) of one raw label: the normalised label, or its lexicon
        form when the vocabulary translated it (Vocabulary.surface); ('', '') when there is
        nothing to vote on."""
        found = self._memo.get(label)
        if found is None:
            word = normalise_label(label)
            cluster = self.vocabulary.cluster(word) if word else ""
            found = (self.vocabulary.surface(word), cluster) if cluster else ("", "")
            self._memo[label] = found
        return found

    def __call__(self, clip: str, answers: Mapping[str, Sequence[str]]) -> ClipBallot:
        """The ballot of one clip from {member: labels}, in member order; members absent don't vote."""
        votes: dict[str, dict[str, list[str]]] = {}
        positions: dict[str, list[int]] = {}  # per cluster, in the order of votes[cluster]'s members
        counts = []
        lookup = self._memo.get
        for member, labels in answers.items():
            count = 0
            for label in labels:
                word, cluster = lookup(label) or self.word_cluster(label)
                if not cluster:  # empty or punctuation-only: nothing to vote on
                    continue
                by_member = votes.get(cluster)
                if by_member is None:
                    votes[cluster] = {member: [word]}
                    positions[cluster] = [count]
                elif member in by_member:
                    by_member[member].append(word)
                else:
                    by_member[member] = [word]
                    positions[cluster].append(count)
                count += 1
            counts.append(count)
        firsts = tuple(chain.from_iterable(positions.values()))
        return ClipBallot(clip=clip, members=list(answers), votes=votes, counts=tuple(counts), firsts=firsts)


def make_ballot(clip: str, answers: Mapping[str, Sequence[str]], vocabulary: Vocabulary) -> ClipBallot:
    """The ballot of one clip from {member: labels}, in member order; members absent don't vote.

    For many clips, build one BallotMaker and call it per clip (labels are then mapped once)."""
    return BallotMaker(vocabulary)(clip, answers)
