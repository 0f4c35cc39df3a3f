"""`run`: build the ensemble from a config, run its members on the clips, write a submission CSV.

Clips come from `--clips MANIFEST.csv` (name, video [, audio, subtitle]; a name-only CSV is
enough for cached members), from the MER dataset layout (`--videos DIR --subtitles CSV`), from
the config's `clips:` manifest, or, with cached members only, from their files. A clip that a
member fails on is judged by the others; a clip no member answered fails the run (exit 1,
nothing written) unless `--allow-missing` writes it with an empty answer. Live members keep
every finished clip in their per-clip cache, so a rerun redoes only what is missing.

`--out` is refused, before any member runs, when it is (or links to) anything the run reads or
writes: the config, the manifest and every clip's media, the subtitles, and whatever the built
parts declare (member files at any depth, caches, states, the lexicon, model folders).
"""
from __future__ import annotations

import logging

from core.errors import InputError
from core.files import check_output_path
from core.labels import write_label_csv
from core.uses import PathUse
from ensemble.config import DEFAULT_CONFIG, config_inputs, load_config, trust_pickles
from ensemble.pipeline import Parts, build_parts, config_clips, judge_clips, prepare
from members.clips import clips_from_videos, read_manifest

log = logging.getLogger(__name__)


def add_arguments(parser) -> None:
    parser.add_argument("--config", help="ensemble config YAML (default: configs/ovmerd_views.yaml)")
    parser.add_argument("--out", required=True, help="submission CSV to write (name,openset)")
    parser.add_argument("--data-root", help="data folder (default: $OVMER_DATA or the config's data_root)")
    parser.add_argument(
        "--clips",
        help="clip manifest CSV: `name` and, for live members, `video` [, `audio`, `subtitle`], paths relative to the CSV",
    )
    parser.add_argument("--videos", help="folder of <name>.mp4/.avi videos (the MER dataset layout)")
    parser.add_argument("--subtitles", help="with --videos: subtitle CSV (name, english [, chinese]), e.g. subtitle_chieng.csv")
    parser.add_argument("--subtitle-language", default="english", choices=["english", "chinese"], help="subtitle column to use")
    parser.add_argument("--trust-pickle", action="store_true", help="let members load pickled description npz files (this command only)")
    parser.add_argument(
        "--allow-missing", action="store_true",
        help="write clips that every member failed on with an empty answer instead of failing the run",
    )


def clips_of(args):
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


def run(config, clips=None, allow_missing: bool = False, parts: Parts | None = None) -> dict[str, list[str]]:
    judge = parts.judge if parts is not None else None
    prepared = prepare(config, clips=clips, progress=True, parts=parts)
    unanswered = prepared.unanswered()
    if unanswered and not allow_missing:
        raise InputError(
            f"{len(unanswered)} of {len(prepared.clips)} clips got no answer from any member (e.g. {unanswered[0]}; "
            "see the failures above); finished clips are cached, so a rerun redoes only these; "
            "--allow-missing writes them with empty answers"
        )
    return judge_clips(config, prepared, judge, progress=True)


def main(args, overrides) -> int:
    config = load_config(args.config, overrides, data_root=args.data_root)
    if args.trust_pickle:
        trust_pickles(config)
    clips = clips_of(args)
    if clips is None:
        clips = config_clips(config)
    parts = build_parts(config)
    inputs = [PathUse(str(args.config or DEFAULT_CONFIG), "--config"), PathUse(args.clips or "", "--clips"),
              PathUse(args.subtitles or "", "--subtitles"), *config_inputs(config)]
    media = [use for clip in clips or () for use in clip.paths()]
    check_output_path(args.out, [*inputs, *media, *parts.paths()])
    predictions = run(config, clips, args.allow_missing, parts)
    write_label_csv(args.out, predictions)
    log.info("wrote %d clips to %s", len(predictions), args.out)
    return 0
