"""`run`: build the ensemble from a config, run its members on the clips, write a submission CSV.

Clips come from `--clips MANIFEST.csv` (name, video [, audio, subtitle]; a name-only CSV is
enough for cached members), from the MER dataset layout (`--videos DIR --subtitles CSV`), from
the config's `clips:` manifest, or, with cached members only, from their files. A clip that a
member fails on is judged by the others; a clip no member answered fails the run (exit 1,
nothing written) unless `--allow-missing` writes it with an empty answer. Live members keep
every finished clip in their per-clip cache, so a rerun redoes only what is missing.

Whenever some member failed on some clip, `<out>.failures.jsonl` beside the submission lists
each (member, clip, error), also when the run then stops for clips nobody answered; a run
without failures removes an older one. `--explain PATH.jsonl` writes, with the submission,
one line per clip saying why it got its labels (ensemble/explain.py).
"""
from __future__ import annotations

import logging
from pathlib import Path

from core.bulk import paused_gc
from core.errors import InputError
from core.files import atomic_write_text, check_output_path
from core.labels import write_label_csv
from ensemble.config import DEFAULT_CONFIG, input_files, load_config, trust_pickles
from ensemble.explain import explain_records, failure_records, failures_path, jsonl_text
from ensemble.pipeline import Failures, judge_clips, prepare, ready_judge
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
    parser.add_argument(
        "--explain", metavar="PATH.jsonl",
        help="also write one JSON line per clip: each member's labels or error, the clusters, the judge's "
             "score and keep/drop decision per candidate, the answer (written only when the run succeeds)",
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


def record_failures(out: str | Path, failures: Failures) -> None:
    """Write `<out>.failures.jsonl` when some clip failed; otherwise remove an older run's."""
    path = failures_path(out)
    records = failure_records(failures)
    if records:
        atomic_write_text(path, jsonl_text(records))
        log.warning("%d failed (member, clip) pairs, each with its error, in %s", len(records), path)
    elif path.is_file():
        path.unlink()


def run(config, clips=None, allow_missing: bool = False, out: str | Path | None = None,
        explain: list[str] | None = None) -> dict[str, list[str]]:
    """The submission's answers. out: the submission's path, whose failures file this writes;
    explain: a list that receives the explain file's text (written by the caller with the submission)."""
    prepared = prepare(config, clips=clips, progress=True)
    if out is not None:
        record_failures(out, prepared.failures)
    unanswered = prepared.unanswered()
    if unanswered and not allow_missing:
        raise InputError(
            f"{len(unanswered)} of {len(prepared.clips)} clips got no answer from any member (e.g. {unanswered[0]}; "
            "see the failures above); finished clips are cached, so a rerun redoes only these; "
            "--allow-missing writes them with empty answers"
        )
    judge = ready_judge(config, prepared)
    predictions = judge_clips(config, prepared, judge)
    if explain is not None:
        with paused_gc():  # millions of small acyclic objects: see core/bulk.py
            records = explain_records(judge, prepared.ballots, prepared.labels, prepared.failures, predictions)
            explain.append(jsonl_text(records))
    return predictions


def main(args, overrides) -> int:
    config = load_config(args.config, overrides, data_root=args.data_root)
    if args.trust_pickle:
        trust_pickles(config)
    inputs = [args.config or DEFAULT_CONFIG, args.clips, args.subtitles, *input_files(config)]
    check_output_path(args.out, inputs)
    if args.explain:
        check_output_path(args.explain, inputs)
        if Path(args.explain).resolve() in (Path(args.out).resolve(), failures_path(args.out).resolve()):
            raise InputError(f"{args.explain}: the explain file must differ from --out and its failures file")
    explained: list[str] | None = [] if args.explain else None
    predictions = run(config, clips_of(args), args.allow_missing, out=args.out, explain=explained)
    if explained is not None:
        atomic_write_text(args.explain, explained[0])
        log.info("wrote the explanation of %d clips to %s", len(predictions), args.explain)
    write_label_csv(args.out, predictions)
    log.info("wrote %d clips to %s", len(predictions), args.out)
    return 0
