"""What the size-prior prototype calibrates on each outer training fold: (beta or lambda, gamma).

repeated_cv.py reports the held-out scores of the rows `h16/*_prior`; the calibrated values are
fitted state it does not return. This refits the same judges on the same outer training folds
(the clips of --exclude removed first) and prints one JSON object: per row and seed, the
threshold and gamma each fold chose. Nothing is scored or predicted.

    python experiments/size_prior_choices.py --gold GOLD --exclude experiments/lockbox.txt
        --seeds 21 22 23 --rows h16/pooled_pr_prior,h16/flat_f_prior
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import Counter
from pathlib import Path

from joblib import Parallel, delayed

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.labels import read_label_csv  # noqa: E402
from experiments.repeated_cv import exclude_clips, row_setup  # noqa: E402
from judge.tuning import folds, gold_clips_of, make_judge  # noqa: E402

log = logging.getLogger("size_prior_choices")


def fitted_choice(params, shared, train, gold) -> tuple[float, float]:
    judge = make_judge(params, shared).fit(train, {b.clip: gold[b.clip] for b in train})
    return judge.threshold_, judge.gamma_


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", required=True)
    parser.add_argument("--exclude")
    parser.add_argument("--seeds", type=int, nargs="+", required=True)
    parser.add_argument("--rows", required=True)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--data-root")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    gold = exclude_clips(read_label_csv(args.gold), args.exclude)
    out = {"gold": args.gold, "exclude": args.exclude, "seeds": args.seeds, "rows": {}}
    for name in args.rows.split(","):
        params, shared, prepared = row_setup(name, args.data_root)
        by_clip = {b.clip: b for b in prepared.ballots}
        clips = gold_clips_of(prepared.ballots, gold)
        row = {}
        for seed in args.seeds:
            splits = folds(clips, 5, seed)
            chosen = Parallel(n_jobs=args.jobs)(
                delayed(fitted_choice)(params, shared, [by_clip[c] for c in train], gold) for train, _ in splits)
            row[seed] = [{"threshold": t, "gamma": g} for t, g in chosen]
        gammas = Counter(c["gamma"] for seed in row.values() for c in seed)
        log.info("%s: gamma chosen %s", name, dict(sorted(gammas.items())))
        out["rows"][name] = row
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
