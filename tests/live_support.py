"""Test support (not a test module): a live member whose "model" is arithmetic on the media.

`Echo` stands in for model weights that cannot exist here; everything around it (frame
sampling, audio extraction, batching, the per-clip cache, errors, parsing) is the real code.
Configs name it as `type: tests.live_support:Echo`.
"""
from __future__ import annotations

import wave
from dataclasses import dataclass, field

import numpy as np

from members.live.base import LiveMember, Request

# Every clip any Echo instance answered, in this process (tests clear it).
ANSWERED: list[str] = []


@dataclass(kw_only=True)
class Echo(LiveMember):
    """'happy' when the first frame is bright, else 'sad', plus 'calm'; fails on clip `fail_on`.
    A batch holding clip 'batchkiller' fails as a whole (like running out of memory)."""

    fail_on: str = "boom"
    describe_only: bool = False  # answer with a description and no 'Emotions:' line
    calls: list = field(default_factory=list, init=False, repr=False)
    setups: int = field(default=0, init=False, repr=False)

    def setup(self) -> None:
        self.setups += 1

    def answer(self, requests: list[Request]) -> list[str | BaseException]:
        self.calls.append([r.clip.name for r in requests])
        ANSWERED.extend(r.clip.name for r in requests)
        if any(r.clip.name == "batchkiller" for r in requests) and len(requests) > 1:
            raise MemoryError("out of memory")
        answers: list[str | BaseException] = []
        for request in requests:
            if request.clip.name == self.fail_on:
                answers.append(RuntimeError("model failed"))
                continue
            mean = float(np.asarray(request.frames[0]).mean()) if request.frames else 0.0
            seconds = 0.0
            if request.audio:
                with wave.open(request.audio) as wav:
                    seconds = wav.getnframes() / wav.getframerate()
            word = "happy" if mean > 127 else "sad"
            if self.describe_only:
                answers.append(f"In the video the person looks {word}.")
            else:
                answers.append(f"{len(request.frames)} frames, {seconds:.1f} s of audio.\nEmotions: {word}, Calm")
        return answers
