"""Labels per clip on the clips no gold file holds, for judges fitted on the design clips.

The issue's target for the default submission (all 532 clips: no clip above 10 labels, mean 3 to
4.5) counts clips the dev folds never see, among them the 200 clips only the 7 AffectGPT views
answer. This fits each row's judge once on the gold clips left after --exclude and counts the
labels it gives the clips outside the gold file (--gold; the lockbox clips are in it, so they are
never predicted here). Nothing is scored. Prints one JSON object.

    python experiments/label_counts_unlabelled.py --gold GOLD --exclude experiments/lockbox.txt
        --rows h16/pooled_pr,h16/pooled_pr_prior
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.labels import read_label_csv  # noqa: E402
from experiments.repeated_cv import exclude_clips, label_counts, row_setup  # noqa: E402
from judge.tuning import make_judge  # noqa: E402

log = logging.getLogger("label_counts_unlabelled")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", required=True)
    parser.add_argument("--exclude")
    parser.add_argument("--rows", required=True)
    parser.add_argument("--data-root")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    all_gold = read_label_csv(args.gold)
    gold = exclude_clips(all_gold, args.exclude)
    out = {"gold": args.gold, "exclude": args.exclude, "rows": {}}
    for name in args.rows.split(","):
        params, shared, prepared = row_setup(name, args.data_root)
        train = [b for b in prepared.ballots if b.clip in gold]
        unlabelled = [b for b in prepared.ballots if b.clip not in all_gold]
        judge = make_judge(params, shared).fit(train, {b.clip: gold[b.clip] for b in train})
        answers = judge.predict(unlabelled)
        by_members = {}
        for ballot in unlabelled:  # the clips all 32 views answer apart from those only AffectGPT's 7 do
            by_members.setdefault(len(ballot.members), []).append(len(answers.get(ballot.clip, [])))
        out["rows"][name] = {
            "n_clips": len(unlabelled),
            "all": label_counts([n for counts in by_members.values() for n in counts]),
            "by_members_present": {str(k): label_counts(v) for k, v in sorted(by_members.items())},
            "fitted": {"threshold": judge.threshold_, "gamma": getattr(judge, "gamma_", None)},
        }
        log.info("%s: %s", name, out["rows"][name]["all"])
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
