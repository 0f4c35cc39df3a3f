"""Frames and audio from a clip's video, with PyAV.

PyAV is chosen because its wheels ship FFmpeg: every container and codec FFmpeg reads works
after `pip install`, with no system package, on CPU machines and GPU servers alike, and it
decodes audio as well as video (decord has no audio and no recent wheels; torchvision does
not import beside the pinned CPU torch; OpenCV has no audio). Frames are handed to model
processors as PIL images.
"""
from __future__ import annotations

import math
import wave
from pathlib import Path

import av
import numpy as np
from PIL import Image

from core.errors import InputError

AUDIO_RATE = 16000


class MediaError(InputError):
    """A clip's media cannot be read (missing, empty, corrupt, no such stream)."""


def _open(path: str | Path):
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"{path}: video not found")
    if path.stat().st_size == 0:
        raise MediaError(f"{path}: video file is empty")
    try:
        return av.open(str(path))
    except (av.FFmpegError, OSError, ValueError) as error:
        raise MediaError(f"{path}: cannot read video ({error})") from None


def _fit(image: Image.Image, max_pixels: int) -> Image.Image:
    """Scale down (keeping the aspect ratio) so that width × height ≤ max_pixels."""
    width, height = image.size
    if max_pixels and width * height > max_pixels:
        scale = math.sqrt(max_pixels / (width * height))
        image = image.resize((max(1, int(width * scale)), max(1, int(height * scale))), Image.BICUBIC)
    return image


def sample_frames(path: str | Path, num_frames: int = 8, fps: float = 0.0, max_pixels: int = 448 * 448) -> list[Image.Image]:
    """RGB frames of a video: `num_frames` at the midpoints of equal segments, or, with `fps` > 0,
    one every 1/fps seconds (at most num_frames when num_frames > 0)."""
    with _open(path) as container:
        if not container.streams.video:
            raise MediaError(f"{path}: no video stream")
        try:
            frames = [frame.to_image() for frame in container.decode(video=0)]
        except (av.FFmpegError, ValueError) as error:
            raise MediaError(f"{path}: corrupt video ({error})") from None
        stream = container.streams.video[0]
        rate = float(stream.average_rate or stream.guessed_rate or 25)
    if not frames:
        raise MediaError(f"{path}: the video has no frames")
    if fps > 0:
        step = max(rate / fps, 1.0)
        indices = [int(i * step) for i in range(int(len(frames) / step) or 1)]
        if num_frames > 0 and len(indices) > num_frames:
            indices = [indices[int((i + 0.5) * len(indices) / num_frames)] for i in range(num_frames)]
    else:
        count = max(1, num_frames)
        indices = [min(len(frames) - 1, int((i + 0.5) * len(frames) / count)) for i in range(count)]
    return [_fit(frames[i].convert("RGB"), max_pixels) for i in indices]


def extract_audio(path: str | Path, dest: str | Path) -> Path:
    """The audio track of a video as a 16 kHz mono 16-bit wav at `dest` (written atomically)."""
    dest = Path(dest)
    with _open(path) as container:
        if not container.streams.audio:
            raise MediaError(f"{path}: no audio track")
        resampler = av.AudioResampler(format="s16", layout="mono", rate=AUDIO_RATE)
        chunks = []
        try:
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
        except (av.FFmpegError, ValueError) as error:
            raise MediaError(f"{path}: corrupt audio ({error})") from None
    samples = np.concatenate(chunks).astype("<i2") if chunks else np.zeros(0, dtype="<i2")
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    with wave.open(str(part), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(AUDIO_RATE)
        out.writeframes(samples.tobytes())
    part.replace(dest)
    return dest


def write_test_video(path: str | Path, seconds: float = 1.0, fps: int = 8, size: tuple[int, int] = (64, 48),
                     audio: bool = True, seed: int = 0) -> Path:
    """A short synthetic clip (moving colour blocks, and a tone when `audio`), for tests and smoke runs."""
    rng = np.random.default_rng(seed)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    width, height = size
    with av.open(str(path), "w") as container:
        video = container.add_stream("mpeg4", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        sound = container.add_stream("aac", rate=AUDIO_RATE) if audio else None
        if sound is not None:
            sound.layout = "mono"
        base = rng.integers(0, 255, size=(height, width, 3), dtype=np.uint8)
        for index in range(int(seconds * fps)):
            image = np.roll(base, index * 3, axis=1)
            for packet in video.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        if sound is not None:
            total = int(seconds * AUDIO_RATE)
            tone = (0.3 * np.sin(2 * np.pi * (220 + 40 * seed) * np.arange(total) / AUDIO_RATE)).astype(np.float32)
            step = 1024
            for start in range(0, total, step):
                chunk = tone[start:start + step].reshape(1, -1)
                frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
                frame.sample_rate = AUDIO_RATE
                frame.pts = start
                for packet in sound.encode(frame):
                    container.mux(packet)
            for packet in sound.encode():
                container.mux(packet)
    return path
