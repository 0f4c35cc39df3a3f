"""Cleaning and splitting member descriptions: markup out, sentences and word tokens in.

Descriptions are English prose from multimodal LLMs; some users' models add HTML or
markdown, some answer in Chinese, some run to tens of kilobytes. Everything here is
plain string work so that extraction stays fast and deterministic.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass

# Curly apostrophes and dashes are folded so that "don’t" and "don't" match the same form.
_FOLD = str.maketrans({"\u2019": "'", "\u2018": "'", "\u2013": "-", "\u2014": " - ", "\u00a0": " "})
_TAG = re.compile(r"<[^>]{0,200}>")
_MARKDOWN = re.compile(r"(\*\*|__|`+|^#+\s*|^\s*[-*+]\s+|\[|\]\([^)]*\))", re.MULTILINE)
# A sentence ends at . ! ? ; or a line break, followed by space or the end. Abbreviations are
# rare in these descriptions; a spurious split only shortens a sentence.
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")
# Commas are kept as tokens: they end the reach of a negation ("not sad, but happy").
_TOKEN = re.compile(r"[a-z]+(?:['-][a-z]+)*|,")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def clean(text: str | None) -> str:
    """Plain text: HTML tags and entities, markdown emphasis/headers/links removed, quotes folded."""
    if not text:
        return ""
    text = html.unescape(_TAG.sub(" ", str(text)))
    text = _MARKDOWN.sub(" ", text)
    return text.translate(_FOLD)


def tokenize(text: str) -> tuple[str, ...]:
    """Lower-cased word tokens of a short text (a lexicon form), quotes folded, commas dropped."""
    return tuple(t for t in _TOKEN.findall(text.translate(_FOLD).lower()) if t != ",")


def cjk_fraction(text: str) -> float:
    """Share of CJK characters among the non-space characters (0 for empty text)."""
    letters = [c for c in text if not c.isspace()]
    if not letters:
        return 0.0
    return sum(1 for c in letters if _CJK.match(c)) / len(letters)


@dataclass(frozen=True)
class Sentence:
    """One sentence: its lower-cased text and its tokens (words and commas)."""

    index: int
    text: str
    tokens: tuple[str, ...]


def sentences(text: str) -> list[Sentence]:
    """Split cleaned text into sentences of lower-cased word tokens (empty sentences dropped)."""
    result = []
    for part in _SENTENCE_END.split(text.lower()):
        tokens = tuple(_TOKEN.findall(part))
        if tokens:
            result.append(Sentence(index=len(result), text=part.strip(), tokens=tokens))
    return result
