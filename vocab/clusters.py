"""Vocabulary v0: synonym clusters read off the official lexicon alone."""
from __future__ import annotations

from dataclasses import dataclass, field

from core.labels import normalise_label
from vocab.base import Vocabulary
from vocab.lexicon import Lexicon, load_lexicon


@dataclass
class LexiconVocabulary(Vocabulary):
    """Cluster = the word's M2 representative (its wheel-word synonym); unknown words stay themselves."""

    lexicon: str = ""
    lexicon_: Lexicon | None = field(default=None, init=False, repr=False)

    path_params = {"lexicon": "folder"}

    def fit(self, words=()) -> "LexiconVocabulary":
        self.lexicon_ = load_lexicon(self.lexicon)
        return self

    def cluster(self, word: str) -> str:
        word = normalise_label(word)
        return self.lexicon_.map_m2(word) or word
