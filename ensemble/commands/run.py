"""`run`: build the ensemble from a config, run its members on the clips, write a submission.

Clips come from `--clips MANIFEST.csv` (name, video [, audio, subtitle]; a name-only CSV is
enough for cached members), from the MER dataset layout (`--videos DIR --subtitles CSV`), from
the config's `clips:` manifest, or, with cached members only, from their files. The config,
its vocabulary and its judge are built and checked before any member runs. A clip that a
member fails on is judged by the others; a clip no member answered fails the run (exit 1,
nothing written) unless `--allow-missing` writes it with an empty answer. Live members keep
every finished clip in their per-clip cache, so a rerun redoes only what is missing.

`--out` is refused, before any member runs, when it is (or links to) anything the run reads or
writes: the config, the manifest and every clip's media, the subtitles, and whatever the built
parts declare (member files at any depth, caches, states, the lexicon, model folders).

The submission is a `name,openset` CSV, or with `--out NAME-openset.npz` (or `--format
openset-npz`) the Codalab npz of the MER2025/MER2026 open-vocabulary track.
"""
from __future__ import annotations

import logging

from core.files import check_output_path
from core.labels import write_label_csv, write_label_npz
from core.uses import PathUse
from ensemble.commands.clip_args import add_clip_arguments, clips_of
from ensemble.config import DEFAULT_CONFIG, config_inputs, load_config, trust_pickles
from ensemble.pipeline import Parts, build_parts, config_clips, judge_clips, prepare

log = logging.getLogger(__name__)

# --format -> the writer of that submission form
WRITERS = {"csv": write_label_csv, "openset-npz": write_label_npz}


def add_arguments(parser) -> None:
    parser.add_argument("--config", help="ensemble config YAML (default: the packaged configs/ovmerd_views.yaml)")
    parser.add_argument("--out", required=True, help="submission to write: name,openset CSV, or NAME-openset.npz (Codalab)")
    parser.add_argument("--format", choices=sorted(WRITERS), help="submission form (default: openset-npz for a .npz --out, else csv)")
    parser.add_argument("--data-root", help="data folder (default: $OVMER_DATA or the config's data_root)")
    add_clip_arguments(parser)
    parser.add_argument("--trust-pickle", action="store_true", help="let members load pickled description npz files (this command only)")
    parser.add_argument(
        "--allow-missing", action="store_true",
        help="write clips that every member failed on with an empty answer instead of failing the run",
    )


def submission_format(out: str, chosen: str | None) -> str:
    form = chosen or ("openset-npz" if str(out).lower().endswith(".npz") else "csv")
    if form == "openset-npz" and not str(out).endswith("-openset.npz"):
        log.warning("%s: the Codalab open-vocabulary track takes files named *-openset.npz", out)
    return form


def run(config, clips=None, allow_missing: bool = False, parts: Parts | None = None) -> dict[str, list[str]]:
    # The parts are built with the judge's state read before any member runs.
    parts = parts if parts is not None else build_parts(config, ready=True)
    return judge_clips(config, prepare(config, clips=clips, progress=True, allow_missing=allow_missing, parts=parts), progress=True)


def main(args, overrides) -> int:
    config = load_config(args.config, overrides, data_root=args.data_root)
    if args.trust_pickle:
        trust_pickles(config)
    clips = clips_of(args)
    if clips is None:
        clips = config_clips(config)
    parts = build_parts(config, ready=True)
    inputs = [PathUse(str(args.config or DEFAULT_CONFIG), "--config"), PathUse(args.clips or "", "--clips"),
              PathUse(args.subtitles or "", "--subtitles"), *config_inputs(config)]
    media = [use for clip in clips or () for use in clip.paths()]
    check_output_path(args.out, [*inputs, *media, *parts.paths()])
    write = WRITERS[submission_format(args.out, args.format)]
    predictions = run(config, clips, args.allow_missing, parts)
    write(args.out, predictions)
    log.info("wrote %d clips to %s", len(predictions), args.out)
    return 0
