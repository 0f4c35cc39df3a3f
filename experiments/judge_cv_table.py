"""The issue-3 table: nested 5-fold CV figures (EW-L1 F / M-avg, mean and spread over the
held-out folds) of single members, k-of-n, and the tuner's choice among all strategies.

Every row uses the same folds (KFold(5, shuffle, seed 0) over the sorted gold clips).
Everything an ensemble row chooses (strategy, parameters, thresholds, learned weights) is
chosen on the training folds only. Prints one JSON object on stdout.

    python experiments/judge_cv_table.py --gold ../shared/data/ovmerd/gold_dev.csv [--jobs 2]
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from omegaconf import OmegaConf  # noqa: E402

from ensemble.commands.tune import tune  # noqa: E402
from ensemble.config import load_config  # noqa: E402

CONFIGS = {"ovmerd": "configs/ovmerd.yaml", "ovmerd_all_ckpt": "configs/ovmerd_all_ckpt.yaml"}


def row(cv: dict) -> dict:
    return {k: {"mean": round(cv[k]["mean"], 2), "std": round(cv[k]["std"], 2)} for k in ("ew_l1_f", "m_avg", "ew_l1_p", "ew_l1_r")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", required=True)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--data-root")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    table: dict = {"gold": args.gold, "rows": {}}
    root = Path(__file__).resolve().parent.parent
    for name, path in CONFIGS.items():
        config = load_config(root / path, data_root=args.data_root)
        full_grid = OmegaConf.to_container(config.tune.grid)
        for label, grid in (("kofn", {"kofn": full_grid["kofn"]}), ("all_strategies", full_grid)):
            OmegaConf.update(config, "tune.grid", grid, merge=False)
            params, report, _ = tune(config, args.gold, n_jobs=args.jobs, loo=False)
            table["rows"][f"{name}/{label}"] = {
                **row(report["ensemble"]["cv"]),
                "fold_choices": report["ensemble"]["fold_params"],
                "final_choice": params,
                "n_candidates": report["n_candidates"],
            }
        for member, cv in report["members"].items():
            if member.startswith("AffectGPT"):
                table["rows"][f"member/{member}"] = row(cv)
    print(json.dumps(table, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
