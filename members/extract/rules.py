"""The rule extractor: the emotion words a description concludes the person feels.

Descriptions of all 10 baselines reason first and conclude last ("In conclusion, ... the
emotional state of the character is disappointment or frustration."); AffectGPT answers with
the conclusion alone. The extractor takes the last concluding sentence that names an emotion
of the person, drops negated words ("shows no signs of anger", "not entirely happy") and
words offered as examples ("negative emotions such as anger"), and falls back to earlier
sentences only when the conclusion names nothing.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from members.extract.base import Extractor
from members.extract.candidates import GENERIC_FORMS, Candidate, FormIndex, Mention, find_candidates, form_index
from members.extract.text import cjk_fraction, clean, sentences

log = logging.getLogger(__name__)

# Above this share of CJK characters a description is not English: the English lexicon finds
# nothing meaningful in it, so the result is [] (logged once per extractor).
CJK_LIMIT = 0.3


@dataclass
class RuleExtractor(Extractor):
    """Deterministic extraction from lexicon forms.

    lexicon: the lexicon folder whose forms are searched.
    focus: 'conclusion' (last concluding sentence naming an emotion), or 'all' (every sentence).
    keep_hedged: keep words under "possibly", "may", "likely" (the models hedge their answers).
    keep_examples: keep words listed after "such as" / "like" / "including".
    keep_generic: keep "positive" and "negative" (the wheels map "positive" to happy).
    n_focus: how many concluding sentences (from the last) give words.
    max_chars: longer descriptions are cut to their last max_chars characters (conclusions come last).
    """

    lexicon: str = ""
    focus: str = "conclusion"
    keep_hedged: bool = True
    keep_examples: bool = True
    keep_generic: bool = True
    n_focus: int = 2
    max_chars: int = 20000
    index_: FormIndex | None = field(default=None, init=False, repr=False)
    warned_cjk_: bool = field(default=False, init=False, repr=False)

    def _index(self) -> FormIndex:
        if self.index_ is None:
            from vocab.lexicon import load_lexicon

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
        return find_candidates(sentences(text), self._index())

    def usable(self, mention: Mention) -> bool:
        if mention.negated:
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
        else:
            words = self._focus_words(usable)
        if self.keep_generic:
            return words
        return [w for w in words if w not in GENERIC_FORMS]

    def focus_ranks(self, usable: dict[str, list[Mention]]) -> dict[int, int]:
        """{sentence: rank} of the focus sentences, 0 = the last one.

        Focus sentences are those that conclude and name a usable emotion; when none does,
        those that state a feeling; when none does, any sentence naming one.
        """
        first_mention: dict[int, Mention] = {}
        for word, mentions in usable.items():
            if word in GENERIC_FORMS and not self.keep_generic:
                continue
            for mention in mentions:
                first_mention.setdefault(mention.sentence, mention)
        for test in (lambda m: m.conclusion, lambda m: m.states, lambda m: True):
            chosen = sorted((s for s, m in first_mention.items() if test(m)), reverse=True)
            if chosen:
                return {sentence: rank for rank, sentence in enumerate(chosen)}
        return {}

    def _focus_words(self, usable: dict[str, list[Mention]]) -> list[str]:
        ranks = self.focus_ranks(usable)
        focus = sorted(s for s, rank in ranks.items() if rank < self.n_focus)
        words = []
        for sentence in focus:
            words += [w for w, mentions in usable.items() for m in mentions if m.sentence == sentence]
        return list(dict.fromkeys(words))
