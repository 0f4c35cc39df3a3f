"""A markdown table of a repeated_cv.py JSON: per row, EW-L1 F and M-avg (mean over seeds, fold
spread, seed spread), the paired difference to a reference row (the same folds: mean and
spread of the fold-by-fold differences), and the labels per clip of the held-out predictions.

    python experiments/cv_table.py experiments/results/repeated_cv_h16.json --reference h16/select2_pr
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np


def fold_gains(row: dict, metric: str) -> np.ndarray:
    """The row's fold scores less the best member's on the same folds (repeated_cv stores
    these); differences of them between rows are the rows' paired fold differences."""
    key = "gain_ew_l1_f" if metric == "ew_l1_f" else "gain_m_avg"
    return np.array([g for seed in sorted(row["seeds"]) for g in row["seeds"][seed][key]])


def table(result: dict, reference: str) -> str:
    rows = result["rows"]
    header = ("| row | EW-L1 F (fold sd, seed sd) | M-avg (fold sd, seed sd) | ΔF vs ref (sd) | ΔM vs ref (sd) "
              "| labels mean | max | % > 8 |")
    lines = [header, "|---|---|---|---|---|---|---|---|"]
    for name, row in rows.items():
        s = row["summary"]
        cells = [name]
        for metric in ("ew_l1_f", "m_avg"):
            cells.append(f"{s[metric]['mean']:.2f} ({s[metric]['std']:.2f}, {s[metric]['seed_std']:.2f})")
        for metric in ("ew_l1_f", "m_avg"):
            if reference in rows:
                d = fold_gains(row, metric) - fold_gains(rows[reference], metric)
                cells.append(f"{d.mean():+.2f} ({d.std():.2f})")
            else:
                cells.append("–")
        labels = row["labels"]
        cells += [f"{labels['mean']:.2f}", str(labels["max"]), f"{labels['share_above_8']:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    first = next(iter(rows.values()))
    gold = first["gold_labels"]
    lines.append(f"\ngold ({first['n_clips']} clips): labels mean {gold['mean']:.2f}, max {gold['max']}, "
                 f"{gold['share_above_8']:.1f}% above 8; seeds {result['seeds']}; reference row {reference}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("result")
    parser.add_argument("--reference", default="")
    args = parser.parse_args()
    with open(args.result, encoding="utf-8") as handle:
        print(table(json.load(handle), args.reference))
    return 0


if __name__ == "__main__":
    sys.exit(main())
