"""The member interface: a clip goes in, a description and/or emotion labels come out.

Cached members read outputs a model produced earlier; live members (Emotion-Qwen,
InternVL, AffectGPT, an OpenAI-compatible server) implement the same `predict`.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable


@dataclass(frozen=True)
class Clip:
    """One clip to judge. Live members read the media; cached members only need the name."""

    name: str
    video: Path | None = None
    audio: Path | None = None
    subtitle: str | None = None


@dataclass
class MemberOutput:
    """What a member says about one clip: candidate labels, a free-text description, or both."""

    labels: list[str] | None = None
    description: str | None = None


@dataclass
class Member(ABC):
    """A model (or a model's cached outputs) that names emotions in clips.

    `name` identifies the member in configs and reports; it must be unique in an ensemble.
    """

    name: str

    def clip_names(self) -> list[str] | None:
        """The clips this member can answer without media (cached outputs), else None."""
        return None

    @abstractmethod
    def predict(self, clips: Iterable[Clip]) -> dict[str, MemberOutput]:
        """Outputs for the given clips; a clip the member cannot answer is left out."""
