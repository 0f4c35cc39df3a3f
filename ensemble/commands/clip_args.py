"""The flags that name the clips to judge, shared by `run` and `tune`."""
from __future__ import annotations

from core.errors import InputError
from members.base import Clip
from members.clips import clips_from_videos, read_manifest


def add_clip_arguments(parser) -> None:
    parser.add_argument(
        "--clips",
        help="clip manifest CSV: `name` and, for live members, `video` [, `audio`, `subtitle`], paths relative to the CSV",
    )
    parser.add_argument("--videos", help="folder of <name>.mp4/.avi videos (the MER dataset layout)")
    parser.add_argument("--subtitles", help="with --videos: subtitle CSV (name, english [, chinese]), e.g. subtitle_chieng.csv")
    parser.add_argument("--subtitle-language", default="english", choices=["english", "chinese"], help="subtitle column to use")


def clips_of(args) -> list[Clip] | None:
    """The clips the command line names, or None to use the config's."""
    if args.clips and args.videos:
        raise InputError("give either --clips or --videos, not both")
    if args.subtitles and not args.videos:
        raise InputError("--subtitles goes with --videos")
    if args.clips:
        return read_manifest(args.clips)
    if args.videos:
        return clips_from_videos(args.videos, args.subtitles, args.subtitle_language)
    return None
