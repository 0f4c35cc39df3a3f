"""members.media on real videos that the tests encode with PyAV (mp4, avi, mkv, raw h264)."""
from __future__ import annotations

import logging
import wave
from pathlib import Path

import av
import numpy as np
import pytest

from core.errors import InputError
from members.media import AUDIO_RATE, MediaError, extract_audio, sample_frames, sample_times
from testkit.media import write_test_video


def gray_video(path: Path, frames: int, fps: int = 10, codec: str = "mpeg4") -> Path:
    """A clip whose frame i is uniformly grey at level 10 + 12·i, so a sampled frame tells its index."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for index in range(frames):
            image = np.full((32, 32, 3), 10 + 12 * index, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def indices(frames) -> list[int]:
    return [round((float(np.asarray(frame).mean()) - 10) / 12) for frame in frames]


def wav_samples(path: Path) -> tuple[int, int, int, np.ndarray]:
    with wave.open(str(path), "rb") as handle:
        data = np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2")
        return handle.getframerate(), handle.getnchannels(), handle.getsampwidth(), data


# ---- frames -------------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".mp4", ".avi", ".mkv"])
def test_num_frames_gives_that_many_rgb_frames_of_the_video_size(tmp_path, suffix):
    video = write_test_video(tmp_path / f"clip{suffix}", seconds=1.0, fps=8, size=(64, 48))
    frames = sample_frames(video, num_frames=5)
    assert len(frames) == 5
    assert all(frame.size == (64, 48) and frame.mode == "RGB" for frame in frames)


def test_frames_are_taken_at_the_midpoints_of_equal_segments(tmp_path):
    video = gray_video(tmp_path / "grey.mp4", frames=16)  # 1.6 s at 10 fps
    assert indices(sample_frames(video, num_frames=4)) == [2, 6, 10, 14]


def test_header_without_frame_count_still_samples_by_time(tmp_path):
    video = gray_video(tmp_path / "grey.mkv", frames=16)  # Matroska keeps no frame count
    with av.open(str(video)) as container:
        assert not container.streams.video[0].frames
    assert indices(sample_frames(video, num_frames=4)) == [2, 6, 10, 14]


def test_raw_stream_without_duration_is_measured_by_counting_packets(tmp_path):
    """A raw h264 stream has no duration and no timestamps: one demuxing pass measures it."""
    video = write_test_video(tmp_path / "raw.h264", seconds=2.0, fps=10, audio=False, codec="libx264")
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        assert not stream.frames and not stream.duration and not container.duration
    frames = sample_frames(video, num_frames=6)
    assert len(frames) == 6
    assert len({frame.tobytes() for frame in frames}) == 6  # spread over the clip, not one frame repeated


def test_fps_mode_takes_one_frame_every_period(tmp_path):
    video = gray_video(tmp_path / "grey.mp4", frames=20)  # 2 s at 10 fps
    assert indices(sample_frames(video, num_frames=0, fps=2)) == [0, 5, 10, 15]


def test_fps_mode_is_thinned_to_num_frames(tmp_path):
    video = gray_video(tmp_path / "grey.mp4", frames=20)
    assert indices(sample_frames(video, num_frames=2, fps=2)) == [5, 15]


def test_fps_above_the_video_rate_gives_each_frame_once(tmp_path):
    video = gray_video(tmp_path / "grey.mp4", frames=10)
    assert indices(sample_frames(video, num_frames=0, fps=100)) == list(range(10))


def test_short_clip_repeats_frames_to_meet_the_count(tmp_path):
    video = gray_video(tmp_path / "grey.mp4", frames=3)
    got = indices(sample_frames(video, num_frames=8))
    assert len(got) == 8 and set(got) == {0, 1, 2} and got == sorted(got)


def test_max_pixels_scales_down_keeping_the_aspect_ratio(tmp_path):
    video = write_test_video(tmp_path / "big.mp4", seconds=0.5, fps=4, size=(320, 240), audio=False)
    frames = sample_frames(video, num_frames=2, max_pixels=80 * 60)
    width, height = frames[0].size
    assert width * height <= 80 * 60 and (width, height) == (80, 60)
    assert sample_frames(video, num_frames=1, max_pixels=0)[0].size == (320, 240)


def test_sample_times():
    assert sample_times(2.0, num_frames=4) == [0.25, 0.75, 1.25, 1.75]
    assert sample_times(2.0, num_frames=0, fps=1) == [0.0, 1.0]
    assert sample_times(0.0, num_frames=0, fps=1) == [0.0]


def test_truncated_avi_gives_what_decodes_and_one_warning(tmp_path, caplog):
    """FFmpeg reads an AVI cut short (no index at the end) as far as it goes: frames, not an error."""
    video = write_test_video(tmp_path / "long.avi", seconds=4.0, fps=10)
    data = video.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: int(len(data) * 0.4)])
    with caplog.at_level(logging.WARNING, logger="members.media"):
        frames = sample_frames(cut, num_frames=8)
    assert len(frames) == 8
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1 and "cut.avi: the decodable video ends at" in warnings[0]


# ---- audio --------------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".mp4", ".avi"])
def test_audio_is_a_16khz_mono_wav_of_the_clip_length(tmp_path, suffix):
    video = write_test_video(tmp_path / f"clip{suffix}", seconds=2.0, fps=8, seed=0)
    wav = extract_audio(video, tmp_path / "out" / "clip.wav")
    rate, channels, width, data = wav_samples(wav)
    assert (rate, channels, width) == (AUDIO_RATE, 1, 2)
    # aac / mp3 pad the last codec frame (1024 / 1152 samples plus decoder delay)
    assert abs(data.size - 2 * AUDIO_RATE) <= 0.1 * AUDIO_RATE
    spectrum = np.abs(np.fft.rfft(data.astype(float)))
    assert abs(np.argmax(spectrum) * AUDIO_RATE / data.size - 220) < 5  # the 220 Hz tone survived
    assert not list(wav.parent.glob("*.part"))


def test_pcm_audio_keeps_the_exact_length(tmp_path):
    video = write_test_video(tmp_path / "clip.avi", seconds=1.5, audio_codec="pcm_s16le")
    _, _, _, data = wav_samples(extract_audio(video, tmp_path / "clip.wav"))
    assert data.size == int(1.5 * AUDIO_RATE)


def test_audio_file_is_resampled_to_16khz(tmp_path):
    source = tmp_path / "in.wav"
    with wave.open(str(source), "wb") as handle:
        handle.setnchannels(2)
        handle.setsampwidth(2)
        handle.setframerate(8000)
        handle.writeframes(np.zeros((8000, 2), dtype="<i2").tobytes())
    rate, channels, _, data = wav_samples(extract_audio(source, tmp_path / "out.wav"))
    assert (rate, channels) == (AUDIO_RATE, 1)
    assert abs(data.size - AUDIO_RATE) <= 64


# ---- bad input: one MediaError naming the file ------------------------------------------------

def _bad_files(tmp_path: Path) -> dict[str, Path]:
    good = write_test_video(tmp_path / "good.mp4", seconds=1.0)
    files = {
        "missing": tmp_path / "missing.mp4",
        "empty": tmp_path / "empty.mp4",
        "random": tmp_path / "random.mp4",
        "truncated": tmp_path / "truncated.mp4",
    }
    files["empty"].write_bytes(b"")
    files["random"].write_bytes(np.random.default_rng(0).bytes(4096))
    data = good.read_bytes()
    files["truncated"].write_bytes(data[: len(data) // 2])
    return files


@pytest.mark.parametrize("kind, reason", [
    ("missing", "not found"), ("empty", "empty"), ("random", "cannot read"), ("truncated", "cannot read"),
])
def test_bad_video_is_one_media_error_naming_the_file(tmp_path, kind, reason):
    path = _bad_files(tmp_path)[kind]
    for call in (lambda: sample_frames(path), lambda: extract_audio(path, tmp_path / "out.wav")):
        with pytest.raises(MediaError) as caught:
            call()
        message = str(caught.value)
        assert isinstance(caught.value, InputError)
        assert message.startswith(str(path)) and reason in message
        assert message.count(str(path)) == 1
    assert not (tmp_path / "out.wav").exists() and not (tmp_path / "out.wav.part").exists()


def test_file_without_a_video_stream(tmp_path):
    audio_only = tmp_path / "speech.wav"
    with wave.open(str(audio_only), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(AUDIO_RATE)
        handle.writeframes(np.zeros(AUDIO_RATE, dtype="<i2").tobytes())
    with pytest.raises(MediaError, match="no video stream"):
        sample_frames(audio_only)


def test_video_without_an_audio_track_fails_extract_audio_only(tmp_path):
    video = write_test_video(tmp_path / "silent.mp4", audio=False)
    assert len(sample_frames(video, num_frames=2)) == 2
    with pytest.raises(MediaError, match=r"silent\.mp4: no audio track"):
        extract_audio(video, tmp_path / "out.wav")
    assert not list(tmp_path.glob("out.wav*"))
