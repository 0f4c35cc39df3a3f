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

