"""`run`: build the ensemble from a config and write a submission CSV."""
from __future__ import annotations

import logging

from core.files import check_output_path
from core.labels import read_clip_names, write_label_csv
from ensemble.config import DEFAULT_CONFIG, input_files, load_config
from ensemble.pipeline import judge_clips, prepare

log = logging.getLogger(__name__)


def add_arguments(parser) -> None:
    parser.add_argument("--config", help="ensemble config YAML (default: configs/ovmerd.yaml)")
    parser.add_argument("--out", required=True, help="submission CSV to write (name,openset)")
    parser.add_argument("--data-root", help="data folder (default: $OVMER_DATA or the config's data_root)")
    parser.add_argument("--clips", help="CSV with a `name` column: write only these clips (default: every clip a member covers)")


def run(config, clips=None) -> dict[str, list[str]]:
    return judge_clips(config, prepare(config, clips=clips, progress=True))


def main(args, overrides) -> int:
    config = load_config(args.config, overrides, data_root=args.data_root)
    check_output_path(args.out, [args.config or DEFAULT_CONFIG, args.clips, *input_files(config)])
    clips = read_clip_names(args.clips) if args.clips else None
    predictions = run(config, clips)
    write_label_csv(args.out, predictions)
    log.info("wrote %d clips to %s", len(predictions), args.out)
    return 0
