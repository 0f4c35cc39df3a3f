"""The judge interface: decide which clusters of a ballot to emit, scikit-learn style."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Mapping, Sequence

from core.params import Params
from core.uses import DeclaresPaths
from vocab.ballot import ClipBallot


class Judge(Params, DeclaresPaths, ABC):
    """fit(ballots, gold) -> self; predict(ballots) -> {clip: [surface words]}.

    Parameters are plain dataclass fields (they round-trip through get_params);
    anything learned from gold lives in attributes ending in '_'.
    """

    # What `explain`'s candidate `score` means, for people reading an explain file or page.
    # A judge that overrides `explain` with another score says here what it is.
    score_meaning = "number of members that named the cluster (the default explanation's score)"

    def fit(self, ballots: Sequence[ClipBallot], gold: Mapping[str, Sequence[str]] | None = None) -> "Judge":
        return self

    def check_members(self, n_members: int) -> None:
        """Refuse parameters that cannot work with `n_members` members (InputError). Default: none.

        Ballots carry only the members that answered each clip, so a caller that knows the
        run's member count (the pipeline) should call this with it before predicting."""

    @abstractmethod
    def keep(self, ballot: ClipBallot) -> list[str]:
        """The clusters to emit for one clip, best first."""

    def predict(self, ballots: Sequence[ClipBallot]) -> dict[str, list[str]]:
        predictions = {}
        for ballot in ballots:
            words = [ballot.surface_word(cluster) for cluster in self.keep(ballot)]
            predictions[ballot.clip] = list(dict.fromkeys(words))
        return predictions


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
