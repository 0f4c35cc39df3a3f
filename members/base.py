"""The member interface: clips go in, a description and/or emotion labels per clip come out.

Cached members read outputs a model produced earlier; live members (members.live) run a model
on the clip's media. Both answer `predict` with one MemberOutput per clip they could answer.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Sequence

from core.uses import DeclaresPaths, PathUse


@dataclass(frozen=True)
class Clip:
    """One clip to judge. Live members read the media; cached members only need the name."""

    name: str
    video: Path | None = None
    audio: Path | None = None
    subtitle: str | None = None

    def paths(self) -> list[PathUse]:
        """Its media files, which a run reads."""
        media = (("video", self.video), ("audio", self.audio))
        return [PathUse(str(path), f"clip {self.name}: {kind}") for kind, path in media if path is not None]


@dataclass(slots=True)  # millions of these at the challenge scale
class MemberOutput:
    """What a member says about one clip: candidate labels, a free-text description, or both.

    `error` is set (and labels/description left empty) when the member failed on this clip;
    `elapsed` is the seconds a live member spent on it (its share of a batch).
    """

    labels: list[str] | None = None
    description: str | None = None
    elapsed: float | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(kw_only=True)
class Member(DeclaresPaths, ABC):
    """A model (or a model's cached outputs) that names emotions in clips.

    Parameters are keyword-only dataclass fields, so a subclass may add required ones.
    `name` identifies the member in configs and reports; it must be unique in an ensemble.
    `batch_size` is how many clips a live member hands its model at once.
    `paths()` lists the files and folders it reads or writes (core.uses).

    Lifecycle: `setup()` loads weights once, `predict()` may be called any number of times,
    `close()` frees what setup took, so GPU members can run one after another on one card.
    """

    name: str
    batch_size: int = 1

    # True when predict() calls setup() itself, only if some clip needs the model (a live member
    # whose clips are all in its cache then never loads its weights); the pipeline then skips it.
    setup_on_demand: ClassVar[bool] = False

    def setup(self) -> None:
        """Load what predict needs (weights, a worker process, a connection). Default: nothing."""

    def close(self) -> None:
        """Free what setup loaded. Default: nothing."""

    def clip_names(self) -> list[str] | None:
        """The clips this member can answer without media (cached outputs), else None."""
        return None

    @abstractmethod
    def predict(self, clips: Sequence[Clip]) -> dict[str, MemberOutput]:
        """Outputs for the given clips. A clip the member does not cover is left out; a clip it
        tried and failed on is present with `error` set."""
