"""Short synthetic video clips (moving colour blocks, a tone on the audio track), for tests,
benchmarks and the smoke config. Encoded with PyAV, like the clips members/media.py decodes."""
from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from members.media import AUDIO_RATE


def _tone(samples: int, seed: int) -> np.ndarray:
    return (0.3 * np.sin(2 * np.pi * (220 + 40 * seed) * np.arange(samples) / AUDIO_RATE)).astype(np.float32)


def _audio_frame(chunk: np.ndarray, fmt: str, pts: int) -> av.AudioFrame:
    """A mono audio frame of float samples in [-1, 1], in the sample format an encoder takes."""
    if fmt.startswith("s16"):
        data = (chunk * 32767).astype(np.int16)
    elif fmt.startswith("s32"):
        data = (chunk * 2147483647).astype(np.int32)
    else:
        data = chunk.astype(np.float32)
    frame = av.AudioFrame.from_ndarray(data.reshape(1, -1), format=fmt, layout="mono")
    frame.sample_rate = AUDIO_RATE
    frame.pts = pts
    return frame


# Default codecs per container: what FFmpeg's own muxers accept and the PyAV wheel encodes.
_AUDIO_CODECS = {".avi": "mp3", ".mkv": "aac", ".mp4": "aac", ".mov": "aac", ".webm": "libopus"}


def write_test_video(path: str | Path, seconds: float = 1.0, fps: int = 8, size: tuple[int, int] = (64, 48),
                     audio: bool = True, seed: int = 0, codec: str = "mpeg4", audio_codec: str | None = None) -> Path:
    """A short synthetic clip (moving colour blocks, and a tone when `audio`), for tests and smoke runs.

    The container follows the suffix (.mp4, .avi, .mkv, ...); `codec` is the video encoder
    (mpeg4 works in all of them; libx264 and libvpx also ship in the wheel) and `audio_codec`
    the audio one (default: aac, or mp3 in .avi).
    """
    rng = np.random.default_rng(seed)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    width, height = size
    with av.open(str(path), "w") as container:
        video = container.add_stream(codec, rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        sound = None
        if audio:
            sound = container.add_stream(audio_codec or _AUDIO_CODECS.get(path.suffix.lower(), "aac"), rate=AUDIO_RATE)
            sound.layout = "mono"
        base = rng.integers(0, 255, size=(height, width, 3), dtype=np.uint8)
        for index in range(int(seconds * fps)):
            image = np.roll(base, index * 3, axis=1)
            for packet in video.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        if sound is not None:
            tone = _tone(int(seconds * AUDIO_RATE), seed)
            step = sound.codec_context.frame_size or 1024
            fmt = sound.codec_context.format.name
            for start in range(0, tone.size, step):
                for packet in sound.encode(_audio_frame(tone[start:start + step], fmt, start)):
                    container.mux(packet)
            for packet in sound.encode():
                container.mux(packet)
    return path
