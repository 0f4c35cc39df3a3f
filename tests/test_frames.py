"""members.live.frames: frames decoded in worker processes, each (content, sampling) once, shared
between members that sample alike, with the kept frames bounded in bytes. Real videos, real
processes."""
from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from members.base import Clip
from members.live.frames import FramePool, Sampling, machine_cores, shared_pool
from members.media import MediaError, sample_frames
from testkit.media import write_test_video
from tests.live_support import Echo


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("frames")
    return [write_test_video(folder / f"v{k}.mp4", seconds=1.0, seed=k) for k in range(3)]


def pixels(frames):
    return [frame.tobytes() for frame in frames]


def test_workers_decode_what_the_calling_thread_decodes(videos):
    pool = FramePool(workers=2)
    try:
        sampling = Sampling(num_frames=3, max_pixels=32 * 24)
        for video in videos:
            assert pixels(pool.frames(video, sampling)) == pixels(sample_frames(video, 3, max_pixels=32 * 24))
        assert pool.decoded == 3 and pool.shared == 0
    finally:
        pool.close()


def test_the_same_content_and_sampling_is_decoded_once(videos, tmp_path):
    """A copy of a video under another name is the same content: taken from the kept frames.
    Another sampling is decoded again."""
    pool = FramePool(workers=1)
    try:
        copy = tmp_path / "copy.mp4"
        copy.write_bytes(videos[0].read_bytes())
        first = pool.frames(videos[0], Sampling(num_frames=2))
        again = pool.frames(copy, Sampling(num_frames=2))
        assert pixels(first) == pixels(again) and (pool.decoded, pool.shared) == (1, 1)
        assert len(pool.frames(videos[0], Sampling(num_frames=4))) == 4 and pool.decoded == 2
    finally:
        pool.close()


def test_threads_asking_at_once_share_one_decoding(videos):
    pool = FramePool(workers=1)
    try:
        barrier, results = threading.Barrier(4), []

        def ask():
            barrier.wait()
            results.append(pixels(pool.frames(videos[1], Sampling(num_frames=2))))

        threads = [threading.Thread(target=ask) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(results) == 4 and all(r == results[0] for r in results)
        assert pool.decoded == 1 and pool.shared == 3
    finally:
        pool.close()


def test_kept_frames_stay_under_the_byte_bound(videos):
    """64×48 RGB frames are 9,216 bytes: a bound of 3 frames keeps one clip of 2 frames at a time;
    a clip bigger than the bound is handed out, never kept."""
    pool = FramePool(workers=0, max_bytes=3 * 64 * 48 * 3)
    sampling = Sampling(num_frames=2, max_pixels=0)
    for video in videos:
        pool.frames(video, sampling)
    assert len(pool._kept) == 1 and pool._kept_bytes <= pool.max_bytes
    pool.frames(videos[2], sampling)  # the latest: kept
    pool.frames(videos[0], sampling)  # dropped already: decoded again
    assert (pool.decoded, pool.shared) == (4, 1)
    assert len(pool.frames(videos[0], Sampling(num_frames=4, max_pixels=0))) == 4 and len(pool._kept) == 1


def test_a_bad_video_is_a_media_error_naming_it_and_the_pool_goes_on(videos, tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video" * 100)
    pool = FramePool(workers=1)
    try:
        with pytest.raises(MediaError, match="bad.mp4"):
            pool.frames(bad, Sampling())
        with pytest.raises(MediaError, match="missing.mp4: video not found"):
            pool.frames(tmp_path / "missing.mp4", Sampling())
        assert len(pool.frames(videos[0], Sampling(num_frames=2))) == 2
    finally:
        pool.close()


def test_pool_size_comes_from_the_machine_and_is_settable():
    assert FramePool().workers == machine_cores() >= 1
    assert FramePool(workers=3).workers == 3
    with pytest.raises(ValueError, match="decode workers must be ≥ 0"):
        FramePool(workers=-1)
    assert shared_pool(2) is shared_pool(2) and shared_pool(2) is not shared_pool(1)


def test_members_that_sample_alike_decode_each_clip_once(videos):
    """Two live members with the same sampling over the same clips: the second takes every clip's
    frames from the pool the first filled (Echo answers without a model: tests/live_support)."""
    pool = shared_pool(1)
    pool.close()
    before = pool.decoded
    clips = [Clip(f"c{k}", video=video) for k, video in enumerate(videos)]
    for name in ("a", "b"):
        member = Echo(name=name, num_frames=3, progress=False, batch_size=3, decode_workers=1)
        assert all(out.ok for out in member.predict(clips).values())
    assert pool.decoded - before == 3
    with pytest.raises(ValueError, match="decode_workers must be ≥ 0"):
        Echo(name="x", decode_workers=-2)


def test_a_killed_worker_is_replaced_and_the_clip_decoded(videos):
    """A decoding process that dies (killed here; out of memory or a crash in FFmpeg alike) breaks
    the pool: the clip is retried once in a new pool."""
    pool = FramePool(workers=1)
    try:
        assert len(pool.frames(videos[0], Sampling(num_frames=2))) == 2
        for pid in list(pool._executor._processes):
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
        assert pixels(pool.frames(videos[1], Sampling(num_frames=2))) == pixels(sample_frames(videos[1], 2))
    finally:
        pool.close()
