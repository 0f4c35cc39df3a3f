"""`analyze`: an error-analysis page of a submission, from its explain file and a gold file.

    run_ensemble.py run --out sub.csv --explain sub.explain.jsonl
    run_ensemble.py analyze --pred sub.csv --explain sub.explain.jsonl --gold gold.csv --out page.html

writes ONE self-contained HTML file (no network): a per-clip table that sorts and filters,
each member's precision and recall, the label-count histogram against gold's, and the
precision-recall curves of the judge's scores with the submission's point
(ensemble/analysis.py computes, ensemble/analysis_page.py draws). Only the gold clips are shown.
"""
from __future__ import annotations

import logging
from pathlib import Path

from core.errors import InputError
from core.files import atomic_write_text, check_output_path
from core.labels import read_label_csv
from core.settings import default_lexicon
from ensemble.analysis import analyse, read_explain
from ensemble.analysis_page import render_page
from vocab.lexicon import load_lexicon

log = logging.getLogger(__name__)


def add_arguments(parser) -> None:
    parser.add_argument("--pred", required=True, help="the submission CSV (name,openset) that `run` wrote")
    parser.add_argument("--explain", required=True, help="its explain file (`run --explain PATH.jsonl`)")
    parser.add_argument("--gold", required=True, help="gold CSV (name,openset); the page shows these clips")
    parser.add_argument("--out", required=True, help="the HTML page to write")
    parser.add_argument("--lexicon", help="lexicon folder (default: DATA_ROOT/lexicon/mer2025)")
    parser.add_argument("--data-root", help="data folder, for the default lexicon (default: $OVMER_DATA or ../shared/data)")
    parser.add_argument("--title", default="", help="the page's title (default: Error analysis: PRED's file name)")


def main(args, overrides) -> int:
    if overrides:
        raise InputError(f"analyze takes no key=value overrides, got {overrides[0]!r}")
    check_output_path(args.out, [args.pred, args.explain, args.gold])
    gold = read_label_csv(args.gold)
    submission = read_label_csv(args.pred)
    records = read_explain(args.explain)
    lexicon = load_lexicon(args.lexicon or default_lexicon(args.data_root))
    analysis = analyse(gold, submission, records, lexicon, submission_name=Path(args.pred).name,
                       explain_path=args.explain, submission_path=args.pred)
    atomic_write_text(args.out, render_page(analysis, args.title))
    log.info("wrote the analysis of %d gold clips to %s", analysis.n_clips, args.out)
    return 0
