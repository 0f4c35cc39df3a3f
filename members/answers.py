"""Emotion labels out of a model's free-text answer: the one parser of live members and the llm extractor.

Models answer in many shapes, in English and in Chinese (MER's clips are Chinese-language and
Emotion-Qwen was trained bilingual). Read, in this order of preference:
1. a label line, the last one: `Emotions: a, b` / `**Emotions:** a, b` / `Emotion state: ...` /
   `情绪：开心，惊讶` / `情感: ...` (full-width colon too), its items either on the line or as
   the bullet lines right after it (`Emotions:` then `- a`, `- b`);
2. the last bracketed list, `[a, b]` or `【a，b】`;
3. AffectGPT's trained form, "... emotional state is a, b.";
4. an answer that is only a short list (`happy, relieved` / `开心，惊讶、放松` / `Happy.`).
None of these: labels are None (an extractor may find them in the description; the llm
extractor warns). Markdown is stripped (`*relieved*`, `**bold**`, bullets, headings, back
quotes), items are split on English and Chinese separators (`,` `;` `/` `、` `，` `；`, "and",
和/与/及/以及 between two words of at least two characters each, so 平和 and 温和 stay whole),
a trailing parenthesis is dropped (`anxious (slightly)`), and items are lower-cased and
de-duplicated in order.
"""
from __future__ import annotations

import re
import unicodedata

from core.labels import normalise_label

_MARKUP = re.compile(r"[*`~]+|(?<!\w)_+|_+(?!\w)")
_BULLET = re.compile(r"^\s*(?:#{1,6}\s*|>\s*|[-+•·●▪]\s+|\d{1,2}[.)、]\s*)")
_LIST_ITEM = re.compile(r"^\s*(?:[-+*•·●▪]\s+|\d{1,2}[.)、]\s*)")  # a bullet line, before markup is stripped
_LABEL_LINE = re.compile(
    r"^\W*(?:emotions?(?:\s+(?:states?|labels?|words?))?|情绪(?:标签|状态)?|情感(?:标签|状态)?|情緒)\s*(?::\s*(.*)|$)",
    re.IGNORECASE,
)
# AffectGPT's trained answer form: "The character's emotional state is happy, relaxed."
_STATE_IS = re.compile(r"emotional states?\s+(?:is|are|includes?)\s+([^.]*)", re.IGNORECASE)
_LIST = re.compile(r"[\[【]([^\[\]【】]*)[\]】]")
_HAN = r"[\u3400-\u9fff]"
# A connector is a separator only between two words of two or more characters, and not when
# another connector follows it ("心平气和与开心" splits at 与, not at the 和 of 心平气和).
_SPLIT = re.compile(rf"[,;/|\"、。]|\band\b|(?<={_HAN}{_HAN})(?:以及|[和与及])(?!以及|[和与及])(?={_HAN}{_HAN})",
                    re.IGNORECASE)
_TRAILING_NOTE = re.compile(r"\s*\([^()]*\)\s*$")
# Words that make an item a sentence rather than a label, in the bare-list rule.
_SENTENCE = re.compile(r"\b(?:is|are|was|were|seems?|looks?|feels?|appears?|shows?)\b|是|看起来|显得", re.IGNORECASE)
_MAX_BARE_WORDS = 3
_MAX_BARE_HAN = 6


def plain(line: str) -> str:
    """A line without markdown (emphasis, back quotes, a bullet or heading marker) and with
    full-width forms folded (NFKC: '，' -> ',', '：' -> ':')."""
    text = unicodedata.normalize("NFKC", line)
    return _BULLET.sub("", _MARKUP.sub("", text)).strip()


def split_labels(text: str) -> list[str]:
    """The label items of a list written in English or Chinese, normalised and de-duplicated."""
    items = _SPLIT.split(plain(text).strip("[]().:"))
    words = (normalise_label(_TRAILING_NOTE.sub("", item).strip(" .!?'")) for item in items)
    return list(dict.fromkeys(word for word in words if word))


def _is_item(word: str) -> bool:
    if re.search(_HAN, word):
        return len(word) <= _MAX_BARE_HAN and not _SENTENCE.search(word)
    return len(word.split()) <= _MAX_BARE_WORDS and not _SENTENCE.search(word)


def _bare_list(lines: list[str]) -> list[str] | None:
    """The labels of an answer that is nothing but a short list (one line, or bullet lines);
    None for anything else."""
    if len(lines) > 1 and all(_LIST_ITEM.match(unicodedata.normalize("NFKC", line)) for line in lines):
        lines = [",".join(plain(line) for line in lines)]
    if len(lines) != 1:
        return None
    line = plain(lines[0])
    if re.search(r"[.!?。！？]\s*\S", line):  # more than one sentence
        return None
    words = split_labels(line)
    if not words or not all(_is_item(word) for word in words):
        return None
    if len(words) == 1 and len(words[0].split()) > 1:  # "she smiles": a sentence, not a label
        return None
    return words


def _label_line(lines: list[str]) -> tuple[int, list[str]] | None:
    """(index, labels) of the last label line, its items on it or in the bullet lines after it."""
    for index in range(len(lines) - 1, -1, -1):
        match = _LABEL_LINE.match(plain(lines[index]))
        if not match:
            continue
        rest = match.group(1) or ""
        if rest.strip():
            return index, split_labels(rest)
        # "Emotions:" alone on its line (or a heading "## Emotions"): the bullet lines after it,
        # else the next line when it is a short list
        following = []
        for line in lines[index + 1:]:
            if not _LIST_ITEM.match(unicodedata.normalize("NFKC", line)):
                break
            following.append(plain(line))
        if following:
            return index, split_labels(",".join(following))
        listed = _bare_list(lines[index + 1:index + 2])
        if listed is not None or match.group(1) is not None:  # "Emotions:" with nothing after: []
            return index, listed or []
    return None


def parse_answer(text: str | None) -> tuple[str, list[str] | None]:
    """(description, labels) of a model's answer; labels None when it has none of the forms
    in the module's docstring. The description is the text before the label line, or the whole
    answer."""
    whole = (text or "").strip()
    lines = [line for line in whole.splitlines() if line.strip()]
    found = _label_line(lines)
    if found is not None:
        index, labels = found
        return " ".join(lines[:index]).strip() or " ".join(lines).strip(), labels
    lists = _LIST.findall(unicodedata.normalize("NFKC", whole))
    if lists:
        return whole, split_labels(lists[-1])
    stated = _STATE_IS.findall(whole)
    if stated:
        return whole, split_labels(stated[-1])
    return whole, _bare_list(lines)
