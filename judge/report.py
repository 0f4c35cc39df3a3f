"""What a tuning report shows beyond the cross-validated table: a precision-recall curve over
the judge's threshold, and each member's leave-one-out contribution.

Both use the final parameters refitted on each outer fold's training clips and scored on
its held-out clips (the same folds as every other row). They describe the chosen judge;
they choose nothing.
"""
from __future__ import annotations

import logging
from typing import Any, Mapping, Sequence

import numpy as np

from core.jsoncache import JsonCache
from core.progress import progress
from judge.tuning import Gold, ScorerSpec, fit_and_score, fit_code_version, make_judge, summarise
from vocab.ballot import ClipBallot

log = logging.getLogger(__name__)


def pr_curve(
    params: Mapping[str, Any],
    shared: Mapping[str, Any],
    ballots: Sequence[ClipBallot],
    gold: Gold,
    splits: Sequence[tuple[list[str], list[str]]],
    scorer: ScorerSpec,
) -> dict:
    """Held-out P/R/F (mean over folds) at each threshold, and each fold's own chosen threshold."""
    by_clip = {b.clip: b for b in ballots}
    score = scorer.build()
    reference = make_judge(params, shared).fit([by_clip[c] for c in sorted(by_clip) if c in gold], gold)
    thresholds = reference.threshold_grid([by_clip[c] for c in gold if c in by_clip])
    if not thresholds:
        return {"thresholds": [], "points": [], "chosen": []}
    per_threshold: list[list[dict]] = [[] for _ in thresholds]
    chosen = []
    for train, test in progress(splits, "PR curve", unit="fold"):
        judge = make_judge(params, shared).fit([by_clip[c] for c in train], {c: gold[c] for c in train})
        chosen.append(judge.get_threshold())
        for i, value in enumerate(thresholds):
            judge.set_threshold(value)
            per_threshold[i].append(score({c: gold[c] for c in test}, judge.predict([by_clip[c] for c in test])))
    points = [{"threshold": t, **{k: v["mean"] for k, v in summarise(rows).items()}} for t, rows in zip(thresholds, per_threshold)]
    return {"thresholds": thresholds, "points": points, "chosen": chosen}


def leave_one_out(
    params: Mapping[str, Any],
    shared: Mapping[str, Any],
    ballots: Sequence[ClipBallot],
    gold: Gold,
    splits: Sequence[tuple[list[str], list[str]]],
    scorer: ScorerSpec,
    members: Sequence[str],
    n_jobs: int = 1,
    cache_dir: str | None = None,
) -> dict[str, dict[str, float]]:
    """Per member: the judge's CV figures without it, and the drop that removing it costs."""
    from joblib import Parallel, delayed

    job = JsonCache(fit_and_score, cache_dir) if cache_dir else fit_and_score
    by_clip = {b.clip: b for b in ballots}
    variants = [None, *members]

    def ballots_without(member, clips):
        return [by_clip[c] if member is None else by_clip[c].without([member]) for c in clips]

    tasks = [(m, j) for m in variants for j in range(len(splits))]
    version = fit_code_version()
    results = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(job)(params, shared, ballots_without(m, splits[j][0]), ballots_without(m, splits[j][1]), gold, scorer, version)
        for m, j in tasks
    )
    scores: dict[Any, list] = {}
    for (m, _), (row, _) in zip(tasks, progress(results, "leave-one-out", total=len(tasks), unit="fit")):
        scores.setdefault(m, []).append(row)
    full = summarise(scores[None])
    out = {}
    for m in members:
        without = summarise(scores[m])
        out[m] = {
            "ew_l1_f_without": without["ew_l1_f"]["mean"],
            "m_avg_without": without["m_avg"]["mean"],
            "ew_l1_f_contribution": full["ew_l1_f"]["mean"] - without["ew_l1_f"]["mean"],
            "m_avg_contribution": full["m_avg"]["mean"] - without["m_avg"]["mean"],
        }
    return out


def label_counts(answers: Mapping[str, Sequence[str]]) -> dict:
    """How many labels the answers give a clip: {"histogram": [clips with 0, 1, ... labels], "mean", "max"}."""
    sizes = np.array([len(words) for words in answers.values()], dtype=np.int64)
    return {"histogram": np.bincount(sizes).tolist() if len(sizes) else [], "mean": float(sizes.mean()) if len(sizes) else 0.0,
            "max": int(sizes.max(initial=0))}


def plot_pr_curve(curve: Mapping, members: Mapping[str, Mapping], ensemble: Mapping, path: str, title: str) -> None:
    """PNG: the judge's held-out P/R over its threshold, each member alone, and the tuned ensemble."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5.5), dpi=110)
    points = curve.get("points", [])
    if points:
        ax.plot([p["ew_l1_r"] for p in points], [p["ew_l1_p"] for p in points], "-o", ms=3, label="judge, threshold swept")
        for p in points[:: max(len(points) // 8, 1)]:
            ax.annotate(f"{p['threshold']:.3g}", (p["ew_l1_r"], p["ew_l1_p"]), fontsize=7, xytext=(3, 3), textcoords="offset points")
    for name, row in members.items():
        ax.plot(row["ew_l1_r"]["mean"], row["ew_l1_p"]["mean"], "s", ms=5, color="grey")
        ax.annotate(name, (row["ew_l1_r"]["mean"], row["ew_l1_p"]["mean"]), fontsize=6, xytext=(3, -8), textcoords="offset points")
    ax.plot(ensemble["ew_l1_r"]["mean"], ensemble["ew_l1_p"]["mean"], "*", ms=14, color="red", label="tuned ensemble (nested CV)")
    ax.set_xlabel("EW-L1 recall (%), held-out folds")
    ax.set_ylabel("EW-L1 precision (%), held-out folds")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
