"""Decoded frames for live members: decoded in a pool of processes, each (clip content, sampling)
once, and shared between the members that sample alike.

Decoding and scaling frames is CPU work that holds the GIL in part (the RGB conversion, PIL), so
threads of one process stop scaling at about one core; a pool of processes takes every core the
machine gives this process (os.process_cpu_count, else the scheduler's affinity). FFmpeg's own
threads are off in the workers: with one process per core they only add switching.

Frames are keyed by the content digest of the video (members.live.cache.file_digest, memoised
per run) and the sampling parameters, so two members asking for the same frames of the same clip
(say 8 frames at 448 px) decode it once: the second waits for the first's decoding, or takes the
frames kept from it. Kept frames are bounded in bytes (`max_bytes`, least recently used go
first); a set larger than the bound is handed out but not kept.
"""
from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import threading
from collections import OrderedDict
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from members.live.cache import file_digest
from members.media import MAX_FRAMES, MediaError, sample_frames

log = logging.getLogger(__name__)

# Decoded frames kept for other members, in bytes of RGB pixels: 64 MB is ~20 clips of 8 frames
# at 448×448, enough for members that run side by side over the same clips.
DEFAULT_MAX_BYTES = 64 << 20


def machine_cores() -> int:
    """The cores this process may run on (its affinity, where the platform tells it)."""
    counted = getattr(os, "process_cpu_count", None)  # Python 3.13+
    if counted is not None:
        return counted() or 1
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Sampling:
    """Which frames of a clip, at what size (members.media.sample_frames' parameters)."""

    num_frames: int = 8
    fps: float = 0.0
    max_pixels: int = 448 * 448
    max_frames: int = MAX_FRAMES


def _decode(path: str, sampling: Sampling, threads: int) -> list:
    """One clip's frames, in a worker (or, without workers, in the calling thread)."""
    return sample_frames(path, sampling.num_frames, sampling.fps, sampling.max_pixels, sampling.max_frames, threads=threads)


def _size(frames: list) -> int:
    return sum(frame.width * frame.height * len(frame.getbands()) for frame in frames)


class FramePool:
    """Decodes clips' frames in `workers` processes (0: in the calling thread), each (content,
    sampling) once, keeping up to `max_bytes` of decoded frames for members that sample alike.

    `frames` may be called from many threads at once (a member's prepare threads, several
    members); it blocks until that clip's frames are decoded.
    """

    def __init__(self, workers: int | None = None, max_bytes: int = DEFAULT_MAX_BYTES):
        self.workers = machine_cores() if workers is None else workers
        if self.workers < 0:
            raise ValueError(f"decode workers must be ≥ 0 (0: decode in the calling thread), got {workers}")
        self.max_bytes = max_bytes
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._kept: OrderedDict[tuple, list] = OrderedDict()
        self._kept_bytes = 0
        self._pending: dict[tuple, Future] = {}
        self.decoded = 0  # clips decoded (not taken from the kept frames): for benchmarks and tests
        self.shared = 0  # clips handed out without decoding them again

    # ---- the workers --------------------------------------------------------------------------
    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                # spawn: the parent runs threads (HTTP clients, other decoders), which fork would copy mid-flight.
                self._executor = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
            return self._executor

    def _restart(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is broken:
                self._executor = None
        broken.shutdown(wait=False, cancel_futures=True)

    def _run(self, path: str, sampling: Sampling) -> list:
        if self.workers == 0:
            return _decode(path, sampling, 0)
        for attempt in (1, 2):
            pool = self._pool()
            try:
                return pool.submit(_decode, path, sampling, 1).result()
            except BrokenProcessPool:
                # A worker died (killed, out of memory, a crash in FFmpeg): every clip it had in
                # flight is retried once in a new pool, then fails alone.
                self._restart(pool)
                if attempt == 2:
                    raise MediaError(f"{path}: the decoding process died twice on this clip") from None
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Stop the workers and drop the kept frames (a later call starts new workers)."""
        with self._lock:
            executor, self._executor = self._executor, None
            self._kept.clear()
            self._kept_bytes = 0
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    # ---- frames -------------------------------------------------------------------------------
    def frames(self, path: str | Path, sampling: Sampling) -> list:
        """The frames of a video (PIL images, shared: do not draw on them); MediaError when it
        cannot be read."""
        path = str(path)
        content = file_digest(path)
        if content is None:
            raise MediaError(f"{path}: video not found or not a regular file")
        key = (content, sampling)
        with self._lock:
            frames = self._kept.get(key)
            if frames is not None:
                self._kept.move_to_end(key)
                self.shared += 1
                return list(frames)
            pending = self._pending.get(key)
            owner = pending is None
            if owner:
                pending = self._pending[key] = Future()
        if not owner:  # another member decodes these very frames now
            frames = pending.result()
            with self._lock:
                self.shared += 1
            return list(frames)
        try:
            frames = self._run(path, sampling)
        except BaseException as error:
            with self._lock:
                self._pending.pop(key, None)
            pending.set_exception(error)
            raise
        with self._lock:  # kept before the pending entry goes: no request in between decodes it again
            self.decoded += 1
            self._keep(key, frames)
            self._pending.pop(key, None)
        pending.set_result(frames)
        return list(frames)

    def _keep(self, key: tuple, frames: list) -> None:
        size = _size(frames)
        if size > self.max_bytes:
            return
        self._kept[key] = frames
        self._kept_bytes += size
        while self._kept_bytes > self.max_bytes:
            _, dropped = self._kept.popitem(last=False)
            self._kept_bytes -= _size(dropped)


_pools: dict[tuple[int | None, int], FramePool] = {}
_pools_lock = threading.Lock()


def shared_pool(workers: int | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> FramePool:
    """The process's frame pool of that size: members that ask for the same size share its
    workers and its kept frames. Its workers stop when the process exits."""
    with _pools_lock:
        pool = _pools.get((workers, max_bytes))
        if pool is None:
            pool = _pools[(workers, max_bytes)] = FramePool(workers, max_bytes)
        return pool


@atexit.register
def _close_pools() -> None:
    for pool in list(_pools.values()):
        pool.close()
