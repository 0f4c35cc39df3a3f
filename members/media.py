"""Frames and audio from a clip's video, with PyAV.

PyAV is chosen because its wheels ship FFmpeg: every container and codec FFmpeg reads (mp4,
avi, mkv, webm; h264, mpeg4/xvid, vp9, aac, mp3, pcm) works after `pip install`, with no system
package, on CPU machines and GPU servers alike, and it decodes audio as well as video (decord
has no audio and no recent wheels; torchvision does not import beside the pinned CPU torch;
OpenCV has no audio). Frames are handed to model processors as PIL images.

Frames are decoded as a stream: the moments to sample are chosen first from the stream's length
(its header's duration or frame count, else the container's duration, else one demuxing pass
that counts packets without decoding them), then only the frame nearest each moment is
converted and kept, and decoding stops after the last one. Memory stays at a few frames
whatever the clip's length or resolution.

A header is not trusted to be honest: choosing the moments costs time and memory in the frames
kept, never in the length the header claims (an AVI may claim 2·10⁹ seconds), and no clip keeps
more than `max_frames` (MAX_FRAMES by default) frames, whatever `num_frames` and `fps` ask.
"""
from __future__ import annotations

import logging
import math
import os
import wave
from pathlib import Path

import av
from PIL import Image

from core.errors import InputError
from core.files import part_file

log = logging.getLogger(__name__)

AUDIO_RATE = 16000
# The most frames one clip keeps (fps mode thins to it): 64 frames of 448×448 RGB are 38 MB.
MAX_FRAMES = 64

# What FFmpeg raises through PyAV for unreadable data; OSError covers permissions and I/O.
_AV_ERRORS = (av.FFmpegError, OSError, ValueError, EOFError)


class MediaError(InputError):
    """A clip's media cannot be read (missing, empty, corrupt, no such stream)."""


def _reason(error: BaseException) -> str:
    """FFmpeg's reason without the file name PyAV appends (the message names the file already)."""
    return getattr(error, "strerror", None) or str(error) or type(error).__name__


def _open(path: str | Path):
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"{path}: video not found")
    if path.stat().st_size == 0:
        raise MediaError(f"{path}: video file is empty")
    try:
        return av.open(str(path))
    except _AV_ERRORS as error:
        raise MediaError(f"{path}: cannot read video ({_reason(error)})") from None


def _fit_size(width: int, height: int, max_pixels: int) -> tuple[int, int]:
    """The largest size with the same aspect ratio and width × height ≤ max_pixels."""
    if not max_pixels or width * height <= max_pixels:
        return width, height
    scale = math.sqrt(max_pixels / (width * height))
    return max(1, int(width * scale)), max(1, int(height * scale))


def _rate(stream) -> float:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return float(rate) if rate else 25.0


def _counted_duration(path: Path, rate: float) -> float:
    """The video's length in seconds from one demuxing pass over its packets (no decoding), for
    files whose header gives neither a frame count nor a duration (raw streams)."""
    with _open(path) as container:
        stream = container.streams.video[0]
        count, first, last = 0, None, None
        try:
            for packet in container.demux(stream):
                if not packet.size:
                    continue
                count += 1
                if packet.pts is not None and packet.time_base:
                    begin = float(packet.pts * packet.time_base)
                    end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
                    first = begin if first is None else min(first, begin)
                    last = end if last is None else max(last, end)
        except _AV_ERRORS as error:
            raise MediaError(f"{path}: corrupt video ({_reason(error)})") from None
    if first is not None and last is not None and last > first:
        return last - first
    return count / rate


def _duration(path: Path, container, stream) -> float:
    """The video stream's length in seconds: from its header (duration, else frame count), else
    from the container's, else counted."""
    if stream.duration and stream.time_base:
        seconds = float(stream.duration * stream.time_base)
    elif stream.frames and stream.frames > 0:
        seconds = stream.frames / _rate(stream)
    elif container.duration and container.duration > 0:
        seconds = container.duration / av.time_base
    else:
        seconds = _counted_duration(path, _rate(stream))
    if not math.isfinite(seconds):
        raise MediaError(f"{path}: the header gives no finite length ({seconds})")
    return seconds


def sample_times(duration: float, num_frames: int = 8, fps: float = 0.0, max_frames: int = MAX_FRAMES) -> list[float]:
    """When (seconds from the start) to take frames: `num_frames` at the midpoints of equal
    segments, or, with `fps` > 0, one every 1/fps seconds, evenly thinned to num_frames when
    num_frames > 0, else to `max_frames`. Never more than max_frames times, and the work is in
    the times returned, not in the duration (which a header may inflate at will)."""
    if max_frames < 1:
        raise ValueError(f"max_frames must be ≥ 1, got {max_frames}")
    duration = max(duration, 0.0)
    keep = min(num_frames, max_frames) if num_frames > 0 else max_frames
    if fps > 0:
        count = max(1, math.ceil(duration * fps - 1e-9))  # one every 1/fps seconds, not built
        if count <= keep:
            return [i / fps for i in range(count)]
        return [int((i + 0.5) * count / keep) / fps for i in range(keep)]
    wanted = max(1, keep)
    return [(i + 0.5) * duration / wanted for i in range(wanted)]


def _decode_at(path: Path, times: list[float], max_pixels: int, pad: bool = True,
               duration: float = 0.0, threads: int = 0) -> list[Image.Image]:
    """The frames nearest to each of the ascending `times`, as RGB images.

    threads: FFmpeg's decoding threads (0: its own choice; 1 where a process per core decodes).
    Decodes in presentation order holding one frame back (the nearest may be the one before the
    target), converts only the chosen frames, and stops after the last target. Targets past the
    end get the last frame when `pad` (a clip shorter than its header says still gives every frame
    asked), else only while they fall within the last frame's display time.
    """
    chosen: list[Image.Image] = []
    with _open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        if threads:
            stream.codec_context.thread_count = threads
        rate = _rate(stream)
        start = float(stream.start_time * stream.time_base) if stream.start_time is not None and stream.time_base else 0.0
        size = None
        images: dict[int, Image.Image] = {}  # frame number -> image, when one frame serves two targets

        def take(number: int, frame) -> None:
            nonlocal size
            if number not in images:
                if size is None:
                    size = _fit_size(frame.width, frame.height, max_pixels)
                # Scaling inside FFmpeg before the RGB conversion keeps a 1080p frame cheap.
                images[number] = frame.to_image(width=size[0], height=size[1], interpolation="BICUBIC").convert("RGB")
            chosen.append(images[number])

        previous = None  # (number, frame, time)
        try:
            for number, frame in enumerate(container.decode(stream)):
                moment = frame.time - start if frame.time is not None else number / rate
                while len(chosen) < len(times) and moment >= times[len(chosen)]:
                    target = times[len(chosen)]
                    if previous is not None and target - previous[2] < moment - target:
                        take(previous[0], previous[1])
                    else:
                        take(number, frame)
                if len(chosen) == len(times):
                    break
                previous = (number, frame, moment)
        except _AV_ERRORS as error:
            raise MediaError(f"{path}: corrupt video ({_reason(error)})") from None
        if previous is None and not chosen:
            raise MediaError(f"{path}: the video has no decodable frames")
        if not chosen and not pad and times[0] >= previous[2] + 1 / rate - 1e-6:
            raise MediaError(f"{path}: no frame at the sampled times: the header gives {duration:.1f} s, "
                             f"the decodable video ends at {previous[2]:.1f} s")
        if len(chosen) < len(times) and previous is not None and times[-1] > previous[2] + 1.0:
            log.warning("%s: the decodable video ends at %.1f s though its header gives %.1f s (truncated?); "
                        "frames asked after the end repeat the last one", path, previous[2], duration)
        while len(chosen) < len(times) and previous is not None:
            if not pad and times[len(chosen)] >= previous[2] + 1 / rate - 1e-6:
                break
            take(previous[0], previous[1])
    return chosen


def sample_frames(path: str | Path, num_frames: int = 8, fps: float = 0.0, max_pixels: int = 448 * 448,
                  max_frames: int = MAX_FRAMES, threads: int = 0) -> list[Image.Image]:
    """RGB frames of a video: `num_frames` at the midpoints of equal segments, or, with `fps` > 0,
    one every 1/fps seconds (fps capped at the video's own rate; thinned to num_frames when
    num_frames > 0), never more than `max_frames`, each scaled down to at most `max_pixels`
    (0: full size), keeping the aspect ratio; `threads`: FFmpeg's decoding threads (0: its
    choice). A clip with fewer frames than num_frames repeats
    frames, so the count is always met.

    Frames are taken by time (the frame nearest each target), so variable frame rates and the
    empty slots of AVI files do not shift them. Raises MediaError naming the file when it cannot
    be read.
    """
    path = Path(path)
    with _open(path) as container:
        if not container.streams.video:
            raise MediaError(f"{path}: no video stream")
        stream = container.streams.video[0]
        duration = _duration(path, container, stream)
        if fps > 0:
            fps = min(fps, _rate(stream))  # never more than every frame once
    times = sample_times(duration, num_frames, fps, max_frames)
    return _decode_at(path, times, max_pixels, pad=fps <= 0, duration=duration, threads=threads)


def _audio_frames(container, path: Path):
    """The audio track resampled to 16 kHz mono s16, as int16 arrays."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=AUDIO_RATE)
    try:
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                yield out.to_ndarray().reshape(-1).astype("<i2", copy=False)
        for out in resampler.resample(None):
            yield out.to_ndarray().reshape(-1).astype("<i2", copy=False)
    except _AV_ERRORS as error:
        raise MediaError(f"{path}: corrupt audio ({_reason(error)})") from None


def extract_audio(path: str | Path, dest: str | Path) -> Path:
    """The audio track of a video (or of an audio file) as a 16 kHz mono 16-bit wav at `dest`,
    written as it is decoded and renamed into place when complete. Raises MediaError naming the
    file when it has no audio track or the track cannot be decoded."""
    path, dest = Path(path), Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    # A part file of its own: two clips of the same video (one wav) may be extracted at once.
    descriptor, part = part_file(dest)
    part = Path(part)
    samples = 0
    try:
        with os.fdopen(descriptor, "wb") as handle, _open(path) as container:
            if not container.streams.audio:
                raise MediaError(f"{path}: no audio track")
            with wave.open(handle, "wb") as out:
                out.setnchannels(1)
                out.setsampwidth(2)
                out.setframerate(AUDIO_RATE)
                for chunk in _audio_frames(container, path):
                    samples += chunk.size
                    out.writeframes(chunk.tobytes())
        if samples == 0:
            raise MediaError(f"{path}: the audio track has no samples")
        part.replace(dest)
    finally:
        part.unlink(missing_ok=True)
    return dest
