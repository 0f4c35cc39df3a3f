"""Label extraction measured against the Qwen2.5-7B-extracted labels, on the 200 dev clips.

For the 10 OV-MER baselines (`nosubtitle-addsub` descriptions) and AffectGPT epoch 30, prints
one JSON object with EW-L1 F and M-avg (2025 lexicon) of:
  qwen          the stored labels that Qwen2.5-7B-Instruct extracted from the same descriptions
  naive         every non-stoplisted lexicon form anywhere in the text (no negation, no focus)
  rules         RuleExtractor with its defaults (chosen while developing on these dev clips:
                in-sample, reported for reference only)
  rules_cv      RuleExtractor whose settings (n_focus, keep_examples, keep_hedged, merged_first, keep_generic) are chosen per
                fold on the 4 training folds, applied to the held-out fold
  learned_cv    LearnedExtractor fitted on the 4 training folds (all members pooled), held-out fold
Folds: KFold(n_splits=5, shuffle=True, random_state=0) over the sorted dev clip names; the
out-of-fold predictions of the 5 folds are pooled and scored on all 200 clips.
Ensembles: k-of-n vote (LexiconVocabulary, surface output) over the 11 members' labels, k chosen
per fold on the training folds, for the stored Qwen labels and for each extractor.

Usage: python experiments/extract_eval.py [--data ../shared/data] > extract_eval.json
"""
from __future__ import annotations

import argparse
import itertools
import json
import logging
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.labels import read_label_csv  # noqa: E402
from core.metrics import ew_scores  # noqa: E402
from core.settings import resolve_data_root  # noqa: E402
from judge.tuning import folds  # noqa: E402
from members.extract.learned import LearnedExtractor  # noqa: E402
from members.extract.rules import RuleExtractor  # noqa: E402
from members.readers import read_outputs  # noqa: E402
from vocab.lexicon import load_lexicon  # noqa: E402

BASELINES = (
    "Chat-UniVi", "LLaMA-VID", "Otter", "Qwen-Audio", "SALMONN",
    "Video-ChatGPT", "Video-LLaVA", "VideoChat", "VideoChat2", "mPLUG-Owl",
)
AFFECTGPT = "AffectGPT-e30"
RULE_GRID = {
    "n_focus": (1, 2, 3), "keep_examples": (False, True), "keep_hedged": (False, True), "merged_first": (False, True),
    "keep_generic": (False, True),
}


def member_paths(data: Path) -> dict[str, Path]:
    paths = {m: data / f"ovmerd/members/ovmer_baselines/{m}/output-reason-7b-nosubtitle-addsub-eng" for m in BASELINES}
    paths[AFFECTGPT] = data / "ovmerd/members/affectgpt/checkpoint_000030_loss_0.602"
    return paths


def score(gold, pred, lexicon, clips) -> dict:
    scores = ew_scores({c: gold[c] for c in clips}, {c: pred[c] for c in clips}, lexicon).as_dict()
    return {"l1_f": round(scores["l1_f"], 2), "m_avg": round(scores["m_avg"], 2), "l1_p": round(scores["l1_p"], 2),
            "l1_r": round(scores["l1_r"], 2)}


def l1_f(gold, pred, lexicon, clips) -> float:
    return ew_scores({c: gold[c] for c in clips}, {c: pred[c] for c in clips}, lexicon).level(1)


def rules_cv(descriptions, gold, lexicon_dir, lexicon, split) -> dict[str, dict[str, list[str]]]:
    """Per fold: the grid setting with the best mean training-fold EW-L1 F over members."""
    settings = [dict(zip(RULE_GRID, values)) for values in itertools.product(*RULE_GRID.values())]
    outputs = []
    for setting in settings:
        extractor = RuleExtractor(lexicon=lexicon_dir, **setting)
        outputs.append({m: extractor.extract_many(texts, m) for m, texts in descriptions.items()})
    result: dict[str, dict[str, list[str]]] = {m: {} for m in descriptions}
    chosen = []
    for train, test in split:
        means = [np.mean([l1_f(gold, out[m], lexicon, train) for m in descriptions]) for out in outputs]
        best = int(np.argmax(means))
        chosen.append(settings[best])
        for m in descriptions:
            result[m].update({c: outputs[best][m][c] for c in test})
    logging.info("rules_cv settings per fold: %s", chosen)
    return result, chosen


def learned_cv(descriptions, gold, lexicon_dir, split, **params):
    """Per fold: fit on the training clips of all members pooled; returns OOF labels and all-clip labels per fold."""
    oof: dict[str, dict[str, list[str]]] = {m: {} for m in descriptions}
    per_fold = []
    for train, test in split:
        extractor = LearnedExtractor(lexicon=lexicon_dir, **params).fit(descriptions, {c: gold[c] for c in train})
        labels = {m: extractor.extract_many(texts, m) for m, texts in descriptions.items()}
        for m in descriptions:
            oof[m].update({c: labels[m][c] for c in test})
        per_fold.append(labels)
    return oof, per_fold


def vote_cv(labels_per_fold, gold, lexicon_dir, lexicon, split) -> tuple[dict, list[int]]:
    """k-of-n vote over members, k chosen on each fold's training clips; labels_per_fold[i] = {member: {clip: labels}}."""
    from judge.vote import KOfNVote
    from vocab.ballot import make_ballot
    from vocab.clusters import LexiconVocabulary

    vocabulary = LexiconVocabulary(lexicon=lexicon_dir).fit()
    n_members = len(labels_per_fold[0])
    predictions, ks = {}, []
    for (train, test), labels in zip(split, labels_per_fold):
        ballots = {c: make_ballot(c, {m: labels[m][c] for m in labels if c in labels[m]}, vocabulary) for c in sorted(gold)}
        best = max(
            range(1, n_members + 1),
            key=lambda k: (l1_f(gold, KOfNVote(k=k).predict([ballots[c] for c in train]), lexicon, train), -k),
        )
        ks.append(best)
        predictions.update(KOfNVote(k=best).predict([ballots[c] for c in test]))
    return predictions, ks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", dest="data", default=resolve_data_root())
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s")
    data = Path(args.data)
    lexicon_dir = str(data / "lexicon/mer2025")
    lexicon = load_lexicon(lexicon_dir)
    gold = read_label_csv(data / "ovmerd/gold_dev.csv")
    clips = sorted(gold)
    split = folds(clips, 5, 0)
    descriptions, qwen = {}, {}
    for member, stem in member_paths(data).items():
        texts = read_outputs(f"{stem}.npz", trust_pickle=True)  # the shared files are trusted
        labels = read_outputs(f"{stem}-openset.npz")
        descriptions[member] = {c: texts[c].description for c in clips}
        qwen[member] = {c: labels[c].labels for c in clips}

    naive = RuleExtractor(lexicon=lexicon_dir, focus="all", keep_examples=True, keep_hedged=True, resolve_negation=False)
    naive_labels = {m: naive.extract_many(t, m) for m, t in descriptions.items()}
    rules = RuleExtractor(lexicon=lexicon_dir)
    rule_labels = {m: rules.extract_many(t, m) for m, t in descriptions.items()}
    cv_rule_labels, rule_settings = rules_cv(descriptions, gold, lexicon_dir, lexicon, split)
    learned_labels, learned_per_fold = learned_cv(descriptions, gold, lexicon_dir, split)

    systems = {"qwen": qwen, "naive": naive_labels, "rules": rule_labels, "rules_cv": cv_rule_labels,
               "learned_cv": learned_labels}
    table = {m: {name: score(gold, labels[m], lexicon, clips) for name, labels in systems.items()} for m in descriptions}
    averages = {
        name: {key: round(float(np.mean([table[m][name][key] for m in BASELINES])), 2) for key in ("l1_f", "m_avg")}
        for name in systems
    }
    worst_gap = {
        name: round(min(table[m][name]["l1_f"] - table[m]["qwen"]["l1_f"] for m in BASELINES), 2) for name in systems
    }
    ensembles = {}
    for name, labels in (("qwen", qwen), ("rules", rule_labels), ("rules_cv", cv_rule_labels)):
        prediction, ks = vote_cv([labels] * len(split), gold, lexicon_dir, lexicon, split)
        ensembles[name] = {**score(gold, prediction, lexicon, clips), "k_per_fold": ks}
    prediction, ks = vote_cv(learned_per_fold, gold, lexicon_dir, lexicon, split)
    ensembles["learned_cv"] = {**score(gold, prediction, lexicon, clips), "k_per_fold": ks}
    print(json.dumps({
        "clips": len(clips), "lexicon": "mer2025", "folds": "KFold(5, shuffle=True, random_state=0) over sorted dev clips",
        "per_member": table, "average_10_baselines": averages, "worst_l1_f_gap_vs_qwen_10_baselines": worst_gap,
        "rules_cv_settings_per_fold": rule_settings, "ensemble_11_members_kofn": ensembles,
    }, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
