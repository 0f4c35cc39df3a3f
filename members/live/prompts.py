"""Prompts of live members and the parser of their answers.

The open-vocabulary prompt asks for a short description of the clues and, on a last line,
the emotion words, so one answer gives both a description and labels. The two-stage
prompts (docs/findings: the subtitle can mislead a video model) first describe the clip
without the subtitle, then let a text model merge that description with the subtitle.
"""
from __future__ import annotations

import re

from core.labels import normalise_label

OPEN_VOCABULARY = (
    "{subtitle_line}As an expert in the field of emotions, look at the person's facial expressions, "
    "body movements and surroundings{audio_clause} in this video clip. Describe the clues to the "
    "person's emotional state in a few sentences. Then, on a last line, write 'Emotions:' followed by "
    "every emotion the person shows, as a comma-separated list of words."
)
SUBTITLE_LINE = "Subtitle of this clip: {subtitle}\n"

DESCRIBE_ONLY = (
    "As an expert in the field of emotions, look at the person's facial expressions, body movements "
    "and surroundings{audio_clause} in this video clip, and describe the clues to the person's "
    "emotional state in a few sentences."
)
MERGE = (
    "A video model described a person in a clip, without knowing what was said:\n{description}\n\n"
    "The subtitle of the clip is: {subtitle}\n\n"
    "As an expert in the field of emotions, combine both into the person's emotional state. "
    "Describe it in one or two sentences. Then, on a last line, write 'Emotions:' followed by every "
    "emotion the person shows, as a comma-separated list of words."
)

_LABEL_LINE = re.compile(r"^\W*emotions?(?:\s+state)?\W*?[:：][\s*_]*(.*)$", re.IGNORECASE)
# AffectGPT's trained answer form: "The character's emotional state is happy, relaxed."
_STATE_IS = re.compile(r"emotional states?\s+(?:is|are|includes?)\s+([^.]*)", re.IGNORECASE)
_LIST = re.compile(r"\[([^\[\]]*)\]")
_SPLIT = re.compile(r"[,;/'\"]|\band\b")


def fill(template: str, subtitle: str | None = None, audio: bool = False, description: str = "") -> str:
    """A prompt template with the clip's subtitle (a line of its own, left out when there is none)."""
    subtitle = (subtitle or "").strip()
    return template.format(
        subtitle_line=SUBTITLE_LINE.format(subtitle=subtitle) if subtitle else "",
        subtitle=subtitle or "(none)",
        audio_clause=", voice" if audio else "",
        description=description.strip(),
    )


def _words(text: str) -> list[str]:
    words = (normalise_label(item) for item in _SPLIT.split(text.strip().strip("[]().")))
    return list(dict.fromkeys(word for word in words if word))


def parse_answer(text: str) -> tuple[str, list[str] | None]:
    """(description, labels) of a model's answer.

    Labels come from the last 'Emotions: a, b' line, else from the last bracketed list, else from
    "... emotional state is a, b."; when the answer has none of these, labels are None (an extractor can find them in the description).
    """
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    for index in range(len(lines) - 1, -1, -1):
        match = _LABEL_LINE.match(lines[index].strip())
        if match:
            description = " ".join(lines[:index]).strip()
            return description or " ".join(lines).strip(), _words(match.group(1))
    lists = _LIST.findall(text or "")
    if lists:
        return (text or "").strip(), _words(lists[-1])
    stated = _STATE_IS.findall(text or "")
    if stated:
        return (text or "").strip(), _words(stated[-1])
    return (text or "").strip(), None
