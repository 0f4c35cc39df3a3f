"""The rule extractor: the emotion words a description concludes the person feels.

Descriptions of all 10 baselines reason first and conclude last ("In conclusion, ... the
emotional state of the character is disappointment or frustration."); AffectGPT answers with
the conclusion alone. The `addsub` descriptions first describe the video, then
quote the subtitle and reason over both. The extractor takes the last `n_focus` (default 2)
concluding sentences that name an emotion, searching the part after the subtitle first, drops
negated words ("shows no signs of anger", "not entirely happy"), and falls back to sentences
that state a feeling, then to any sentence, only when no conclusion names one. Sentences about
the scene or other people seldom conclude, so their words rarely reach the answer.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import lru_cache

from core.errors import InputError
from members.extract.base import Extractor
from members.extract.candidates import GENERIC_FORMS, Candidate, FormIndex, Mention, find_candidates, form_index
from members.extract.text import cjk_fraction, clean, sentences
from vocab.lexicon import load_lexicon

log = logging.getLogger(__name__)

# Above this share of CJK characters a description is not English: the English lexicon finds
# nothing meaningful in it, so the result is [] (logged once per extractor).
CJK_LIMIT = 0.3


@lru_cache(maxsize=8192)
def _parse(text: str, index: FormIndex) -> list[Candidate]:
    """Parsing dominates extraction time; experiments try many settings on the same texts.

    Callers must not mutate the returned candidates.
    """
    return find_candidates(sentences(text), index)


@dataclass
class RuleExtractor(Extractor):
    """Deterministic extraction from lexicon forms.

    lexicon: the lexicon folder whose forms are searched.
    focus: 'conclusion' (last concluding sentence naming an emotion), or 'all' (every sentence).
    keep_hedged: keep words under "possibly", "may", "likely" (the models hedge their answers).
    keep_examples: keep words listed after "such as" / "like" / "including".
    keep_generic: keep "positive" and "negative" (the wheels map "positive" to happy).
    n_focus: at most how many focus sentences (from the last) give words.
    merged_first: look for the focus in the part after the subtitle is quoted first.
    resolve_negation: drop negated mentions (off only to measure a naive scan).
    max_chars: longer descriptions are cut to their last max_chars characters (conclusions come last).
    """

    lexicon: str = ""
    focus: str = "conclusion"
    keep_hedged: bool = True
    keep_examples: bool = True
    keep_generic: bool = True
    n_focus: int = 2
    merged_first: bool = True
    resolve_negation: bool = True
    max_chars: int = 20000
    index_: FormIndex | None = field(default=None, init=False, repr=False)

    path_params = {"lexicon": "folder"}
    warned_cjk_: bool = field(default=False, init=False, repr=False)

    def _index(self) -> FormIndex:
        if self.index_ is None:
            self.index_ = form_index(frozenset(load_lexicon(self.lexicon).format_mapping))
        return self.index_

    def candidates(self, description: str | None) -> list[Candidate]:
        """The lexicon candidates of a cleaned description ([] for empty or non-English text)."""
        text = clean(description)
        if len(text) > self.max_chars:
            text = text[-self.max_chars :]
        if not text.strip():
            return []
        if cjk_fraction(text) > CJK_LIMIT:
            if not self.warned_cjk_:
                log.warning("descriptions in Chinese (or other CJK text) give no English emotion words: extracted as []")
                self.warned_cjk_ = True
            return []
        return _parse(text, self._index())

    def usable(self, mention: Mention) -> bool:
        if mention.negated and self.resolve_negation:
            return False
        if mention.example and not self.keep_examples:
            return False
        if mention.hedged and not self.keep_hedged:
            return False
        return True

    def extract(self, description: str | None, member: str | None = None) -> list[str]:
        found = self.candidates(description)
        usable = {c.word: [m for m in c.mentions if self.usable(m)] for c in found}
        if self.focus == "all":
            words = [w for w, ms in usable.items() if ms]
        elif self.focus == "conclusion":
            words = self.focus_words(usable)
        else:
            raise InputError(f"RuleExtractor: focus must be 'conclusion' or 'all', got {self.focus!r}")
        if self.keep_generic:
            return words
        return [w for w in words if w not in GENERIC_FORMS]

    def focus_ranks(self, usable: dict[str, list[Mention]]) -> dict[int, int]:
        """{sentence: rank} of the focus sentences, 0 = the last one.

        Focus sentences are those that conclude and name a usable emotion; when none does,
        those that state a feeling; when none does, any sentence naming one. With merged_first,
        the part of the text after the subtitle is brought in is searched first.
        """
        first_mention: dict[int, Mention] = {}
        for word, mentions in usable.items():
            if word in GENERIC_FORMS and not self.keep_generic:
                continue
            for mention in mentions:
                first_mention.setdefault(mention.sentence, mention)
        tests = (lambda m: m.conclusion, lambda m: m.states, lambda m: True)
        parts = (lambda m: m.merged, lambda m: True) if self.merged_first else (lambda m: True,)
        for part in parts:
            for test in tests:
                chosen = sorted((s for s, m in first_mention.items() if part(m) and test(m)), reverse=True)
                if chosen:
                    return {sentence: rank for rank, sentence in enumerate(chosen)}
        return {}

    def focus_words(self, usable: dict[str, list[Mention]]) -> list[str]:
        """Words of the last n_focus focus sentences, in text order."""
        focus = [sentence for sentence, rank in self.focus_ranks(usable).items() if rank < self.n_focus]
        return self._words(usable, focus)

    @staticmethod
    def _words(usable: dict[str, list[Mention]], focus: list[int]) -> list[str]:
        """The usable words of the focus sentences, in text order."""
        order = sorted(((m.sentence, i), w) for i, (w, ms) in enumerate(usable.items()) for m in ms if m.sentence in focus)
        return list(dict.fromkeys(w for _, w in order))
