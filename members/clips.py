"""Clips in: a manifest CSV, or a folder of videos in the MER dataset layout with its subtitles.

`read_manifest` reads `name,video[,audio][,subtitle]` (media paths relative to the manifest);
any CSV with a `name` column is a valid manifest of clips without media (cached members need
only names). `clips_from_videos` reads the MER layout: `<name>.mp4` / `<name>.avi` in one
folder, and `subtitle_chieng.csv` with columns `name`, `english` [, `chinese`].

A listed media file that does not exist is not an error here: that clip fails at run time (the
member records a MediaError for it and the run goes on); one warning counts them up front.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from core.errors import InputError
from core.labels import csv_rows
from members.base import Clip

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".avi")
SUBTITLE_LANGUAGES = ("english", "chinese")


def _media_path(value: str, folder: Path) -> Path | None:
    if not value:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else folder / path


def _warn_missing(source: Path, clips: Sequence[Clip]) -> None:
    missing = [
        (clip.name, path)
        for clip in clips
        for path in (clip.video, clip.audio)
        if path is not None and not path.is_file()
    ]
    if missing:
        examples = ", ".join(f"{name}: {path}" for name, path in missing[:3])
        log.warning("%s: %d listed media file(s) do not exist (e.g. %s); those clips will fail when a live "
                    "member runs them", source, len(missing), examples)


def read_manifest(path: str | Path) -> list[Clip]:
    """The clips of a manifest CSV, in file order.

    Columns: `name` (required), `video`, `audio`, `subtitle` (optional; other columns are
    ignored). Media paths are relative to the manifest's folder unless absolute; an empty cell
    means none. Raises InputError naming the file, row and clip for a missing file or `name`
    column, an empty or repeated name, or an empty manifest.
    """
    path = Path(path)
    folder = path.parent
    clips = [
        Clip(
            name=name,
            video=_media_path(row.get("video", ""), folder),
            audio=_media_path(row.get("audio", ""), folder),
            subtitle=row.get("subtitle") or None,
        )
        for _, name, row in csv_rows(path, ("name",), "clip manifest", strip=True)
    ]
    if not clips:
        raise InputError(f"{path}: no clips listed")
    _warn_missing(path, clips)
    return clips


def read_subtitles(path: str | Path, language: str = "english") -> dict[str, str | None]:
    """Subtitles by clip name from a MER `subtitle_chieng.csv` (`name`, `english` [, `chinese`]);
    an empty cell gives None."""
    if language not in SUBTITLE_LANGUAGES:
        raise InputError(f"subtitle language must be one of {', '.join(SUBTITLE_LANGUAGES)}, got {language!r}")
    return {name: row[language] or None for _, name, row in csv_rows(Path(path), ("name", language), "subtitle file", strip=True)}


def find_videos(videos_dir: str | Path) -> dict[str, Path]:
    """Video files by clip name (the file stem) in a folder: `<name>.mp4` or `<name>.avi`."""
    folder = Path(videos_dir)
    if not folder.is_dir():
        raise InputError(f"{folder}: video folder not found")
    videos: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        # Dot files are not clips: macOS leaves `._<name>.mp4` resource forks beside copied videos.
        if path.suffix.lower() not in VIDEO_SUFFIXES or path.name.startswith(".") or not path.is_file():
            continue
        if path.stem in videos:
            raise InputError(f"{folder}: clip {path.stem} has two videos ({videos[path.stem].name}, {path.name})")
        videos[path.stem] = path
    if not videos:
        raise InputError(f"{folder}: no videos ({' or '.join('*' + s for s in VIDEO_SUFFIXES)})")
    return videos


def clips_from_videos(videos_dir: str | Path, subtitles: str | Path | None = None, language: str = "english") -> list[Clip]:
    """The clips of a MER dataset folder, sorted by name: every `<name>.mp4` / `<name>.avi`, with
    its subtitle from the `language` column of `subtitles` when given.

    A video without a subtitle row gets no subtitle; subtitle rows without a video are counted
    in one warning. Two videos with one name (a.mp4 and a.avi) is an InputError.
    """
    videos = find_videos(videos_dir)
    texts: dict[str, str | None] = {}
    if subtitles is not None:
        texts = read_subtitles(subtitles, language)
        orphans = sorted(set(texts) - set(videos))
        if orphans:
            log.warning("%s: %d subtitle row(s) have no video in %s (e.g. %s)", subtitles, len(orphans), videos_dir,
                        ", ".join(orphans[:3]))
        untitled = len(set(videos) - set(texts))
        if untitled:
            log.info("%s: %d video(s) have no subtitle row", subtitles, untitled)
    return [Clip(name=name, video=videos[name], subtitle=texts.get(name)) for name in sorted(videos)]
