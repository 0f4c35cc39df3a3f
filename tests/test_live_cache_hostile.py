"""Hostile input and faults for the live members' caches and media (issue 17, items 3, 4, 7, 8).

Real small videos (members.media.write_test_video and PyAV), the Echo member
(tests/live_support.py: a real LiveMember whose "model" is arithmetic on the media, standing
in for model weights), real cache files tampered on disk. Tests run as root, where permissions
are ignored: a read-only cache folder and a full disk are simulated by making the write raise
OSError(EROFS) / OSError(ENOSPC); a file as cache root and a folder or FIFO as cache file are real.
"""
from __future__ import annotations

import contextlib
import csv
import errno
import json
import logging
import os
import resource
import signal
import wave
from pathlib import Path

import av
import numpy as np
import pytest
from omegaconf import OmegaConf

from core.labels import MAX_LABELS, read_label_csv
from ensemble.cli import main as cli
from members.base import Clip, MemberOutput
from members.live import frames as live_frames
from members.live import cache as live_cache
from members.live.cache import WARN_RECORDS, ClipCache
from members.media import MAX_FRAMES, MediaError, extract_audio, sample_frames, sample_times
from testkit.media import write_test_video
from members.readers import read_label_sets
from tests.live_support import Echo, huge_avi
from tests.support import DATA, baseline_file

CACHED = baseline_file("Video-ChatGPT")


def flat_video(path: Path, level: int, frames: int = 8) -> Path:
    """A clip whose every frame is uniformly grey at `level` (Echo says 'happy' above 127)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=8)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for _ in range(frames):
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), level, dtype=np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def same_size(*paths: Path) -> None:
    """Pad the files with trailing zero bytes (which FFmpeg ignores) to one byte size."""
    size = max(path.stat().st_size for path in paths)
    for path in paths:
        with open(path, "ab") as handle:
            handle.write(b"\0" * (size - path.stat().st_size))


@contextlib.contextmanager
def memory_cap(extra: int = 2 << 30):
    """Cap this process's address space at its current size plus `extra` bytes, so that code
    building a list of 2·10⁹ items fails with MemoryError in seconds instead of exhausting a
    shared machine."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as handle:
        current = int(handle.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (current + extra, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def wav_samples(path) -> bytes:
    with wave.open(str(path), "rb") as handle:
        return handle.readframes(handle.getnframes())


# ---- the key covers content (item 3) ----------------------------------------------------------

def bright_then_dark(tmp_path: Path) -> tuple[Path, Path, Path, Echo]:
    """A bright and a dark clip of one byte size; `clip.mp4` holds the bright one and was
    answered ('happy') by an Echo with a cache, which is returned."""
    bright, dark = flat_video(tmp_path / "bright.mp4", 220), flat_video(tmp_path / "dark.mp4", 30)
    same_size(bright, dark)
    video = tmp_path / "clip.mp4"
    video.write_bytes(bright.read_bytes())
    first = Echo(name="echo", num_frames=1, cache_dir=str(tmp_path / "cache"), progress=False)
    assert first.predict([Clip("c0", video=video)])["c0"].labels[0] == "happy"
    return bright, dark, video, first


def test_another_video_of_the_same_name_path_and_size_is_not_answered_from_the_cache(tmp_path):
    bright, dark, clip_video, _ = bright_then_dark(tmp_path)
    clip = Clip("c0", video=clip_video)
    clip_video.write_bytes(dark.read_bytes())  # same name, path and byte size, other content
    again = Echo(name="echo", num_frames=1, cache_dir=str(tmp_path / "cache"), progress=False)
    out = again.predict([clip])
    assert again.calls == [["c0"]] and out["c0"].labels[0] == "sad"
    # the first video back: answered from the cache again, by its content
    clip_video.write_bytes(bright.read_bytes())
    third = Echo(name="echo", num_frames=1, cache_dir=str(tmp_path / "cache"), progress=False)
    assert third.predict([clip])["c0"].labels[0] == "happy" and third.calls == []


def test_the_extracted_audio_cache_follows_the_content_too(tmp_path):
    one, two = write_test_video(tmp_path / "one.mp4", seed=0), write_test_video(tmp_path / "two.mp4", seed=1)
    same_size(one, two)
    clip_video = tmp_path / "clip.mp4"
    clip_video.write_bytes(one.read_bytes())
    member = Echo(name="echo", num_frames=0, use_audio=True, cache_dir=str(tmp_path / "cache"), progress=False)
    clip = Clip("c0", video=clip_video)
    first = member.prepare(clip).audio
    assert wav_samples(first) == wav_samples(extract_audio(one, tmp_path / "one.wav"))
    clip_video.write_bytes(two.read_bytes())
    second = member.prepare(clip).audio
    assert wav_samples(second) == wav_samples(extract_audio(two, tmp_path / "two.wav"))
    assert wav_samples(second) != wav_samples(first)


def test_digests_are_kept_across_runs_while_the_file_is_unchanged(tmp_path, monkeypatch):
    """A rerun (the in-run memo cleared, as in a new process) takes the digest from the index
    instead of reading the video again; a rewrite of the file, even at the same size and with
    its old modification time put back, is hashed again; broken index lines are ignored."""
    monkeypatch.setattr(live_cache, "MIN_AGE_S", 0.0)  # the age rule has its own test below
    _, dark, video, first = bright_then_dark(tmp_path)
    clip = Clip("c0", video=video)
    index = first.clip_cache().digests.path
    assert len(index.read_text().splitlines()) == 1
    with open(index, "a") as handle:
        handle.write('not json\n["x", 1, 2, 3, 4, "short"]\n' + "[" * 5000 + "\n")
    live_cache._digests.clear()
    hashed = []
    real_file_digest = live_cache.hashlib.file_digest
    monkeypatch.setattr(live_cache.hashlib, "file_digest", lambda *a: hashed.append(a) or real_file_digest(*a))
    again = Echo(name="echo", num_frames=1, cache_dir=str(tmp_path / "cache"), progress=False)
    assert again.predict([clip])["c0"].labels[0] == "happy" and again.calls == [] and hashed == []
    old = video.stat()
    video.write_bytes(dark.read_bytes())
    os.utime(video, ns=(old.st_atime_ns, old.st_mtime_ns))  # size and mtime as before
    live_cache._digests.clear()
    third = Echo(name="echo", num_frames=1, cache_dir=str(tmp_path / "cache"), progress=False)
    assert third.predict([clip])["c0"].labels[0] == "sad" and len(hashed) == 1


def test_a_file_changed_just_now_is_not_recorded_across_runs(tmp_path):
    video = write_test_video(tmp_path / "c0.mp4")
    member = Echo(name="echo", num_frames=1, cache_dir=str(tmp_path / "cache"), progress=False)
    member.predict([Clip("c0", video=video)])
    assert not member.clip_cache().digests.path.exists()  # rewritten within MIN_AGE_S, it could keep its digest


def test_hashing_never_reads_a_fifo_or_a_device(tmp_path):
    """A regression guard for the content digest (it must not block on a FIFO or read /dev/zero
    forever): such a clip fails on its media, with the cache in use, and the others are answered."""
    os.mkfifo(tmp_path / "fifo.mp4")
    (tmp_path / "zero.mp4").symlink_to("/dev/zero")
    good = write_test_video(tmp_path / "good.mp4")
    member = Echo(name="echo", num_frames=1, cache_dir=str(tmp_path / "cache"), progress=False, batch_size=3)
    signal.alarm(20)  # fail, not hang
    try:
        out = member.predict([Clip("fifo", video=tmp_path / "fifo.mp4"), Clip("zero", video=tmp_path / "zero.mp4"),
                              Clip("good", video=good)])
    finally:
        signal.alarm(0)
    assert out["good"].ok and "video not found" in out["fifo"].error and "video not found" in out["zero"].error


# ---- records are validated on read (item 8) ---------------------------------------------------

def test_edited_cache_records_are_redone_with_one_warning_each(tmp_path, caplog):
    videos = {f"c{i}": write_test_video(tmp_path / f"c{i}.mp4", seed=i) for i in range(6)}
    clips = [Clip(name, video=path) for name, path in videos.items()]
    first = Echo(name="echo", num_frames=1, cache_dir=str(tmp_path / "cache"), progress=False)
    answers = first.predict(clips)
    path = first.clip_cache().path
    records = [json.loads(line) for line in path.read_text().splitlines()]
    # Records reach the cache as answers arrive (the streaming loop), so in any order: put them in
    # clip order before editing, so that line N below is clip c(N-1).
    assert sorted(r["clip"] for r in records) == list(videos)
    records.sort(key=lambda r: r["clip"])
    records[0]["labels"] = "happy"  # a string where a list belongs: never ['a', 'h', 'p', 'y']
    records[1]["labels"] = ["x" * 201]  # beyond the label bound of label files
    records[2]["labels"] = ["sad"] * (MAX_LABELS + 1)
    records[3]["elapsed"] = float("nan")
    records[4]["description"] = {"text": "hi"}
    deep = "[" * 100_000 + "]" * 100_000
    path.write_text("\n".join([json.dumps(r) for r in records] + [deep]) + "\n")
    again = Echo(name="echo", num_frames=1, cache_dir=str(tmp_path / "cache"), progress=False)
    with caplog.at_level(logging.WARNING, logger="members.live.cache"):
        out = again.predict(clips)
    assert sorted(name for batch in again.calls for name in batch) == ["c0", "c1", "c2", "c3", "c4"]  # c5 was intact
    assert all(out[name].labels == answers[name].labels for name in out)
    assert all(isinstance(o.labels, list) and o.labels[-1] == "calm" for o in out.values())
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 6
    for number, warning in zip([1, 2, 3, 4, 5, 7], warnings):  # line 6 (c5) is intact
        assert warning.startswith(f"{path}, line {number}: invalid cache record skipped")
    assert "'labels' is not a list of strings" in warnings[0] and "more than the bound" in warnings[2]
    assert "nested too deeply" in warnings[5]


def test_a_cache_of_many_invalid_records_names_twenty_and_counts_the_rest(tmp_path, caplog):
    cache = ClipCache(tmp_path, "echo", {"a": 1})
    cache.path.write_text('{"key": "k", "labels": "happy"}\n' * 30 + '{"key": "ok", "labels": ["happy"]}\n')
    with caplog.at_level(logging.WARNING, logger="members.live.cache"):
        assert cache.load() == {"ok": MemberOutput(labels=["happy"])}
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == WARN_RECORDS + 1 and warnings[-1] == f"{cache.path}: 10 more invalid cache records skipped, their clips are computed again"


def test_an_endless_line_in_the_cache_is_skipped_without_being_held(tmp_path, caplog):
    video = write_test_video(tmp_path / "c0.mp4")
    member = Echo(name="echo", num_frames=1, cache_dir=str(tmp_path / "cache"), progress=False)
    path = member.clip_cache().path
    path.parent.mkdir(parents=True)
    with open(path, "wb") as handle:
        handle.write(b'{"key": "' + b"a" * (3 << 20) + b'"}\n')
    out = member.predict([Clip("c0", video=video)])
    assert out["c0"].ok and member.calls == [["c0"]]
    assert "line 1: invalid cache record skipped" in caplog.text and "longer than" in caplog.text


def test_an_answer_beyond_the_bounds_fails_its_clip_and_is_not_cached(tmp_path, caplog):
    """Live answers get the bounds of label files (LiveMember._bounded, core.labels.check_labels):
    an answer of 150 labels fails its clip, as a label file with such a row would, and nothing is
    stored that would be refused on every read."""
    video = write_test_video(tmp_path / "c0.mp4")

    class Verbose(Echo):
        def answer(self, requests):
            return ["Emotions: " + ", ".join(f"w{i}" for i in range(150)) for _ in requests]

    member = Verbose(name="verbose", num_frames=1, cache_dir=str(tmp_path / "cache"), progress=False)
    out = member.predict([Clip("c0", video=video)])["c0"]
    assert not out.ok and "member 'verbose', clip c0: 150 labels, more than the bound of 100" in out.error
    assert not member.clip_cache().path.exists()


# ---- OS errors on caches (item 7) -------------------------------------------------------------

@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    """Two real OV-MERD clip names with generated videos, as a clip manifest."""
    folder = tmp_path_factory.mktemp("clips")
    names = sorted(read_label_sets(CACHED))[:2]
    with open(folder / "manifest.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "video"])
        for index, name in enumerate(names):
            writer.writerow([name, str(write_test_video(folder / f"{name}.mp4", seed=index))])
    return folder / "manifest.csv", names


def run_config(folder: Path, cache_dir: Path, cached: bool = False, **echo) -> str:
    members = [{"name": "echo", "type": "tests.live_support:Echo", "num_frames": 2, "progress": False, **echo}]
    if cached:
        members.append({"name": "vc", "type": "cached", "path": str(CACHED)})
    path = folder / "config.yaml"
    path.write_text(OmegaConf.to_yaml(OmegaConf.create({
        "data_root": str(DATA), "members": members, "judge": {"type": "kofn", "k": 1}, "cache_dir": str(cache_dir),
    })))
    return str(path)


def live_cache_path(cache_dir: Path) -> Path:
    return Echo(name="echo", num_frames=2, progress=False, cache_dir=str(cache_dir)).clip_cache().path


def _root_is_a_file(cache: Path) -> Path:
    cache.write_text("not a folder")
    return cache


def _cache_file_is_a_folder(cache: Path) -> Path:
    live_cache_path(cache).mkdir(parents=True)
    return live_cache_path(cache)


def _cache_file_is_a_fifo(cache: Path) -> Path:
    path = live_cache_path(cache)
    path.parent.mkdir(parents=True)
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("make", [_root_is_a_file, _cache_file_is_a_folder, _cache_file_is_a_fifo])
def test_a_cache_that_cannot_be_read_is_one_error_line_before_any_clip_runs(manifest, tmp_path, capsys, make):
    path, _ = manifest
    named = make(tmp_path / "cache")
    out = tmp_path / "out.csv"
    assert cli(["run", "--config", run_config(tmp_path, tmp_path / "cache"), "--clips", str(path), "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert "Traceback" not in "\n".join(err)
    assert err[-1].startswith("error: ") and "cannot read this live cache" in err[-1]
    assert str(live_cache_path(tmp_path / "cache")) in err[-1] or str(named) in err[-1]
    assert not out.exists()


@pytest.mark.parametrize("code, where", [(errno.ENOSPC, "fsync"), (errno.EROFS, "mkdir")])
def test_a_cache_that_cannot_be_written_is_reported_once_and_no_answer_is_lost(manifest, tmp_path, caplog, monkeypatch, code, where):
    """A full disk (fsync raises ENOSPC) or a read-only folder (mkdir raises EROFS), simulated
    because root ignores permissions: the run reports it once, and every answer it computed,
    in every batch, is in its submission."""
    path, names = manifest

    def refuse(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    if where == "fsync":
        monkeypatch.setattr(os, "fsync", refuse)
    else:
        real_mkdir = Path.mkdir
        monkeypatch.setattr(Path, "mkdir", lambda self, *a, **k: refuse() if "live" in self.parts else real_mkdir(self, *a, **k))
    out = tmp_path / "out.csv"
    config = run_config(tmp_path, tmp_path / "cache", batch_size=1)
    with caplog.at_level(logging.INFO):
        assert cli(["run", "--config", config, "--clips", str(path), "--out", str(out)]) == 0
    answers = read_label_csv(out)
    assert list(answers) == names and all("calm" in labels for labels in answers.values())
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "cannot write this live cache" in errors[0] and os.strerror(code) in errors[0]


# ---- frame selection bounded whatever the header claims (item 4) ------------------------------

def test_sample_times_costs_the_frames_kept_not_the_claimed_length():
    with memory_cap():
        times = sample_times(2e9, num_frames=16, fps=1)  # Emotion-Qwen's defaults
        assert len(times) == 16 and times == sorted(times) and times[-1] < 2e9
        assert len(sample_times(2e9, num_frames=0, fps=25)) == MAX_FRAMES
    assert len(sample_times(600, num_frames=0, fps=25)) == MAX_FRAMES  # not 15,000
    assert len(sample_times(600, num_frames=0, fps=25, max_frames=10)) == 10
    assert len(sample_times(600, num_frames=500, max_frames=10)) == 10  # never more than the bound
    assert sample_times(2.0, num_frames=0, fps=1) == [0.0, 1.0]


def test_fps_mode_keeps_at_most_max_frames_of_a_real_clip(tmp_path):
    video = write_test_video(tmp_path / "long.mp4", seconds=4.0, fps=10, audio=False)
    assert len(sample_frames(video, num_frames=0, fps=10, max_frames=8)) == 8
    assert len(sample_frames(video, num_frames=0, fps=10)) == 40  # under the default bound: every frame


def test_a_video_claiming_two_billion_seconds_is_that_clips_failure_only(tmp_path):
    hostile = huge_avi(tmp_path / "huge.avi")
    with memory_cap():
        with pytest.raises(MediaError, match="huge.avi: no frame at the sampled times"):
            sample_frames(hostile, num_frames=16, fps=1)
        frames = sample_frames(hostile, num_frames=16)  # segment midpoints: the last frame, repeated
        assert len(frames) == 16
        good = write_test_video(tmp_path / "good.mp4")
        member = Echo(name="echo", num_frames=16, fps=1, progress=False, batch_size=2)
        out = member.predict([Clip("hostile", video=hostile), Clip("good", video=good)])
    assert out["good"].ok and "huge.avi" in out["hostile"].error


def test_a_clip_whose_decoding_runs_out_of_memory_fails_alone(tmp_path, monkeypatch):
    """FFmpeg running out of memory cannot be provoked safely here: the decoder is made to raise
    MemoryError on one file (the rest of the member is the real code; decoding in the preparing
    threads, decode_workers 0, so that the patched decoder is the one called)."""
    good, bad = write_test_video(tmp_path / "good.mp4"), write_test_video(tmp_path / "bad.mp4", seed=1)
    real = live_frames.sample_frames

    def decode(path, *args, **kwargs):
        if Path(path) == bad:
            raise MemoryError("cannot allocate")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(live_frames, "sample_frames", decode)
    member = Echo(name="echo", num_frames=2, progress=False, batch_size=2, decode_workers=0)
    out = member.predict([Clip("bad", video=bad), Clip("good", video=good)])
    assert out["good"].ok and out["bad"].error == "MemoryError: cannot allocate"


def test_the_run_judges_the_good_clip_and_the_hostile_one_by_the_other_members(tmp_path, caplog):
    names = sorted(read_label_sets(CACHED))[:2]
    hostile = huge_avi(tmp_path / "huge.avi")
    good = write_test_video(tmp_path / "good.mp4")
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(f"name,video\n{names[0]},{good}\n{names[1]},{hostile}\n")
    out = tmp_path / "out.csv"
    config = run_config(tmp_path, tmp_path / "cache", cached=True, num_frames=16, fps=1)
    with memory_cap():
        assert cli(["run", "--config", config, "--clips", str(manifest), "--out", str(out)]) == 0
    answers, cached = read_label_csv(out), read_label_sets(CACHED)
    assert "calm" in answers[names[0]]
    assert sorted(answers[names[1]]) == sorted(set(cached[names[1]]))  # the cached member judged it
    assert f"member 'echo': 1 of 2 clips failed (e.g. {names[1]}: " in caplog.text


def test_max_frames_below_num_frames_is_refused():
    with pytest.raises(ValueError, match="num_frames"):
        Echo(name="echo", num_frames=100)
    with pytest.raises(ValueError, match="max_frames"):
        Echo(name="echo", num_frames=8, max_frames=0)
