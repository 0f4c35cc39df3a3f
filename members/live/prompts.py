"""Prompts of live members; their answers are read by members.answers.parse_answer.

The open-vocabulary prompt asks for a short description of the clues and, on a last line,
the emotion words, so one answer gives both a description and labels. The two-stage
prompts (docs/findings: the subtitle can mislead a video model) first describe the clip
without the subtitle, then let a text model merge that description with the subtitle.
"""
from __future__ import annotations

from members.answers import parse_answer

__all__ = ["DESCRIBE_ONLY", "MERGE", "OPEN_VOCABULARY", "fill", "parse_answer"]

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


def fill(template: str, subtitle: str | None = None, audio: bool = False, description: str = "") -> str:
    """A prompt template with the clip's subtitle (a line of its own, left out when there is none)."""
    subtitle = (subtitle or "").strip()
    return template.format(
        subtitle_line=SUBTITLE_LINE.format(subtitle=subtitle) if subtitle else "",
        subtitle=subtitle or "(none)",
        audio_clause=", voice" if audio else "",
        description=description.strip(),
    )
