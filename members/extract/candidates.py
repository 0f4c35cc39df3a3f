"""Candidate emotion words in a description, each with the facts an extractor decides on.

A candidate is a lexicon form found in the text (longest match first, so "at ease" wins over
"ease"). Every mention records where it stands (which sentence, how far from the end,
whether that sentence states a conclusion), whether it is negated or hedged, whether it is
an example in a list ("emotions such as joy") and whether the sentence is about the scene
or other people rather than the person. The rule extractor and the learned extractor both
read these facts; neither looks at the text again.

The word lists below were written from reading the descriptions of the 10 baselines and
AffectGPT (their frequent non-emotional lexicon forms and their phrasing), not from gold.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from members.extract.text import Sentence, tokenize

# Lexicon forms that in these descriptions almost always carry no emotion of the person:
# "subtitle content", "facial expressions", "emotional state", "the person", "it is clear".
NON_EMOTION_FORMS = frozenset(
    """
    emotional emotions emotion emotionally facial person persons information determine determined seen
    face faces observations observation related including include includes speaking speak important see
    thought thoughts supporting support supports supported certain going go facing clear clearly associated
    expert strong personal speech distance question questions closed help open lack lacking slight slightly
    current living analyze analyzing use leave quickly significant thank challenges challenge here private
    attention familiar sense senses reflection reflecting considering consider thinking intense intensity
    state face-to-face care caring deep deeply high low mean meaning lost loss right wrong kind sound
    sure certainly bright dark heavy light alone sharp cold warm hot direct short long member members
    focus focusing soft loud believe believes believed believing observed observe observing used use uses using
    left leaves available playing play plays driving create creates creating dare participating participate
    influenced influence impression ground consider considered consideration true bit reacting colors color
    colored colorful present questions connection receiving receive covering covers might include knowledge
    evaluation reveal reveals observation noticed means faces completely test aware expect lacks involve involves
    involving dead member rely fixed fix attending manifestation setbacks remote worth agreement concentrated
    danger forcefully pushed live lives directed recognize moving effectively moved move gentleman lowered lowers
    lowering goes engage sun discern subordinates trusts break refused complete helps reflects reflected fulfill
    faced accept inform experts depending useful participate mistakes power represent released effect
    insights values value analyzed unusual achievements opposes responding sauce responsibilities presentation
    spending crucial closing pressing focuses opens achieve obligation touch less mind forget forgot forgetting
    miss missing separation safely illness injury
    """.split()
)
# Forms that are emotions in general but name the valence, not an emotion: kept as a separate
# feature because a model's conclusion often says "negative emotions such as anger".
GENERIC_FORMS = frozenset("positive negative neutral complex mixed".split())

_NEGATORS = frozenset("no not never without nor neither none nothing lacks lacking absent hardly barely cannot".split())
_NEGATING_PAIRS = frozenset(
    [("rather", "than"), ("instead", "of"), ("free", "from"), ("free", "of"), ("absence", "of"), ("lack", "of")]
)
_NEGATION_WINDOW = 5
_COPULAS = frozenset("is are was were feels feel seems seem appears appear looks look".split())
_HEDGES = frozenset("possibly maybe perhaps might may could likely probably potentially seem seems seemingly".split())
_EXAMPLE_CUES = (("such", "as"), ("like",), ("e", "g"), ("including",), ("ranging", "from"), ("from",))
_CLAUSE_BREAKS = frozenset("but however although though while whereas yet".split())
_OTHER_SUBJECT = frozenset(
    "environment scene atmosphere background music room setting lighting weather audience others "
    "crowd viewer viewers listener listeners everyone surroundings colors colour color".split()
)
_CONCLUSION = re.compile(
    r"\b(in conclusion|in summary|to summari[sz]e|to sum up|overall|therefore|thus|"
    r"can be inferred|it can be (?:seen|concluded|deduced)|taking (?:all|these|into account)|"
    r"i predict|predict that|my (?:final )?(?:answer|conclusion))\b"
)
_STATE = re.compile(r"\b(emotional state|emotions? (?:is|are|of|include)|feel(?:s|ing)?|experienc(?:e|es|ing))\b")
_SUBTITLE = re.compile(r"\b(subtitles?|in the text)\b")
# "subtitle content", "the content": content as a noun, not "contented".
_CONTENT_NOUN_BEFORE = frozenset("subtitle subtitles text video audio the this its speech dialogue conversation".split())


@dataclass
class Mention:
    sentence: int
    from_end: int
    conclusion: bool
    states: bool
    negated: bool
    hedged: bool
    example: bool
    other_subject: bool
    merged: bool


@dataclass
class Candidate:
    """One lexicon form found in a description, with all of its mentions in order."""

    word: str
    mentions: list[Mention] = field(default_factory=list)

    @property
    def first(self) -> int:
        return self.mentions[0].sentence


@dataclass(frozen=True, eq=False)
class FormIndex:
    """Lexicon forms keyed by their folded token tuples; `longest` bounds the n-gram search."""

    forms: dict[tuple[str, ...], str]
    longest: int


@lru_cache(maxsize=8)
def form_index(forms: frozenset[str]) -> FormIndex:
    """Index lexicon forms by tokens ('don’t care' -> ('don't', 'care')), keeping the lexicon key."""
    index: dict[tuple[str, ...], str] = {}
    for form in sorted(forms):
        tokens = tokenize(form)
        if tokens:
            index.setdefault(tokens, form)
    return FormIndex(index, max(len(t) for t in index) if index else 1)


def _negated(tokens: tuple[str, ...], start: int) -> bool:
    """A negator within a few tokens before the word, with no comma or clause break between.

    "shows no signs of anger", "not entirely happy", "rather than angry" are negated;
    "not sad, but happy" negates only "sad".
    """
    for offset in range(1, _NEGATION_WINDOW + 1):
        position = start - offset
        if position < 0:
            return False
        token = tokens[position]
        if token == "," or token in _CLAUSE_BREAKS:
            return False
        if token in _COPULAS and position > 0 and tokens[position - 1] in ("and", "or"):
            return False  # "doesn't care and is bored": a new predicate starts
        if token in _NEGATORS or token.endswith("n't"):
            return not (token == "not" and tokens[position + 1 : position + 2] == ("only",))
        if tokens[position : position + 2] in _NEGATING_PAIRS:
            return True
    return False


def _before(tokens: tuple[str, ...], start: int, width: int) -> tuple[str, ...]:
    return tokens[max(0, start - width) : start]


def _example(tokens: tuple[str, ...], start: int) -> bool:
    """The word sits in a list introduced by 'such as', 'like', 'including' within the last 10 tokens."""
    window = _before(tokens, start, 10)
    for cue in _EXAMPLE_CUES:
        for i in range(len(window) - len(cue) + 1):
            if window[i : i + len(cue)] == cue:
                return True
    return False


def merged_part_start(sentences: list[Sentence]) -> int:
    """Index of the first sentence that brings in the subtitle (0 when none does).

    The baselines' `addsub` descriptions first describe the video alone, then quote the subtitle
    and reason over both; the answer the text settles on is in that second, merged part.
    """
    for sentence in sentences:
        if _SUBTITLE.search(sentence.text):
            return sentence.index
    return 0


def find_candidates(sentences: list[Sentence], index: FormIndex) -> list[Candidate]:
    """Every lexicon form in the sentences (longest match first), in order of first mention."""
    by_word: dict[str, Candidate] = {}
    last = len(sentences) - 1
    merged_from = merged_part_start(sentences)
    for sentence in sentences:
        tokens = sentence.tokens
        conclusion = bool(_CONCLUSION.search(sentence.text))
        states = bool(_STATE.search(sentence.text))
        other = any(token in _OTHER_SUBJECT for token in tokens)
        position = 0
        while position < len(tokens):
            match = None
            for length in range(min(index.longest, len(tokens) - position), 0, -1):
                form = index.forms.get(tokens[position : position + length])
                if form is not None:
                    match = (form, length)
                    break
            if match is None:
                position += 1
                continue
            form, length = match
            if form not in NON_EMOTION_FORMS and not (
                form == "content" and set(_before(tokens, position, 2)) & _CONTENT_NOUN_BEFORE
            ):
                mention = Mention(
                    sentence=sentence.index,
                    from_end=last - sentence.index,
                    conclusion=conclusion,
                    states=states,
                    negated=_negated(tokens, position),
                    hedged=bool(set(_before(tokens, position, 6)) & _HEDGES),
                    example=_example(tokens, position),
                    other_subject=other,
                    merged=sentence.index >= merged_from,
                )
                by_word.setdefault(form, Candidate(form)).mentions.append(mention)
            position += length
    return list(by_word.values())
