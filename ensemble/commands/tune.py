"""`tune`: choose the judge (strategy and parameters) by nested k-fold cross-validation on gold
clips, write a tuned config, its judge's fitted state, and a report (JSON + PR-curve PNG)."""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from omegaconf import OmegaConf

from core.errors import OutputError
from core.files import atomic_write_text, check_output_path
from core.labels import read_label_csv
from core.uses import PathUse
from ensemble.commands.clip_args import add_clip_arguments, clips_of
from ensemble.config import DEFAULT_CONFIG, config_inputs, load_config, save_config, trust_pickles
from ensemble.pipeline import Parts, build_parts, coverage_report, prepare, shared_settings
from judge.objective import Objective
from judge.report import label_counts, leave_one_out, plot_pr_curve, pr_curve
from judge.tuning import ScorerSpec, candidates, cross_validate, gold_clips_of, make_judge, summarise

log = logging.getLogger(__name__)


def add_arguments(parser) -> None:
    parser.add_argument("--config", help="ensemble config YAML (default: configs/ovmerd_views.yaml)")
    parser.add_argument("--gold", required=True, help="gold CSV (name,openset): the only clips tuning looks at")
    parser.add_argument("--out", required=True, help="tuned config YAML to write (takes `run --config`)")
    parser.add_argument("--state", help="judge state JSON to write for learned judges (default: OUT with .judge.json)")
    parser.add_argument("--report", help="also write the cross-validation report here (JSON)")
    parser.add_argument("--plot", help="precision-recall curve PNG (default: REPORT with .png, when --report is given)")
    parser.add_argument("--objective", help="ew_l1_f (default), m_avg, mer2024_avg, recall@precision>=P, precision@recall>=R")
    parser.add_argument("--groupings", help="cached GPT groupings zip: adds MER2024 Avg to the report")
    parser.add_argument("--grouper", help="MER2024 synonym grouper: cached (needs --groupings, the default with it), local, identity")
    parser.add_argument("--jobs", type=int, help="parallel jobs (default: tune.n_jobs)")
    parser.add_argument("--no-cache", action="store_true", help="don't reuse or store fits under cache_dir")
    parser.add_argument("--no-loo", action="store_true", help="skip the leave-one-out contributions")
    parser.add_argument("--data-root", help="data folder (default: $OVMER_DATA or the config's data_root)")
    add_clip_arguments(parser)
    parser.add_argument("--trust-pickle", action="store_true", help="let members load pickled description npz files (only files you trust)")


def member_folds(prepared, gold, scorer, splits) -> dict[str, list[dict]]:
    """Each member alone, on the same held-out folds; a clip it lacks counts as an empty answer."""
    out = {}
    for member in prepared.members:
        per_clip = prepared.member_labels(member)
        out[member] = [scorer({c: gold[c] for c in test}, {c: per_clip.get(c, []) for c in test}) for _, test in splits]
    return out


def versus_best_member(ensemble_folds: list[dict], members: dict[str, list[dict]], metric: str) -> dict:
    """Paired, fold by fold: the ensemble minus the member with the best mean (same clips)."""
    best = max(members, key=lambda m: sum(f[metric] for f in members[m]))
    return {
        "member": best,
        **{
            key: [round(e[key] - m[key], 2) for e, m in zip(ensemble_folds, members[best])]
            for key in ("ew_l1_f", "m_avg")
        },
    }


def tuning_cache(config) -> Path:
    """The folder of the cached fits (JSON, core.jsoncache)."""
    return Path(shared_settings(config)["cache_dir"]) / "tune"


def tune(config, gold_path: str, groupings: str | None = None, objective: str | None = None, n_jobs: int | None = None,
         use_cache: bool = True, loo: bool = True, grouper: str | None = None, parts: Parts | None = None,
         clips=None) -> tuple[dict, dict, object]:
    """Returns (final judge params with type, report, final judge fitted on all gold clips).
    parts: the config's parts, built already (default built here); clips: the clips to use
    (default the config's or every clip the cached members cover)."""
    objective = objective or config.tune.objective
    Objective.parse(objective)
    gold = read_label_csv(gold_path)
    prepared = prepare(config, clips=clips, parts=parts)
    shared = {**shared_settings(config), "objective": objective}
    spec = ScorerSpec(shared["lexicon"], groupings, grouper, shared["cache_dir"])
    judge_section = OmegaConf.to_container(config.judge, resolve=True)
    grid = candidates(OmegaConf.to_container(config.tune.grid, resolve=True), judge_section.get("type", "category"), judge_section)
    for params in grid:  # a bad candidate fails here, once, not in a worker
        candidate = make_judge(params, shared)
        candidate.validate()
        candidate.check_members(prepared.members)
    n_jobs = n_jobs or config.tune.n_jobs
    cache = str(tuning_cache(config)) if use_cache else None
    result = cross_validate(grid, prepared.ballots, gold, spec, objective, config.tune.folds, config.tune.seed, shared, n_jobs, cache)
    clips = gold_clips_of(prepared.ballots, gold)
    scorer = spec.build()
    per_fold = member_folds(prepared, gold, scorer, result.splits)
    members = {member: summarise(rows) for member, rows in per_fold.items()}
    by_clip = {b.clip: b for b in prepared.ballots}
    final = make_judge(result.final_params, shared).fit([by_clip[c] for c in clips], {c: gold[c] for c in clips})
    empty = [m for m in prepared.members if not any(prepared.member_labels(m).values())]
    report = {
        "gold": str(gold_path),
        "n_clips": len(clips),
        "folds": config.tune.folds,
        "seed": config.tune.seed,
        "objective": objective,
        "n_candidates": len(grid),
        "coverage": {
            "gold_clips_lacking": coverage_report(prepared.labels, prepared.members, clips),
            "all_clips_lacking": coverage_report(prepared.labels, prepared.members, prepared.clips),
            "members_without_any_label": empty,
        },
        "ensemble": {"cv": result.summary(), "fold_scores": result.fold_scores, "fold_params": result.fold_params,
                     "final_params": result.final_params},
        "members": members,
        "versus_best_member": versus_best_member(result.fold_scores, per_fold, "ew_l1_f"),
        "candidates_plain_cv": result.candidate_scores,
        "label_counts": {"gold": label_counts({c: gold[c] for c in clips}), "held_out": label_counts(result.out_of_fold)},
        "pr_curve": pr_curve(result.final_params, shared, prepared.ballots, gold, result.splits, spec),
    }
    report["ensemble"]["final_judge"] = final.summary()
    if loo and len(prepared.members) > 1:
        report["leave_one_out"] = leave_one_out(
            result.final_params, shared, prepared.ballots, gold, result.splits, spec, prepared.members, n_jobs, cache
        )
    return result.final_params, report, final


def results_table(report: dict) -> str:
    """The nested-CV figures (mean ± std over the held-out folds) and label counts, as printed on stdout."""
    lines = [f"nested {report['folds']}-fold CV on {report['n_clips']} gold clips, seed {report['seed']} "
             "(mean ± std over held-out folds):"]
    rows = [("ensemble", report["ensemble"]["cv"])] + list(report["members"].items())
    for name, cv in rows:
        lines.append(f"  {name:24s} EW-L1 F {cv['ew_l1_f']['mean']:5.2f} ± {cv['ew_l1_f']['std']:4.2f}   "
                     f"M-avg {cv['m_avg']['mean']:5.2f} ± {cv['m_avg']['std']:4.2f}   "
                     f"P {cv['ew_l1_p']['mean']:5.2f} ± {cv['ew_l1_p']['std']:4.2f}  R {cv['ew_l1_r']['mean']:5.2f} ± {cv['ew_l1_r']['std']:4.2f}")
    for name, counts in (("gold", report["label_counts"]["gold"]), ("held-out answers", report["label_counts"]["held_out"])):
        lines.append(f"  labels per clip, {name:16s} mean {counts['mean']:.2f}  max {counts['max']}  clips with 0..max: {counts['histogram']}")
    paired = report["versus_best_member"]
    lines.append(f"  ensemble minus {paired['member']}, fold by fold: EW-L1 F {paired['ew_l1_f']}, M-avg {paired['m_avg']}")
    for member, row in report.get("leave_one_out", {}).items():
        lines.append(f"  leave out {member:24s} change: EW-L1 F {-row['ew_l1_f_contribution']:+5.2f}  M-avg {-row['m_avg_contribution']:+5.2f}")
    lines.append(f"  final choice: {report['ensemble']['final_params']}")
    return "\n".join(lines)


def _default_beside(path: str, suffix: str) -> str:
    p = Path(path)
    return str(p.with_name(p.stem + suffix)) if p.name else ""  # no name: --out itself is refused


def outputs_of(args) -> dict[str, str]:
    """The files this command may write, by flag (with the defaults it gives them)."""
    outputs = {"--out": args.out, "--state": args.state or _default_beside(args.out, ".judge.json")}
    if args.report:
        outputs.update({"--report": args.report, "--plot": args.plot or _default_beside(args.report, ".png")})
    return outputs


def check_outputs(args, config, parts: Parts, clips=None) -> None:
    """Every output off what the run reads or writes, and off each other."""
    uses = [PathUse(str(args.config or DEFAULT_CONFIG), "--config"), PathUse(args.gold, "--gold"),
            PathUse(args.groupings or "", "--groupings"), PathUse(args.clips or "", "--clips"),
            PathUse(args.subtitles or "", "--subtitles"), *config_inputs(config), *parts.paths(),
            *(use for clip in clips or () for use in clip.paths())]
    if not args.no_cache:
        uses.append(PathUse(str(tuning_cache(config)), "tuning cache", folder=True, writes=True))
    written: list[PathUse] = []
    for flag, path in outputs_of(args).items():
        check_output_path(path, [*uses, *written])
        written.append(PathUse(path, flag, writes=True))


def main(args, overrides) -> int:
    config = load_config(args.config, overrides, data_root=args.data_root)
    working = config.copy()
    if args.trust_pickle:  # for this command only: the tuned config written below does not keep it
        log.info("trusting pickled files of members: %s", ", ".join(trust_pickles(working)) or "none")
    parts = build_parts(working)
    clips = clips_of(args)
    check_outputs(args, working, parts, clips)
    params, report, final = tune(working, args.gold, args.groupings, args.objective, args.jobs, not args.no_cache, not args.no_loo,
                                 args.grouper, parts, clips)
    print(results_table(report), flush=True)
    tuned = config.copy()
    judge = dict(params)
    fields = final.get_params()
    if "objective" in fields:
        judge["objective"] = report["objective"]
    if final.learns:
        state = outputs_of(args)["--state"]
        final.save_state(state)
        judge["state"] = state
        log.info("wrote judge state %s", state)
    OmegaConf.update(tuned, "judge", judge, merge=False)
    tuned.tune.objective = report["objective"]
    if args.report:
        plot = outputs_of(args)["--plot"]
        title = f"{Path(args.config or DEFAULT_CONFIG).name}: {params.get('type')} judge, {report['n_clips']} gold clips, {report['folds']}-fold CV"
        tmp = plot + ".tmp.png"
        try:
            plot_pr_curve(report["pr_curve"], report["members"], report["ensemble"]["cv"], tmp, title)
            os.replace(tmp, plot)
        except OSError as error:
            Path(tmp).unlink(missing_ok=True)
            raise OutputError(f"{plot}: cannot write the plot: {error.strerror or error}") from None
        report["pr_curve"]["png"] = plot
        atomic_write_text(args.report, json.dumps(report, indent=2) + "\n")
        log.info("wrote report %s and %s", args.report, plot)
    save_config(tuned, args.out)
    log.info("wrote %s", args.out)
    return 0
