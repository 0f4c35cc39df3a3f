"""Fit the learned extractor on gold and save its state (JSON) for `extractor: {type: learned, state: ...}`.

Fits on every clip of --gold (use the training clips only when the result will be scored on
others), pooling the descriptions of the 10 OV-MER baselines and AffectGPT epoch 30, or of the
description files given with --member NAME=PATH (repeatable). Prints a JSON summary.

Usage: python experiments/extract_fit.py --out learned_extractor.json [--gold GOLD.csv] [--member NAME=PATH ...]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from extract_eval import member_paths  # noqa: E402

from core.labels import read_label_csv  # noqa: E402
from core.settings import resolve_data_root  # noqa: E402
from members.extract.learned import LearnedExtractor  # noqa: E402
from members.readers import read_outputs  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", dest="data", default=resolve_data_root())
    parser.add_argument("--gold", default=None, help="gold CSV (default: DATA/ovmerd/gold_dev.csv)")
    parser.add_argument("--member", action="append", default=[], help="NAME=PATH of a description file")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    data = Path(args.data)
    gold = read_label_csv(args.gold or data / "ovmerd/gold_dev.csv")
    paths = dict(item.split("=", 1) for item in args.member) or {
        name: f"{stem}.npz" for name, stem in member_paths(data).items()
    }
    descriptions = {
        name: {c: o.description for c, o in read_outputs(path, trust_pickle=True).items() if c in gold}
        for name, path in paths.items()
    }
    extractor = LearnedExtractor(lexicon=str(data / "lexicon/mer2025")).fit(descriptions, gold)
    extractor.save(args.out)
    print(json.dumps({"out": args.out, "clips": len(gold), "members": sorted(descriptions),
                      "threshold": extractor.threshold_, "n_features": len(extractor.feature_names_)}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
