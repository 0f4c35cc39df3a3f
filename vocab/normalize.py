"""Word normalisation: one candidate word or phrase -> the key form the clustering works on.

Steps, in order (each keeps the first form that a configured lexicon knows, since the
lexicon's own forms are what the EW metric maps):
1. clean: Unicode NFKC, accents dropped, lower case, hyphens/underscores/slashes to spaces,
   punctuation dropped (apostrophes inside words kept), whitespace collapsed;
2. classify: empty (nothing left, e.g. punctuation only), foreign (letters outside the
   Latin alphabet, e.g. Chinese), long (over `max_chars`): these keep their cleaned text,
   except a Chinese word whose English glosses reach the lexicon (vocab.bilingual: 开心 ->
   happy), which is 'translated' to that lexicon form;
3. phrases: hedges and frames are dropped from the front ("a bit anxious" -> "anxious",
   "sense of relief" -> "relief", "feeling of helplessness" -> "helplessness"); negations
   are kept: a negated word becomes its WordNet antonym when the lexicon knows it
   ("not happy" -> "unhappy"), otherwise a 'negated' phrase that is never attached by
   similarity (an embedding puts "not angry" next to "angry");
4. inflection: WordNet morphy, adjective first ("worried" stays, "worries" -> "worry");
5. derivation: when the form is not in the lexicon, a WordNet pertainym or derivationally
   related form that is ("angrily" -> "angry", "joyfulness" -> "joyful").
"""
from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field

from vocab.bilingual import to_lexicon

log = logging.getLogger(__name__)

MAX_CHARS = 64

# Dropped from the front of a phrase: degree words, hedges and frames around the emotion word.
HEDGES = frozenset(
    """a an the some bit little slight slightly very somewhat quite rather extremely highly deeply
    mildly really so too more most fairly pretty kind sort of feeling feelings feel feels felt
    sense state being be is are was seems seem seemingly appears overly utterly truly incredibly
    particularly moderately relatively completely totally generally mostly mainly strongly possibly
    perhaps maybe apparently mild great deep strong certain degree level hint touch trace tinge
    showing shows show expressing expresses expression displaying sign signs of with in""".split()
)
NEGATIONS = frozenset("not no never without non un".split())
WORDNET_POS = ("a", "s", "n", "v", "r")

_PUNCT = re.compile(r"[^\w\s']|_")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Normalized:
    """kind: 'word', 'phrase', 'translated', 'negated', 'empty', 'foreign' or 'long'; key: the form
    to cluster on (for 'translated', the lexicon form a non-English word reached)."""

    text: str
    key: str
    kind: str


def clean(word: str) -> str:
    text = unicodedata.normalize("NFKC", str(word or "")).lower()
    # Drop accents ("café" -> "cafe") but keep other scripts intact.
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    text = re.sub(r"[-‐‑–—/_]", " ", text)
    text = _PUNCT.sub(" ", text)
    text = " ".join(token.strip("'") for token in text.split())
    return _SPACES.sub(" ", text).strip()


def is_foreign(text: str) -> bool:
    """True when the text has letters outside ASCII (after accents were dropped)."""
    return any(ch.isalpha() and not ch.isascii() for ch in text)


@dataclass
class Normalizer:
    """normalize(word) -> Normalized. lexicon: a vocab.lexicon.Lexicon or None; wordnet: a reader or None."""

    lexicon: object = None
    wordnet: object = None
    max_chars: int = MAX_CHARS
    _memo: dict = field(default_factory=dict, init=False, repr=False)
    _foreign_seen: int = field(default=0, init=False, repr=False)
    _by_clean: dict | None = field(default=None, init=False, repr=False)

    def lexicon_form(self, text: str) -> str | None:
        """The lexicon form written `text`, also when it differs only by cleaning ("double crossed")."""
        if self.lexicon is None:
            return None
        if text in self.lexicon.format_mapping:
            return text
        if self._by_clean is None:
            self._by_clean = {}
            for form in sorted(self.lexicon.format_mapping):
                self._by_clean.setdefault(clean(form), form)
        return self._by_clean.get(text)

    def known(self, form: str) -> bool:
        return self.lexicon_form(form) is not None

    def in_wordnet(self, form: str) -> bool:
        return self.wordnet is not None and bool(self.wordnet.synsets(form.replace(" ", "_")))

    def normalize(self, word: str) -> Normalized:
        if word not in self._memo:
            self._memo[word] = self._normalize(word)
        return self._memo[word]

    def _normalize(self, word: str) -> Normalized:
        raw = " ".join(str(word or "").lower().split())
        form = self.lexicon_form(raw)
        if form:
            return Normalized(raw, form, "word" if " " not in form else "phrase")
        text = clean(word)
        if not text:
            return Normalized(text, "", "empty")
        if is_foreign(text):
            form = self.translate(text)
            if form:
                return Normalized(text, form, "translated")
            if not self._foreign_seen:
                log.info("non-English label %r (and any later ones) kept as its own cluster", text)
            self._foreign_seen += 1
            return Normalized(text, text, "foreign")
        if len(text) > self.max_chars:
            return Normalized(text, text, "long")
        form = self.lexicon_form(text)
        if form:
            return Normalized(text, form, "word" if " " not in form else "phrase")
        key = self.head(text)
        form = self.lexicon_form(key)
        if form:
            return Normalized(text, form, "word" if " " not in form else "phrase")
        tokens = key.split()
        if len(tokens) > 1 and tokens[0] in NEGATIONS:
            antonym = self.antonym(self.head(" ".join(tokens[1:]))) if self.lexicon is not None else None
            if antonym:
                return Normalized(text, antonym, "word" if " " not in antonym else "phrase")
            return Normalized(text, key, "negated")
        if " " in key:
            return Normalized(text, key, "phrase")
        return Normalized(text, self.base_form(key), "word")

    def translate(self, text: str) -> str | None:
        """The lexicon form a Chinese word's English glosses reach, normalised as English words
        are (hedges, inflection, derivation); None without a lexicon or when none reaches it."""
        if self.lexicon is None:
            return None
        return to_lexicon(text, self._english_lexicon_form, self.lexicon)

    def _english_lexicon_form(self, english: str) -> str | None:
        normal = self.normalize(english)
        return self.lexicon_form(normal.key) if normal.kind in ("word", "phrase") else None

    def antonym(self, word: str) -> str | None:
        """The first WordNet antonym of the word (lemma) that the lexicon knows, else None."""
        if self.wordnet is None or " " in word:
            return None
        lemma = self.base_form(word)
        for synset in self.wordnet.synsets(lemma):
            for candidate in synset.lemmas():
                if candidate.name().lower() != lemma:
                    continue
                for opposite in candidate.antonyms():
                    form = self.lexicon_form(opposite.name().lower().replace("_", " "))
                    if form:
                        return form
        return None

    def head(self, text: str) -> str:
        """Drop hedges and frames from the front of a phrase, unless the phrase itself is known."""
        tokens = text.split()
        while len(tokens) > 1 and tokens[0] in HEDGES and tokens[0] not in NEGATIONS:
            if self.known(" ".join(tokens)) or self.in_wordnet(" ".join(tokens)):
                break
            tokens = tokens[1:]
        return " ".join(tokens)

    def base_form(self, word: str) -> str:
        """Lexicon form first; else WordNet lemma, then a derived form the lexicon knows."""
        if self.known(word):
            return self.lexicon_form(word)
        if self.wordnet is None:
            return word
        lemma = word
        for pos in WORDNET_POS:
            found = self.wordnet.morphy(word, pos)
            if found:
                lemma = found
                break
        if self.lexicon is None:
            return lemma
        if self.known(lemma):
            return self.lexicon_form(lemma)
        for related in self.related_forms(lemma):
            if self.known(related):
                return self.lexicon_form(related)
        return lemma

    def related_forms(self, word: str) -> list[str]:
        """Pertainyms and derivationally related forms of the word's own lemmas, sorted."""
        forms = set()
        for synset in self.wordnet.synsets(word):
            for lemma in synset.lemmas():
                if lemma.name().lower() != word:
                    continue
                for other in lemma.pertainyms() + lemma.derivationally_related_forms():
                    forms.add(other.name().lower().replace("_", " "))
        forms.discard(word)
        return sorted(forms)
