"""Test support (not a test module): a live member whose "model" is arithmetic on the media.

`Echo` stands in for model weights that cannot exist here; everything around it (frame
sampling, audio extraction, batching, the per-clip cache, errors, parsing) is the real code.
Configs name it as `type: tests.live_support:Echo`. `huge_avi` writes a hostile video (a real
1 s AVI whose headers claim 2·10⁹ seconds), for the tests and experiments/hostile_media_cost.py.
"""
from __future__ import annotations

import struct
import wave
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from members.live.base import LiveMember, Request
from testkit.media import write_test_video

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


def huge_avi(path: Path) -> Path:
    """A real 1 s AVI whose headers claim 2·10⁹ frames at 1 frame per second: 2·10⁹ seconds."""
    video = write_test_video(path.with_name("honest.avi"), seconds=1.0, fps=8, audio=False)
    data = bytearray(video.read_bytes())
    strh = data.find(b"strh") + 8  # the video stream header: ..., scale, rate, start, length
    struct.pack_into("<II", data, strh + 20, 1, 1)
    struct.pack_into("<I", data, strh + 32, 2_000_000_000)
    avih = data.find(b"avih") + 8  # the main header's total frame count
    struct.pack_into("<I", data, avih + 16, 2_000_000_000)
    path.write_bytes(bytes(data))
    with av.open(str(path)) as container:  # the claim holds as FFmpeg reads it
        stream = container.streams.video[0]
        assert float(stream.duration * stream.time_base) >= 2e9
    return path
