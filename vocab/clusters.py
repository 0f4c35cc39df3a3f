"""Vocabulary v0: synonym clusters read off the official lexicon alone (and a Chinese word's
English glosses, vocab.bilingual, for words in Chinese)."""
from __future__ import annotations

from dataclasses import dataclass, field

from core.labels import normalise_label
from vocab.base import Vocabulary
from vocab.bilingual import to_lexicon
from vocab.lexicon import Lexicon, load_lexicon
from vocab.normalize import is_foreign


@dataclass
class LexiconVocabulary(Vocabulary):
    """Cluster = the word's M2 representative (its wheel-word synonym); a Chinese word's is the one
    of the lexicon word its glosses reach (vocab.bilingual); unknown words stay themselves."""

    lexicon: str = ""
    lexicon_: Lexicon | None = field(default=None, init=False, repr=False)
    translated_: dict[str, str] = field(default_factory=dict, init=False, repr=False)

    path_params = {"lexicon": "folder"}

    def fit(self, words=()) -> "LexiconVocabulary":
        self.lexicon_ = load_lexicon(self.lexicon)
        self.translated_ = {}
        return self

    def _known(self, form: str) -> str | None:
        return form if self.lexicon_.map_m2(form) else None

    def _english(self, word: str) -> str:
        if word not in self.translated_:
            found = to_lexicon(word, self._known, self.lexicon_) if is_foreign(word) else None
            self.translated_[word] = found or word
        return self.translated_[word]

    def cluster(self, word: str) -> str:
        word = normalise_label(word)
        found = self.lexicon_.map_m2(word)
        if found is None and is_foreign(word):
            english = self._english(word)
            found = self.lexicon_.map_m2(english) if english != word else None
        return found or word

    def surface(self, word: str) -> str:
        word = normalise_label(word)
        return self._english(word) if is_foreign(word) and self.lexicon_.map_m2(word) is None else word
