"""members.clips: manifests and MER video folders, read from real files written by the tests."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest

from core.errors import InputError
from members.base import Clip
from members.clips import clips_from_videos, read_manifest, read_subtitles


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding=encoding)
    return path


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


# ---- manifests ----------------------------------------------------------------------------------

def test_manifest_paths_are_relative_to_its_folder_and_absolute_ones_kept(tmp_path):
    outside = touch(tmp_path / "elsewhere" / "c.mp4")
    touch(tmp_path / "m" / "videos" / "a.mp4")
    touch(tmp_path / "m" / "wav" / "a.wav")
    manifest = write(tmp_path / "m" / "clips.csv",
                     "name,video,audio,subtitle\n"
                     "a,videos/a.mp4,wav/a.wav,Hello there\n"
                     f"c,{outside},,\n")
    clips = read_manifest(manifest)
    assert clips == [
        Clip("a", tmp_path / "m" / "videos" / "a.mp4", tmp_path / "m" / "wav" / "a.wav", "Hello there"),
        Clip("c", outside, None, None),
    ]


def test_name_only_csv_gives_clips_without_media(tmp_path):
    manifest = write(tmp_path / "gold.csv", "name,openset\nb,\"['happy']\"\na,\"[]\"\n")
    assert read_manifest(manifest) == [Clip("b"), Clip("a")]


def test_byte_order_mark_and_padded_headers_are_tolerated(tmp_path):
    manifest = write(tmp_path / "clips.csv", "name , video\nx, x.mp4\n", encoding="utf-8-sig")
    assert read_manifest(manifest) == [Clip("x", tmp_path / "x.mp4")]


def test_missing_media_is_one_warning_not_an_error(tmp_path, caplog):
    touch(tmp_path / "a.mp4")
    manifest = write(tmp_path / "clips.csv", "name,video,audio\na,a.mp4,\nb,b.mp4,b.wav\nc,c.avi,\n")
    with caplog.at_level(logging.WARNING, logger="members.clips"):
        clips = read_manifest(manifest)
    assert [clip.name for clip in clips] == ["a", "b", "c"]
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1 and "3 listed media file(s) do not exist" in warnings[0]


@pytest.mark.parametrize("text, message", [
    ("video\nx.mp4\n", "missing column 'name'"),
    ("name,video\na,a.mp4\n,b.mp4\n", "row 3: empty clip name"),
    ("name,video\na,a.mp4\nb,b.mp4\na,c.mp4\n", "row 4, clip a: clip named twice (first on row 2)"),
    ("name,video\n", "no clips listed"),
])
def test_bad_manifest_is_one_input_error_naming_file_row_clip(tmp_path, text, message):
    manifest = write(tmp_path / "clips.csv", text)
    with pytest.raises(InputError) as caught:
        read_manifest(manifest)
    assert str(caught.value).startswith(str(manifest)) and message in str(caught.value)


def test_missing_manifest(tmp_path):
    with pytest.raises(InputError, match="clip manifest not found"):
        read_manifest(tmp_path / "nope.csv")


def test_manifest_that_is_not_utf8(tmp_path):
    manifest = tmp_path / "clips.csv"
    manifest.write_bytes("name,subtitle\na,caf\u00e9\n".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        read_manifest(manifest)


# ---- MER video folders --------------------------------------------------------------------------

SUBTITLES = (
    "name,chinese,english\n"
    "sample_00000002,你好,Hello.\n"
    "sample_00000001,,\n"
    "sample_00000009,再见,Goodbye.\n"
)


def test_videos_folder_with_subtitles_sorted_by_name(tmp_path, caplog):
    folder = tmp_path / "video"
    for name in ("sample_00000002.mp4", "sample_00000001.avi", "sample_00000003.mp4", "notes.txt"):
        touch(folder / name)
    subtitles = write(tmp_path / "subtitle_chieng.csv", SUBTITLES, encoding="utf-8-sig")
    with caplog.at_level(logging.WARNING, logger="members.clips"):
        clips = clips_from_videos(folder, subtitles)
    assert clips == [
        Clip("sample_00000001", folder / "sample_00000001.avi", None, None),
        Clip("sample_00000002", folder / "sample_00000002.mp4", None, "Hello."),
        Clip("sample_00000003", folder / "sample_00000003.mp4", None, None),
    ]
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1 and "1 subtitle row(s) have no video" in warnings[0]
    assert [clip.subtitle for clip in clips_from_videos(folder, subtitles, language="chinese")] == [None, "你好", None]


def test_videos_folder_without_subtitles(tmp_path):
    touch(tmp_path / "b.MP4")
    touch(tmp_path / "a.avi")
    touch(tmp_path / "._a.avi")
    (tmp_path / "c.mp4").mkdir()
    assert [clip.name for clip in clips_from_videos(tmp_path)] == ["a", "b"]


def test_two_videos_with_one_name_is_an_error(tmp_path):
    touch(tmp_path / "a.mp4")
    touch(tmp_path / "a.avi")
    with pytest.raises(InputError, match=r"clip a has two videos \(a\.avi, a\.mp4\)"):
        clips_from_videos(tmp_path)


@pytest.mark.parametrize("setup, message", [
    (lambda d: d / "missing", "video folder not found"),
    (lambda d: touch(d / "x.txt").parent, "no videos"),
])
def test_bad_videos_folder(tmp_path, setup, message):
    with pytest.raises(InputError, match=message):
        clips_from_videos(setup(tmp_path))


def test_subtitles_need_the_chosen_language_column(tmp_path):
    touch(tmp_path / "v" / "a.mp4")
    subtitles = write(tmp_path / "subs.csv", "name,chinese\na,你好\n")
    with pytest.raises(InputError, match=r"subs\.csv: missing column 'english'"):
        clips_from_videos(tmp_path / "v", subtitles)
    with pytest.raises(InputError, match="language must be one of"):
        read_subtitles(subtitles, language="french")
    with pytest.raises(InputError, match="subtitle file not found"):
        clips_from_videos(tmp_path / "v", tmp_path / "none.csv")


def test_subtitle_named_twice(tmp_path):
    subtitles = write(tmp_path / "subs.csv", "name,english\na,Hi\na,Ho\n")
    with pytest.raises(InputError, match="row 3, clip a: clip named twice"):
        read_subtitles(subtitles)
