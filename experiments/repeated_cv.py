"""Repeated nested cross-validation: each config and ablation on several fold seeds.

For every (row, fold seed): nested 5-fold CV on the gold clips (judge/tuning.cross_validate:
strategy, parameters, thresholds and view selection chosen on the training folds only), the
held-out scores per fold, and the fold-by-fold gain over the best single member on the same
folds. The headline seeds (default 11, 12, 13) were not used while designing (seed 0 was).
Prints one JSON object on stdout (and a table on stderr).

    python experiments/repeated_cv.py --gold ../shared/data/ovmerd/gold_dev.csv [--seeds 11 12 13]
        [--rows default,ovmerd/category,...] [--objective ew_l1_f|mer2024_avg] [--groupings local] [--jobs 2]
        [--exclude experiments/lockbox.txt]

--exclude FILE removes the clips it lists (one name a line, `#` comments) from the gold before
anything else: from folds, tuning and scores alike (issue 16's lockbox).

Rows (config, judge grid): see ROWS. A member's `view_of:` key groups views (judge/evidence.py);
a plain `category` row votes every view on its own (pool_views: false).
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from omegaconf import OmegaConf  # noqa: E402

from core.jsoncache import JsonCache  # noqa: E402
from core.labels import read_label_csv  # noqa: E402
from ensemble.config import load_config  # noqa: E402
from ensemble.pipeline import prepare, shared_settings  # noqa: E402
from judge.tuning import (  # noqa: E402
    CVResult,
    ScorerSpec,
    candidates,
    cross_validate,
    fit_and_score,
    fit_code_version,
    folds,
    gold_clips_of,
    summarise,
)

log = logging.getLogger("repeated_cv")
ROOT = Path(__file__).resolve().parent.parent

CATEGORY = {"C": [0.3], "mappings": ["all"], "utility": ["expected_f"]}
ISSUE_GRID = {  # the grid of configs/ovmerd.yaml (the issue's "tuned judge")
    "kofn": {"k": [1, 2, 3, 4, 5, 6, 7, 8]},
    "category": {"mappings": ["l1", "all"], "utility": ["expected_f", "expected_pr"]},
}
VIEWS = "configs/ovmerd_views.yaml"
# The category judge with each model's views pooled; a plain "category" row votes every view alone.
VIEW_CATEGORY = "category+pooled"
TYPES = {"category": {"type": "category", "pool_views": False}, VIEW_CATEGORY: {"type": "category"}}
# name -> (config, grid). Ablations: every view as its own voter vs pooled into models, 0/1
# model votes vs view shares, view selection inside the training folds.
ROWS = {
    "ovmerd/issue_grid": ("configs/ovmerd.yaml", ISSUE_GRID),
    "ovmerd/category": ("configs/ovmerd.yaml", {"category": CATEGORY}),
    "views/issue_grid_flat": (VIEWS, ISSUE_GRID),
    "views/category_flat": (VIEWS, {"category": CATEGORY}),
    "views/pooled_shares": (VIEWS, {VIEW_CATEGORY: CATEGORY}),
    "views/pooled_shares_select2": (VIEWS, {VIEW_CATEGORY: {**CATEGORY, "views_per_model": [2]}}),
    "views/pooled_shares_select_cv": (VIEWS, {VIEW_CATEGORY: {**CATEGORY, "views_per_model": [0, 1, 2]}}),
    "views/pooled_shares_select1": (VIEWS, {VIEW_CATEGORY: {**CATEGORY, "views_per_model": [1]}}),
    "views/pooled_shares_select3": (VIEWS, {VIEW_CATEGORY: {**CATEGORY, "views_per_model": [3]}}),
    "views/select2_C1": (VIEWS, {VIEW_CATEGORY: {**CATEGORY, "views_per_model": [2], "C": [1.0]}}),
    "views/select2_C0.1": (VIEWS, {VIEW_CATEGORY: {**CATEGORY, "views_per_model": [2], "C": [0.1]}}),
    "views/select2_l1": (VIEWS, {VIEW_CATEGORY: {**CATEGORY, "views_per_model": [2], "mappings": ["l1"]}}),
    "views+desc/category_flat": (VIEWS + "+desc", {"category": CATEGORY}),
    "views+desc/pooled_shares": (VIEWS + "+desc", {VIEW_CATEGORY: CATEGORY}),
    "views+desc/select2": (VIEWS + "+desc", {VIEW_CATEGORY: {**CATEGORY, "views_per_model": [2]}}),
    "views+desc/select4": (VIEWS + "+desc", {VIEW_CATEGORY: {**CATEGORY, "views_per_model": [4]}}),
    # For the MER2024 track (--objective mer2024_avg): k-of-n votes (more labels, higher recall)
    # against the EW-tuned judge, chosen inside the training folds.
    "ovmerd/mer2024_grid": ("configs/ovmerd.yaml", {"kofn": {"k": [1, 2, 3, 4, 5, 6]}, "category": CATEGORY}),
    "views/mer2024_grid": (VIEWS, {"kofn": {"k": [2, 4, 6, 8, 10, 12]}, VIEW_CATEGORY: {**CATEGORY, "views_per_model": [2]}}),
    "default": (VIEWS, None),  # the default config's own tune grid
    # The expected_pr utility (judge/category.py): each clip maximises expected precision +
    # beta * expected recall, beta calibrated on the training folds.
    "ovmerd/own_grid": ("configs/ovmerd.yaml", None),
    "ovmerd/category_pr": ("configs/ovmerd.yaml", {"category": {**CATEGORY, "utility": ["expected_pr"]}}),
    "views/category_flat_pr": (VIEWS, {"category": {**CATEGORY, "utility": ["expected_pr"]}}),
    "views/pooled_shares_pr": (VIEWS, {VIEW_CATEGORY: {**CATEGORY, "utility": ["expected_pr"]}}),
    "views/select2_expected_f": (VIEWS, {VIEW_CATEGORY: {**CATEGORY, "views_per_model": [2]}}),
    "views/select2_pr_l1": (VIEWS, {VIEW_CATEGORY: {**CATEGORY, "views_per_model": [2], "utility": ["expected_pr"], "mappings": ["l1"]}}),
    "ovmerd/mer2024_grid_pr": ("configs/ovmerd.yaml", {"kofn": {"k": [1, 2, 3, 4, 5, 6]}, "category": {**CATEGORY, "utility": ["expected_pr"]}}),
    "views/mer2024_grid_pr": (VIEWS, {"kofn": {"k": [2, 4, 6, 8, 10, 12]},
                                      VIEW_CATEGORY: {**CATEGORY, "views_per_model": [2], "utility": ["expected_pr"]}}),
    # Issue 16 on the one category judge (the design rows, run on a measurement-only prototype, are in
    # results/repeated_cv_h16*.json and results/issue16_design_findings.md): the default before it (best
    # 2 views, no size prior), the size prior without the floor, and the default (`default` above).
    "h16/select2_pr_noprior": (VIEWS, {VIEW_CATEGORY: {**CATEGORY, "utility": ["expected_pr"], "views_per_model": [2],
                                                      "size_prior": [False]}}),
    "h16/pooled_pr_prior": (VIEWS, {VIEW_CATEGORY: {**CATEGORY, "utility": ["expected_pr"]}}),
    "h16/pooled_pr_prior_min3": (VIEWS, {VIEW_CATEGORY: {**CATEGORY, "utility": ["expected_pr"], "min_labels": [3]}}),
}



def split_models(config) -> dict[str, str]:
    """{member: model} from the members' `view_of:` keys, taken off the config (the same mapping
    ensemble.pipeline.shared_settings gives; the rows were measured this way)."""
    models = {}
    for entry in config.members:
        if "view_of" in entry:
            models[str(entry.name)] = str(entry.view_of)
            del entry["view_of"]
    return models


def grid_of(config, grid) -> list[dict]:
    """The candidates of a row: its grid, or (None) the config's own judge and tune.grid."""
    if grid is None:
        judge = OmegaConf.to_container(config.judge, resolve=True)
        return candidates(OmegaConf.to_container(config.tune.grid, resolve=True), judge.get("type", "kofn"), judge)
    return [{**TYPES.get(kind, {"type": kind}), **params} for kind, spec in grid.items() for params in _expand(spec)]


def _expand(spec: dict) -> list[dict]:
    import itertools

    keys = sorted(spec)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(spec[k] for k in keys))]


def scorer_spec(shared: dict, groupings: str | None) -> ScorerSpec:
    """"local": the local MER2024 grouper (vocab/grouper.py), fitted once per process; else a groupings zip."""
    if groupings == "local":
        return ScorerSpec(shared["lexicon"], grouper="local", cache_dir=shared["cache_dir"])
    return ScorerSpec(shared["lexicon"], groupings)


def evaluate(candidates, ballots, gold, spec, objective, seed, shared, jobs, cache) -> CVResult:
    """Nested CV; with one candidate there is nothing to choose, so the inner folds are skipped
    (the same held-out figures as nested CV, for a sixth of the fits)."""
    if len(candidates) > 1:
        return cross_validate(candidates, ballots, gold, spec, objective, 5, seed, shared, jobs, cache)
    from joblib import Parallel, delayed

    by_clip = {b.clip: b for b in ballots}
    clips = gold_clips_of(ballots, gold)
    gold = {c: list(gold[c]) for c in clips}
    splits = folds(clips, 5, seed)
    job = JsonCache(fit_and_score, cache) if cache else fit_and_score
    shared = {"objective": objective, **shared}
    results = Parallel(n_jobs=jobs)(
        delayed(job)(candidates[0], shared, [by_clip[c] for c in train], [by_clip[c] for c in test], gold, spec, fit_code_version())
        for train, test in splits
    )
    out_of_fold = {c: words for _, predictions in results for c, words in predictions.items()}
    return CVResult([r[0] for r in results], [dict(candidates[0])] * len(splits), dict(candidates[0]), out_of_fold, [], splits)


def add_description_views(config, trust_pickle: bool) -> None:
    """Beside each label-file member, a view of the same model from its description file (the
    rule extractor). The upstream description files are pickles: only with --trust-pickle."""
    if not trust_pickle:
        raise SystemExit("rows with description views read pickled npz files: pass --trust-pickle if you trust them")
    for entry in list(config.members):
        if str(entry.path).endswith("-openset.npz"):
            config.members.append({"name": f"{entry.name}-desc", "model": str(entry.get("model", entry.name)), "type": "described",
                                   "trust_pickle": True, "extractor": {"type": "rules"},
                                   "path": str(entry.path).replace("-openset.npz", ".npz")})


def row_setup(name: str, data_root: str | None):
    """(the row's one candidate, the shared settings, the prepared members) for scripts that fit a row's judge."""
    path, grid = ROWS[name]
    config = load_config(ROOT / path, data_root=data_root)
    models = split_models(config)
    prepared = prepare(config)
    shared = {**shared_settings(config), "objective": "ew_l1_f", **({"models": models} if models else {})}
    (params,) = grid_of(config, grid)
    return params, shared, prepared


def label_counts(counts: list[int]) -> dict:
    """Mean, max, share of clips above 8 (percent) and histogram (clips with 0, 1, ... labels) of labels-per-clip counts."""
    counts = np.asarray(counts)
    return {"mean": round(float(counts.mean()), 2), "max": int(counts.max()), "share_above_8": round(100 * float((counts > 8).mean()), 1),
            "histogram": np.bincount(counts).tolist()}


def run_row(name, path, grid, gold, seeds, objective, groupings, jobs, cache, data_root, trust_pickle=False) -> dict:
    config = load_config(ROOT / path.removesuffix("+desc"), data_root=data_root)
    if path.endswith("+desc"):
        add_description_views(config, trust_pickle)
    models = split_models(config)
    prepared = prepare(config)
    shared = {**shared_settings(config), "objective": objective}
    if models:
        shared["models"] = models
    spec = ScorerSpec(shared["lexicon"], None)
    scorer = scorer_spec(shared, groupings).build() if groupings else spec.build()
    tune_spec = scorer_spec(shared, groupings) if objective == "mer2024_avg" else spec
    candidates = grid_of(config, grid)
    clips = gold_clips_of(prepared.ballots, gold)
    per_seed = {}
    all_folds, all_gain_f, all_gain_m, best_member_folds, all_counts = [], [], [], [], []
    for seed in seeds:
        started = time.time()
        result = evaluate(candidates, prepared.ballots, gold, tune_spec, objective, seed, shared, jobs, cache)
        folds = result.fold_scores
        if groupings and objective != "mer2024_avg":
            folds = [scorer({c: gold[c] for c in test}, {c: result.out_of_fold[c] for c in test}) for _, test in result.splits]
        members = {
            m: [scorer({c: gold[c] for c in test}, {c: prepared.member_labels(m).get(c, []) for c in test}) for _, test in result.splits]
            for m in prepared.members
        }
        best = max(members, key=lambda m: np.mean([f["ew_l1_f"] for f in members[m]]))
        gain_f = [round(e["ew_l1_f"] - b["ew_l1_f"], 2) for e, b in zip(folds, members[best])]
        gain_m = [round(e["m_avg"] - b["m_avg"], 2) for e, b in zip(folds, members[best])]
        per_seed[seed] = {
            "labels": label_counts([len(result.out_of_fold.get(c, [])) for c in clips]),
            "cv": {k: {s: round(v, 2) for s, v in d.items()} for k, d in summarise(folds).items()},
            "fold_params": result.fold_params,
            "best_member": best,
            "best_member_cv": {k: round(d["mean"], 2) for k, d in summarise(members[best]).items()},
            "gain_ew_l1_f": gain_f,
            "gain_m_avg": gain_m,
            "seconds": round(time.time() - started, 1),
        }
        all_folds += folds
        all_counts += [len(result.out_of_fold.get(c, [])) for c in clips]
        all_gain_f += gain_f
        all_gain_m += gain_m
        best_member_folds += members[best]
        log.info("%s seed %d: EW-L1 F %.2f M-avg %.2f (best member %s %.2f); gains %s", name, seed,
                 per_seed[seed]["cv"]["ew_l1_f"]["mean"], per_seed[seed]["cv"]["m_avg"]["mean"], best,
                 per_seed[seed]["best_member_cv"]["ew_l1_f"], gain_f)
    seed_means = {k: [per_seed[s]["cv"][k]["mean"] for s in seeds] for k in per_seed[seeds[0]]["cv"]}
    return {
        "config": path,
        "grid": grid if grid is not None else "config's tune.grid",
        "n_members": len(prepared.members),
        "n_clips": len(clips),
        "objective": objective,
        # mean and std over all held-out folds of all seeds; seed_std: spread of the seed means
        "summary": {k: {"mean": round(float(np.mean(v)), 2), "std": round(float(np.std([f[k] for f in all_folds])), 2),
                        "seed_std": round(float(np.std(v)), 2)} for k, v in seed_means.items()},
        # labels per clip of the held-out predictions (all seeds), beside gold's
        "labels": label_counts(all_counts),
        "gold_labels": label_counts([len(gold[c]) for c in clips]),
        "folds_above_best_member": {"ew_l1_f": int(sum(g > 0 for g in all_gain_f)), "m_avg": int(sum(g > 0 for g in all_gain_m)),
                                    "of": len(all_gain_f)},
        "min_gain": {"ew_l1_f": min(all_gain_f), "m_avg": min(all_gain_m)},
        "seeds": per_seed,
    }


def read_clip_list(path: str) -> set[str]:
    """Clip names, one a line; `#` starts a comment, blank lines are skipped."""
    names = set()
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        name = line.split("#", 1)[0].strip()
        if name:
            names.add(name)
    return names


def exclude_clips(gold: dict, path: str | None) -> dict:
    """`gold` without the clips listed in `path` (None: unchanged); logs how many remain."""
    if not path:
        return gold
    excluded = read_clip_list(path)
    unknown = sorted(excluded - set(gold))
    if unknown:  # a typo would leave a lockbox clip in the design folds
        raise SystemExit(f"error: {path}: clip {unknown[0]} is not in the gold file ({len(unknown)} such)")
    kept = {c: labels for c, labels in gold.items() if c not in excluded}
    log.info("--exclude %s: %d of %d gold clips removed, %d remain", path, len(gold) - len(kept), len(gold), len(kept))
    return kept


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[11, 12, 13])
    parser.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated, of: {', '.join(ROWS)}")
    parser.add_argument("--objective", default="ew_l1_f")
    parser.add_argument("--groupings", help="'local' (the local MER2024 grouper) or a groupings zip: adds mer2024_avg")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--no-cache", action="store_true")
    parser.add_argument("--trust-pickle", action="store_true", help="rows '+desc' read the pickled description npz files")
    parser.add_argument("--data-root")
    parser.add_argument("--exclude", help="file of clip names (one a line, # comments) left out of folds, tuning and scores")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("judge.tuning", "ensemble.pipeline"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    gold = exclude_clips(read_label_csv(args.gold), args.exclude)
    cache = None if args.no_cache else str(ROOT / ".cache" / "tune")
    out = {"gold": args.gold, "exclude": args.exclude, "n_gold_clips": len(gold), "seeds": args.seeds, "objective": args.objective, "rows": {}}
    for name in args.rows.split(","):
        path, grid = ROWS[name]
        out["rows"][name] = run_row(name, path, grid, gold, args.seeds, args.objective, args.groupings, args.jobs, cache, args.data_root, args.trust_pickle)
    for name, row in out["rows"].items():
        s = row["summary"]
        line = f"{name:34s} EW-L1 F {s['ew_l1_f']['mean']:5.2f} ± {s['ew_l1_f']['std']:4.2f}  M-avg {s['m_avg']['mean']:5.2f} ± {s['m_avg']['std']:4.2f}"
        if "mer2024_avg" in s:
            line += f"  MER2024 {s['mer2024_avg']['mean']:5.2f} ± {s['mer2024_avg']['std']:4.2f}"
        line += f"  labels {row['labels']['mean']:.2f} max {row['labels']['max']} >8 {row['labels']['share_above_8']}%"
        line += f"  folds > best member {row['folds_above_best_member']['ew_l1_f']}/{row['folds_above_best_member']['of']}"
        print(line, file=sys.stderr)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
