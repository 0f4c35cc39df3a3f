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
from core.labels import write_label_csv, write_label_npz
from core.uses import PathUse
from ensemble.commands.clip_args import add_clip_arguments, clips_of
from ensemble.config import DEFAULT_CONFIG, config_inputs, load_config, trust_pickles
from ensemble.explain import explain_records, failure_records, failures_path, jsonl_text
from ensemble.pipeline import Failures, Parts, build_parts, config_clips, judge_chunks, prepare, prepared_judge

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
    parser.add_argument(
        "--explain", metavar="PATH.jsonl",
        help="also write one JSON line per clip: each member's labels or error, the clusters, the judge's "
             "score and keep/drop decision per candidate, the answer (written only when the run succeeds)",
    )


def submission_format(out: str, chosen: str | None) -> str:
    form = chosen or ("openset-npz" if str(out).lower().endswith(".npz") else "csv")
    if form == "openset-npz" and not str(out).endswith("-openset.npz"):
        log.warning("%s: the Codalab open-vocabulary track takes files named *-openset.npz", out)
    return form


def record_failures(out: str | Path, failures: Failures) -> None:
    """Write `<out>.failures.jsonl` when some clip failed; otherwise remove an older run's."""
    path = failures_path(out)
    records = failure_records(failures)
    if records:
        atomic_write_text(path, jsonl_text(records))
        log.warning("%d failed (member, clip) pairs, each with its error, in %s", len(records), path)
    elif path.is_file():
        path.unlink()


def run(config, clips=None, allow_missing: bool = False, parts: Parts | None = None, out: str | Path | None = None,
        explain: list[str] | None = None) -> dict[str, list[str]]:
    """The submission's answers. out: the submission's path, whose failures file this writes;
    explain: a list that receives the explain file's text, a part per chunk of clips (written
    by the caller with the submission)."""
    # The parts are built with the judge's state read before any member runs.
    parts = parts if parts is not None else build_parts(config, ready=True)
    on_failures = None if out is None else (lambda failures: record_failures(out, failures))
    prepared = prepare(config, clips=clips, progress=True, allow_missing=allow_missing, parts=parts, on_failures=on_failures)
    judge = prepared_judge(config, prepared)
    predictions: dict[str, list[str]] = {}
    # Judged (and explained) a chunk of clips at a time: no more than one chunk's ballots are held.
    for ballots, answers in judge_chunks(config, prepared, judge, progress=True):
        predictions.update(answers)
        if explain is not None:
            with paused_gc():  # many small acyclic objects: see core/bulk.py
                explain.append(jsonl_text(explain_records(judge, ballots, prepared.labels, prepared.failures, answers)))
    return predictions


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
    uses = [*inputs, *media, *parts.paths()]
    check_output_path(args.out, uses)
    check_output_path(failures_path(args.out), uses)
    if args.explain:
        check_output_path(args.explain, uses)
        if Path(args.explain).resolve() in (Path(args.out).resolve(), failures_path(args.out).resolve()):
            raise InputError(f"{args.explain}: the explain file must differ from --out and its failures file")
    write = WRITERS[submission_format(args.out, args.format)]
    explained: list[str] | None = [] if args.explain else None
    predictions = run(config, clips, args.allow_missing, parts, out=args.out, explain=explained)
    if explained is not None:
        atomic_write_text(args.explain, "".join(explained))
        log.info("wrote the explanation of %d clips to %s", len(predictions), args.explain)
    write(args.out, predictions)
    log.info("wrote %d clips to %s", len(predictions), args.out)
    return 0
