"""Effect of the vocabulary layer on the k-of-n ensemble of configs/ovmerd.yaml (prints JSON).

Members: the 10 OV-MER baselines (`nosubtitle-addsub` label files) + AffectGPT epoch 30.
For each vocabulary, ballots are made over the dev clips and a k-of-n vote is scored with the
EW metrics (2025 lexicon). k is chosen per fold on the 4 training folds by EW-L1 F and the
held-out fold is scored (KFold(n_splits=5, shuffle=True, random_state=0) over sorted clip
names, the same folds for every row). Rows whose vocabulary has a free attach threshold
choose it together with k on the training folds ("cv" rows).

    python experiments/vocab_ensemble_effect.py [--data-root ../shared/data]
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.labels import normalise_label, read_label_csv  # noqa: E402
from core.metrics import ew_scores  # noqa: E402
from core.settings import resolve_data_root  # noqa: E402
from judge.tuning import folds as clip_folds  # noqa: E402
from judge.vote import KOfNVote  # noqa: E402
from members.readers import read_label_sets  # noqa: E402
from vocab.ballot import make_ballot  # noqa: E402
from vocab.clusters import LexiconVocabulary  # noqa: E402
from vocab.lexicon import load_lexicon  # noqa: E402
from vocab.semantic import EmbeddingVocabulary, WordNetVocabulary  # noqa: E402

BASELINES = ("Chat-UniVi", "LLaMA-VID", "Otter", "Qwen-Audio", "SALMONN", "Video-ChatGPT",
             "Video-LLaVA", "VideoChat", "VideoChat2", "mPLUG-Owl")
KS = range(1, 12)
# Highest first: among settings tied on training EW-L1 F, the first (most conservative) wins.
ATTACH_THRESHOLDS = (0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55, 0.5, 0.0)


def member_files(root: Path) -> dict[str, Path]:
    files = {m: root / f"ovmerd/members/ovmer_baselines/{m}/output-reason-7b-nosubtitle-addsub-eng-openset.npz" for m in BASELINES}
    files["AffectGPT-e30"] = root / "ovmerd/members/affectgpt/checkpoint_000030_loss_0.602-openset.npz"
    return files


def score_table(vocabulary, labels, gold, clips, lexicon, folds):
    """scores[k][fold] = (EW-L1 F, M-avg) on that fold's clips; train scores likewise on the complement."""
    ballots = [make_ballot(c, {m: labels[m][c] for m in labels if c in labels[m]}, vocabulary) for c in clips]
    table = {}
    for k in KS:
        predictions = KOfNVote(k=k).predict(ballots)
        table[k] = []
        for train, test in folds:
            row = {}
            for part, subset in (("train", train), ("test", test)):
                scores = ew_scores({c: gold[c] for c in subset}, {c: predictions[c] for c in subset}, lexicon).as_dict()
                row[part] = (scores["l1_f"], scores["m_avg"])
            table[k].append(row)
    return table


def cross_validate(tables: dict, n_folds: int) -> dict:
    """Pick (setting, k) per fold by training EW-L1 F; report the held-out figures.

    Ties go to the smaller k, then to the setting listed first."""
    chosen, l1, mavg = [], [], []
    for fold in range(n_folds):
        setting, k = max(
            ((s, k) for s, table in tables.items() for k in table),
            key=lambda sk: (tables[sk[0]][sk[1]][fold]["train"][0], -sk[1]),
        )
        test = tables[setting][k][fold]["test"]
        chosen.append({"setting": setting, "k": k})
        l1.append(test[0])
        mavg.append(test[1])
    return {
        "ew_l1_f_mean": float(np.mean(l1)), "ew_l1_f_std": float(np.std(l1)),
        "m_avg_mean": float(np.mean(mavg)), "m_avg_std": float(np.std(mavg)),
        "ew_l1_f_per_fold": l1, "m_avg_per_fold": mavg, "chosen_per_fold": chosen,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-root", default=resolve_data_root())
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    root = Path(args.data_root)
    lexicon_dir = str(root / "lexicon/mer2025")
    lexicon = load_lexicon(lexicon_dir)
    gold = read_label_csv(root / "ovmerd/gold_dev.csv")
    labels = {name: read_label_sets(path) for name, path in member_files(root).items()}
    clips = sorted(gold)
    folds = clip_folds(clips, 5, 0)
    words = sorted({normalise_label(w) for per_clip in labels.values() for c in clips for w in per_clip.get(c, [])})

    rows = {
        "lexicon": {"lexicon": LexiconVocabulary(lexicon=lexicon_dir)},
        "wordnet": {"wordnet": WordNetVocabulary(lexicon=lexicon_dir)},
        "full_no_attach": {"full_no_attach": EmbeddingVocabulary(lexicon=lexicon_dir, attach_oov=False)},
        "full_attach_cv": {
            f"attach>={t}": EmbeddingVocabulary(lexicon=lexicon_dir, attach_threshold=t) for t in ATTACH_THRESHOLDS
        },
    }
    result = {"clips": len(clips), "members": list(labels), "protocol": "KFold(5, shuffle, rs=0) by clip; k (and attach threshold) chosen on 4 training folds by EW-L1 F", "rows": {}}
    for row, settings in rows.items():
        tables = {name: score_table(vocab.fit(words), labels, gold, clips, lexicon, folds) for name, vocab in settings.items()}
        result["rows"][row] = cross_validate(tables, len(folds))
    oov = [w for w in words if w not in lexicon.format_mapping]
    result["member_words"] = {"distinct": len(words), "outside_lexicon": len(oov)}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
