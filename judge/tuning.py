"""Choosing a judge (strategy and parameters) by nested k-fold cross-validation on gold clips only.

Outer folds give the reported figures: for each, every candidate is scored by an inner
cross-validation on the fold's training clips alone, the best is refitted on those clips
and scored on the held-out clips. The final choice (for the submission) is the candidate
with the best cross-validated score over all gold clips. No choice ever sees the clips it
is scored on. Every (candidate, train, test) evaluation is one job: run in parallel with
joblib and cached on disk as JSON (core.jsoncache: no pickle), so re-tuning after adding a candidate only runs the new ones.
"""
from __future__ import annotations

import functools
import hashlib
import itertools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.model_selection import KFold

from core import registry
from core.errors import InputError
from core.factory import build
from core.jsoncache import JsonCache
from core.metrics import ew_scores, mer2024_scores
from core.progress import progress
from core.settings import REPO_ROOT
from judge.base import Judge
from judge.objective import Objective
from vocab.ballot import ClipBallot
from vocab.lexicon import Lexicon, load_lexicon

log = logging.getLogger(__name__)

Gold = Mapping[str, Sequence[str]]


@dataclass
class Scorer:
    """Scores predictions against gold with the official metrics."""

    lexicon: Lexicon
    grouper: Any = None

    def __call__(self, gold: Gold, predictions: Mapping[str, Sequence[str]]) -> dict[str, float]:
        ew = ew_scores(gold, predictions, self.lexicon)
        row = {"ew_l1_f": ew.level(1), "ew_l1_p": ew.level(1, "p"), "ew_l1_r": ew.level(1, "r"), "m_avg": ew.m_avg}
        if self.grouper is not None:
            row["mer2024_avg"] = 100 * mer2024_scores(gold, predictions, self.grouper).avg
        return row


@dataclass(frozen=True)
class ScorerSpec:
    """How a worker process rebuilds the Scorer (paths travel cheaper than lexicon tables).

    grouper: the MER2024 synonym grouper's type (cached | local | identity | module:Class);
    default `cached` (the groupings zip) when groupings are given, else no MER2024 score.
    """

    lexicon: str
    groupings: str | None = None
    grouper: str | None = None
    cache_dir: str = ""

    @property
    def grouper_type(self) -> str | None:
        return self.grouper or ("cached" if self.groupings else None)

    def build(self) -> Scorer:
        return _scorer(self)


@functools.lru_cache(maxsize=4)
def _scorer(spec: ScorerSpec) -> Scorer:
    """One Scorer per spec and process: a local grouper is fitted once, not once per fold."""
    grouper = None
    if spec.grouper_type:
        shared = {"lexicon": spec.lexicon, "groupings": spec.groupings or "", "cache_dir": spec.cache_dir}
        grouper = build("grouper", {"type": spec.grouper_type}, shared, label="MER2024 grouper")
    return Scorer(load_lexicon(spec.lexicon), grouper)


def expand_grid(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """All combinations of a {parameter: [values]} grid, in a fixed order."""
    if not grid:
        return [{}]
    keys = sorted(grid)
    values = [list(grid[k]) if isinstance(grid[k], (list, tuple)) else [grid[k]] for k in keys]
    return [dict(zip(keys, combo)) for combo in itertools.product(*values)]


def candidates(grid: Mapping[str, Any], default_type: str, fixed: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Judge parameter sets (each with its 'type') from a tune grid.

    Two spellings: {param: [values]} searches the config's judge type (its other judge
    settings, `fixed`, stay); {type: {param: [values]}, ...} searches several strategies.
    """
    grid = dict(grid or {})
    nested = [isinstance(v, Mapping) for v in grid.values()]
    if grid and all(nested):
        known = registry.names("judge")
        unknown = sorted(set(grid) - set(known))
        if unknown:
            raise InputError(f"tune.grid: unknown judge type '{unknown[0]}' (known: {', '.join(known)})")
        return [{"type": kind, **params} for kind in grid for params in expand_grid(grid[kind] or {})]
    if any(nested):
        raise InputError("tune.grid: mix of per-strategy grids and parameter lists; use one spelling")
    base = {k: v for k, v in (fixed or {}).items() if k not in ("type", "state")}
    return [{"type": default_type, **base, **params} for params in expand_grid(grid)]


def make_judge(params: Mapping[str, Any], shared: Mapping[str, Any] | None = None) -> Judge:
    """A judge from {'type': ..., param: value}; `shared` settings go to judges that declare them."""
    return build("judge", params, shared)


def folds(clips: Sequence[str], n_folds: int, seed: int) -> list[tuple[list[str], list[str]]]:
    """(train clips, test clips) per fold; the same clips and seed give the same folds."""
    clips = sorted(clips)
    if n_folds < 2:
        raise InputError(f"tune.folds must be at least 2, got {n_folds}")
    if len(clips) < n_folds:
        raise InputError(f"{len(clips)} gold clips cannot make {n_folds} folds")
    splitter = KFold(n_splits=n_folds, shuffle=True, random_state=seed)
    return [([clips[i] for i in tr], [clips[i] for i in te]) for tr, te in splitter.split(clips)]


# Every package whose code a fit's result depends on: the judges, the vocabulary (ballots,
# lexicon), and the kernel (metrics, labels). Reports only read fitted judges.
_FIT_CODE = ("judge", "vocab", "core")
_NOT_FIT_CODE = {"judge/report.py"}


def fit_code_version() -> str:
    """A digest of the source of every module a fit depends on: part of every cache key, so
    editing a judge, the vocabulary, the metrics or the label parsing never reuses old fits."""
    digest = hashlib.sha256()
    for package in _FIT_CODE:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            relative = path.relative_to(REPO_ROOT).as_posix()
            if relative not in _NOT_FIT_CODE:
                digest.update(relative.encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def fit_and_score(
    params: Mapping[str, Any],
    shared: Mapping[str, Any],
    train: Sequence[ClipBallot],
    test: Sequence[ClipBallot],
    gold: Gold,
    scorer: ScorerSpec,
    code_version: str = "",
) -> tuple[dict[str, float], dict[str, list[str]]]:
    """Fit one candidate on `train`, score it on `test`: (scores, test predictions).

    code_version only keys the disk cache (see fit_code_version)."""
    judge = make_judge(params, shared).fit(train, {b.clip: gold[b.clip] for b in train})
    predictions = judge.predict(test)
    return scorer.build()({b.clip: gold[b.clip] for b in test}, predictions), predictions


@dataclass
class CVResult:
    """Nested cross-validation: held-out scores per outer fold, what each fold chose, the final choice."""

    fold_scores: list[dict[str, float]]
    fold_params: list[dict[str, Any]]
    final_params: dict[str, Any]
    out_of_fold: dict[str, list[str]] = field(default_factory=dict)
    # Per candidate: mean over the plain (non-nested) folds of all gold clips. Used for the
    # final choice only; picking the best row of it by eye is itself a selection.
    candidate_scores: list[dict[str, Any]] = field(default_factory=list)
    splits: list[tuple[list[str], list[str]]] = field(default_factory=list)

    def summary(self) -> dict[str, dict[str, float]]:
        return summarise(self.fold_scores)


def summarise(fold_scores: Sequence[Mapping[str, float]]) -> dict[str, dict[str, float]]:
    return {
        key: {"mean": float(np.mean([s[key] for s in fold_scores])), "std": float(np.std([s[key] for s in fold_scores]))}
        for key in fold_scores[0]
    }


def gold_clips_of(ballots: Sequence[ClipBallot], gold: Gold) -> list[str]:
    covered = {b.clip for b in ballots}
    clips = sorted(c for c in gold if c in covered)
    if not clips:
        raise InputError("the gold file shares no clip with the members")
    if len(clips) < len(gold):
        log.warning("%d gold clips have no member output and are left out of tuning", len(gold) - len(clips))
    return clips


def cross_validate(
    grid: Sequence[Mapping[str, Any]],
    ballots: Sequence[ClipBallot],
    gold: Gold,
    scorer: ScorerSpec,
    objective: str = "ew_l1_f",
    n_folds: int = 5,
    seed: int = 0,
    shared: Mapping[str, Any] | None = None,
    n_jobs: int = 1,
    cache_dir: str | None = None,
) -> CVResult:
    """Nested CV over the candidate judges in `grid` (see the module docstring)."""
    from joblib import Parallel, delayed

    goal = Objective.parse(objective)
    if goal.needs_groupings and not scorer.grouper_type:
        raise InputError("objective mer2024_avg needs a synonym grouper (--groupings ZIP, or --grouper local)")
    if not grid:
        raise InputError("tune: no candidate judge to try")
    shared = {"objective": objective, **(shared or {})}
    by_clip = {b.clip: b for b in ballots}
    clips = gold_clips_of(ballots, gold)
    gold = {c: list(gold[c]) for c in clips}
    outer = folds(clips, n_folds, seed)
    # Split index len(outer) is "all gold clips": its inner folds make the final choice.
    inner = [folds(train, n_folds, seed) for train, _ in outer] + [outer]
    job = JsonCache.scored(fit_and_score, cache_dir) if cache_dir else fit_and_score
    version = fit_code_version()
    tasks = [(s, j, c) for s in range(len(inner)) for j in range(len(inner[s])) for c in range(len(grid))]
    # The last split's folds are the outer folds: its fits give the held-out scores too.
    last = len(outer)

    def split_of(s, j):
        return inner[s][j]

    log.info("tuning %d candidates: %d fits (%d folds, nested) on %d jobs", len(grid), len(tasks), n_folds, n_jobs)
    results = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(job)(
            grid[c], shared, [by_clip[x] for x in split_of(s, j)[0]], [by_clip[x] for x in split_of(s, j)[1]], gold, scorer, version
        )
        for s, j, c in tasks
    )
    table = dict(zip(tasks, progress(results, "nested CV", total=len(tasks), unit="fit")))

    def best_on(s: int) -> int:
        values = [np.mean([goal.value(table[(s, j, c)][0]) for j in range(len(inner[s]))]) for c in range(len(grid))]
        return int(np.argmax(values))  # first wins ties

    fold_scores, fold_params, out_of_fold = [], [], {}
    for j in range(len(outer)):
        chosen = best_on(j)
        scores, predictions = table[(last, j, chosen)]
        fold_scores.append(scores)
        fold_params.append(dict(grid[chosen]))
        out_of_fold.update(predictions)
        log.info("fold %d: chose %s, held-out %s %.2f", j + 1, grid[chosen], goal.metric, scores[goal.metric])
    final = best_on(last)
    candidate_scores = [
        {"params": dict(grid[c]), **{k: v["mean"] for k, v in summarise([table[(last, j, c)][0] for j in range(len(outer))]).items()}}
        for c in range(len(grid))
    ]
    return CVResult(fold_scores, fold_params, dict(grid[final]), out_of_fold, candidate_scores, outer)
