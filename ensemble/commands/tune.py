"""`tune`: choose judge parameters by k-fold cross-validation on gold clips, write a tuned config."""
from __future__ import annotations

import json
import logging
from pathlib import Path

from omegaconf import OmegaConf

from ensemble.config import load_config, save_config
from ensemble.errors import InputError
from ensemble.labels import atomic_write_text, read_label_csv
from ensemble.metrics.mer2024 import ZipGrouper
from ensemble.pipeline import build_judge, prepare
from judge.tuning import Scorer, cross_validate, expand_grid, folds
from vocab.lexicon import load_lexicon

log = logging.getLogger(__name__)


def add_arguments(parser) -> None:
    parser.add_argument("--config", help="ensemble config YAML (default: configs/ovmerd.yaml)")
    parser.add_argument("--gold", required=True, help="gold CSV (name,openset): the only clips tuning looks at")
    parser.add_argument("--out", required=True, help="tuned config YAML to write (takes `run --config`)")
    parser.add_argument("--report", help="also write the cross-validation report here (JSON)")
    parser.add_argument("--groupings", help="cached GPT groupings zip: adds MER2024 Avg to the report")
    parser.add_argument("--data-root", help="data folder (default: $OVMER_DATA or the config's data_root)")


def member_rows(prepared, gold, scorer, clip_folds) -> dict[str, list[dict]]:
    """Each member alone, scored on the same held-out folds as the ensemble."""
    rows = {}
    for member, per_clip in prepared.labels.items():
        rows[member] = [scorer({c: gold[c] for c in test}, {c: per_clip.get(c, []) for c in test}) for _, test in clip_folds]
    return rows


def summarise(fold_scores: list[dict]) -> dict:
    import numpy as np

    return {k: {"mean": float(np.mean([s[k] for s in fold_scores])), "std": float(np.std([s[k] for s in fold_scores]))} for k in fold_scores[0]}


def tune(config, gold_path: str, groupings: str | None = None) -> tuple[dict, dict]:
    """Returns (final judge params, report)."""
    gold = read_label_csv(gold_path)
    prepared = prepare(config)
    scorer = Scorer(load_lexicon(config.lexicon), ZipGrouper(groupings) if groupings else None)
    grid = expand_grid(OmegaConf.to_container(config.tune.grid, resolve=True))
    result = cross_validate(
        lambda params: build_judge(config, params),
        grid,
        prepared.ballots,
        gold,
        scorer,
        objective=config.tune.objective,
        n_folds=config.tune.folds,
        seed=config.tune.seed,
    )
    gold_clips = sorted(c for c in gold if c in set(prepared.clips))
    members = member_rows(prepared, gold, scorer, folds(gold_clips, config.tune.folds, config.tune.seed))
    report = {
        "gold": str(gold_path),
        "n_clips": len(gold_clips),
        "folds": config.tune.folds,
        "seed": config.tune.seed,
        "objective": config.tune.objective,
        "ensemble": {"cv": result.summary(), "fold_params": result.fold_params, "final_params": result.final_params},
        "members": {m: summarise(rows) for m, rows in members.items()},
    }
    return result.final_params, report


def _print_table(report: dict) -> None:
    objective = report["objective"]
    log.info("cross-validated on %d gold clips, %d folds (mean ± std over held-out folds):", report["n_clips"], report["folds"])
    rows = [("ensemble", report["ensemble"]["cv"])] + list(report["members"].items())
    for name, cv in rows:
        log.info(
            "  %-16s EW-L1 F %5.2f ± %4.2f   M-avg %5.2f ± %4.2f   P %5.2f  R %5.2f",
            name, cv["ew_l1_f"]["mean"], cv["ew_l1_f"]["std"], cv["m_avg"]["mean"], cv["m_avg"]["std"],
            cv["ew_l1_p"]["mean"], cv["ew_l1_r"]["mean"],
        )
    best = max(report["members"], key=lambda m: report["members"][m][objective]["mean"])
    log.info("best single member by %s: %s; chosen parameters: %s", objective, best, report["ensemble"]["final_params"])


def main(args, overrides) -> int:
    config = load_config(args.config, overrides, data_root=args.data_root)
    params, report = tune(config, args.gold, args.groupings)
    _print_table(report)
    tuned = config.copy()
    for key, value in params.items():
        tuned.judge[key] = value
    if args.report:
        atomic_write_text(args.report, json.dumps(report, indent=2) + "\n")
    save_config(tuned, args.out)
    log.info("wrote %s", args.out)
    return 0
