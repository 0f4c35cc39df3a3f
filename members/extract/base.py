"""The extractor interface: a description goes in, the person's emotion words come out.

Extractors follow scikit-learn conventions: parameters are dataclass fields (they round-trip
through get_params), `fit` returns self, anything learned lives in attributes ending in '_'.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Mapping, Sequence

from core.params import Params
from core.progress import progress
from core.uses import DeclaresPaths


class Extractor(Params, DeclaresPaths, ABC):
    """extract(description, member) -> surface emotion words, in the order the text gives them."""

    def fit(
        self,
        descriptions: Mapping[str, Mapping[str, str]] | None = None,
        gold: Mapping[str, Sequence[str]] | None = None,
    ) -> "Extractor":
        """descriptions: {member: {clip: text}}; rule and LLM extractors learn nothing."""
        return self

    @abstractmethod
    def extract(self, description: str | None, member: str | None = None) -> list[str]:
        """The emotion words of one description; [] when it names none (or is empty)."""

    def extract_many(self, descriptions: Mapping[str, str | None], member: str | None = None) -> dict[str, list[str]]:
        """{clip: words} for {clip: description}; subclasses may run these concurrently."""
        return {clip: self.extract(text, member) for clip, text in progress(descriptions.items(), "extract", total=len(descriptions))}

