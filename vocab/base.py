"""The vocabulary interface: map candidate words to synonym clusters.

A vocabulary is fitted (scikit-learn style) on the words it will see, then maps each
word to a cluster id. Words a vocabulary cannot place stay their own cluster.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Iterable

from core.params import Params
from core.uses import DeclaresPaths


class Vocabulary(Params, DeclaresPaths, ABC):
    """fit(words) -> self; cluster(word) -> cluster id (a deterministic string)."""

    def fit(self, words: Iterable[str]) -> "Vocabulary":
        return self

    @abstractmethod
    def cluster(self, word: str) -> str:
        """The cluster id of one (already lower-cased) word."""

    def surface(self, word: str) -> str:
        """The word a submission writes for `word`: the word itself, or, for a word the
        vocabulary translated into the lexicon (a Chinese word, vocab.bilingual), the lexicon
        form it reached, which the metrics map (they would drop the Chinese word)."""
        return word
