"""Error analysis of a submission: its explain file (`run --explain`) against a gold file.

Pure computations (the page is drawn by ensemble/analysis_page.py). Every precision and recall
comes from the official EW code (core.metrics.ew_scores); the figures are EW-L1, the mean over
the five emotion wheels at level 1, in fractions of 1:

- a clip's P and R: ew_scores run on that clip alone, averaged over the level-1 wheels that
  score it (those to which its gold maps); None when none does;
- a member's P and R: ew_scores over the gold clips it answered;
- the precision-recall curves, from the judge's candidate scores in the explain file:
  `threshold` keeps, on every clip, the candidates whose score is at least t (no floor, no cap),
  one point per t (at most MAX_CURVE_POINTS, quantiles of the scores); `top-k` keeps each clip's
  k best-scored candidates, one point per k up to MAX_TOP_K.
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.errors import InputError, brief, where
from core.labels import LabelSets
from core.metrics import ew_scores
from core.metrics.common import paired_clips
from core.metrics.ew import mapped_set

# At most this many thresholds on the curve (quantiles of the scores when there are more), and
# top-k points: each point is one full scoring of every gold clip (gold has at most 9 labels a
# clip on the dev set; the recall of k beyond 15 changes in the third decimal).
MAX_CURVE_POINTS = 40
MAX_TOP_K = 15


@dataclass
class ExplainRecord:
    """One line of an explain file (ensemble/explain.py documents the keys)."""

    clip: str
    answer: list[str]
    members: dict[str, dict]
    candidates: list[dict]
    detail: dict
    judge_type: str
    score_meaning: str


def _check(condition: bool, path, row: int, clip: str | None, message: str) -> None:
    if not condition:
        raise InputError(f"{where(path, row, clip)}: {message}")


def _is_words(value) -> bool:
    return isinstance(value, list) and all(isinstance(word, str) for word in value)


def read_explain(path: str | Path) -> dict[str, ExplainRecord]:
    """The records of an explain file by clip. Raises InputError naming the file, row and clip."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InputError(f"{path}: explain file not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: unreadable explain file ({brief(error)})") from None
    records: dict[str, ExplainRecord] = {}
    for row, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as error:
            raise InputError(f"{where(path, row)}: not a JSON line ({brief(error)})") from None
        _check(isinstance(data, dict) and isinstance(data.get("clip"), str) and data["clip"], path, row, None,
               'not an explain record (a JSON object with a "clip" name)')
        clip = data["clip"]
        _check(clip not in records, path, row, clip, "clip listed twice")
        _check(_is_words(data.get("answer")), path, row, clip, '"answer" must be a list of words')
        members = data.get("members")
        _check(isinstance(members, dict) and all(isinstance(said, dict) for said in members.values()), path, row, clip,
               '"members" must map each member to {"labels": [...]} or {"error": "..."}')
        for member, said in members.items():
            _check(_is_words(said.get("labels")) or isinstance(said.get("error"), str), path, row, clip,
                   f'member {member!r} has neither a "labels" list of words nor an "error"')
        judge = data.get("judge")
        _check(isinstance(judge, dict) and isinstance(judge.get("candidates"), list), path, row, clip,
               '"judge" must hold a "candidates" list')
        for candidate in judge["candidates"]:
            _check(isinstance(candidate, dict) and isinstance(candidate.get("word"), str), path, row, clip,
                   'every candidate needs a "word"')
            score = candidate.get("score")
            _check(score is None or (isinstance(score, (int, float)) and not isinstance(score, bool) and np.isfinite(score)),
                   path, row, clip, f"candidate {candidate['word']!r}: score must be a number or null, got {score!r}")
            _check(isinstance(candidate.get("kept"), bool), path, row, clip, f"candidate {candidate['word']!r}: kept must be true or false")
        detail = judge.get("detail", {})
        records[clip] = ExplainRecord(
            clip=clip, answer=data["answer"], members=members, candidates=judge["candidates"],
            detail=detail if isinstance(detail, dict) else {"value": detail},
            judge_type=str(judge.get("type", "")), score_meaning=str(judge.get("score_meaning", "")),
        )
    if not records:
        raise InputError(f"{path}: no explain records")
    return records


def check_agreement(records: Mapping[str, ExplainRecord], submission: LabelSets, explain_path, submission_path,
                    clips: Sequence[str]) -> None:
    """The explain file must be the submission's own: the same answer for every analysed clip."""
    for clip in clips:
        if clip not in records:
            raise InputError(f"{where(explain_path, clip=clip)}: no explain record for this gold clip (is it this submission's?)")
        if sorted(records[clip].answer) != sorted(submission[clip]):
            raise InputError(f"{where(explain_path, clip=clip)}: answer {records[clip].answer} differs from "
                             f"{submission_path}'s {submission[clip]}: the explain file is of another run")


def level1_names(lexicon) -> list[str]:
    return [name for name in lexicon.metric_names() if name.startswith("W") and name.endswith("-L1")]


def clip_scores(gold: Sequence[str], pred: Sequence[str], lexicon, names: Sequence[str]) -> tuple[float | None, float | None]:
    """(P, R) of one clip in fractions: the official code on the clip alone, averaged over the
    level-1 wheels that score it; (None, None) when its gold maps onto none of them."""
    scores = ew_scores({"clip": gold}, {"clip": pred}, lexicon).per_metric
    scored = [scores[name] for name in names if scores[name].n_clips]
    if not scored:
        return None, None
    return float(np.mean([s.p for s in scored])) / 100, float(np.mean([s.r for s in scored])) / 100


def f_of(p: float | None, r: float | None) -> float | None:
    if p is None or r is None:
        return None
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


def overall(gold: LabelSets, pred: LabelSets, lexicon) -> dict:
    """EW-L1 P, R, F (fractions) and M-avg (percent, as `evaluate` prints it) of `pred` on the gold clips."""
    scores = ew_scores(gold, pred, lexicon)
    return {"p": scores.level(1, "p") / 100, "r": scores.level(1, "r") / 100, "f": scores.level(1, "f") / 100,
            "m_avg": scores.m_avg}


@dataclass
class Analysis:
    """What the page shows; `as_dict` is what it embeds."""

    submission: str
    n_clips: int
    judge_type: str
    score_meaning: str
    scores: dict
    clips: list[dict] = field(default_factory=list)
    members: list[dict] = field(default_factory=list)
    histogram: dict = field(default_factory=dict)
    curves: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return dict(vars(self))


def clip_rows(gold: LabelSets, records: Mapping[str, ExplainRecord], lexicon, clips: Sequence[str]) -> list[dict]:
    """One row per clip: its P, R, F, words, the judge's candidates, each member's words.

    `hits` (per answer word) and a candidate's `in_gold`: the word maps, on some level-1 wheel,
    onto a category that the clip's gold maps onto (the lexicon's own mappings)."""
    names = level1_names(lexicon)
    mappers = [lexicon.mapper(name) for name in names]
    rows = []
    for clip in clips:
        record = records[clip]
        p, r = clip_scores(gold[clip], record.answer, lexicon, names)
        gold_sets = [mapped_set(gold[clip], mapper) for mapper in mappers]

        def in_gold(word: str) -> bool:
            return any(mapped_set([word], mapper) & wanted for mapper, wanted in zip(mappers, gold_sets))

        rows.append({
            "clip": clip, "p": p, "r": r, "f": f_of(p, r), "n_pred": len(record.answer), "n_gold": len(gold[clip]),
            "gold": list(gold[clip]), "answer": list(record.answer), "hits": [in_gold(word) for word in record.answer],
            "candidates": [{"word": c["word"], "score": c.get("score"), "kept": c["kept"], "voters": len(c.get("voters") or ()),
                            "in_gold": in_gold(c["word"]), "detail": c.get("detail") or {}} for c in record.candidates],
            "detail": record.detail,
            "members": {m: said.get("labels") if "labels" in said else {"error": said["error"]} for m, said in record.members.items()},
        })
    return rows


def member_reliability(gold: LabelSets, records: Mapping[str, ExplainRecord], lexicon, clips: Sequence[str]) -> list[dict]:
    """Each member's EW-L1 P/R/F over the gold clips it answered, best F first."""
    answered: dict[str, dict[str, list[str]]] = {}
    failed: Counter = Counter()
    for clip in clips:
        for member, said in records[clip].members.items():
            if "labels" in said:
                answered.setdefault(member, {})[clip] = said["labels"]
            else:
                failed[member] += 1
    rows = []
    for member in sorted(set(answered) | set(failed)):
        own = answered.get(member, {})
        row = {"member": member, "answered": len(own), "failed": failed[member], "p": None, "r": None, "f": None}
        if own:
            row.update({k: v for k, v in overall({c: gold[c] for c in own}, own, lexicon).items() if k in ("p", "r", "f")})
        rows.append(row)
    return sorted(rows, key=lambda row: -1 if row["f"] is None else -row["f"])


def label_histogram(gold: LabelSets, pred: LabelSets, clips: Sequence[str]) -> dict:
    """How many clips have each number of labels, in the submission and in gold."""
    ours = Counter(len(pred[c]) for c in clips)
    theirs = Counter(len(gold[c]) for c in clips)
    counts = list(range(0, max([*ours, *theirs, 0]) + 1))
    return {"counts": counts, "submission": [ours[n] for n in counts], "gold": [theirs[n] for n in counts]}


def _scored(record: ExplainRecord) -> list[tuple[float, str]]:
    """(score, word) of a clip's candidates that have a score, best first (ties: by word)."""
    pairs = [(float(c["score"]), c["word"]) for c in record.candidates if c.get("score") is not None]
    return sorted(pairs, key=lambda pair: (-pair[0], pair[1]))


def pr_curves(gold: LabelSets, records: Mapping[str, ExplainRecord], lexicon, clips: Sequence[str]) -> dict:
    """The threshold and top-k curves (see the module docstring): lists of {t or k, p, r, f}."""
    scored = {clip: _scored(records[clip]) for clip in clips}
    values = sorted({score for pairs in scored.values() for score, _ in pairs})
    if not values:
        return {"threshold": [], "top_k": []}
    if len(values) > MAX_CURVE_POINTS:
        values = sorted(set(np.quantile(values, np.linspace(0, 1, MAX_CURVE_POINTS)).tolist()))
    gold_part = {clip: gold[clip] for clip in clips}
    threshold = []
    for t in values:
        pred = {clip: [word for score, word in pairs if score >= t] for clip, pairs in scored.items()}
        threshold.append({"t": t, **overall(gold_part, pred, lexicon)})
    top_k = []
    for k in range(1, min(MAX_TOP_K, max(len(pairs) for pairs in scored.values())) + 1):
        pred = {clip: [word for _, word in pairs[:k]] for clip, pairs in scored.items()}
        top_k.append({"k": k, **overall(gold_part, pred, lexicon)})
    return {"threshold": threshold, "top_k": top_k}


def analyse(gold: LabelSets, submission: LabelSets, records: Mapping[str, ExplainRecord], lexicon,
            submission_name: str = "", explain_path="explain", submission_path="submission") -> Analysis:
    """Everything the page shows, on the gold clips (each must be in the submission and the explain file)."""
    clips = paired_clips(gold, submission)
    check_agreement(records, submission, explain_path, submission_path, clips)
    first = records[clips[0]] if clips else next(iter(records.values()))
    return Analysis(
        submission=submission_name, n_clips=len(clips), judge_type=first.judge_type, score_meaning=first.score_meaning,
        scores=overall(gold, submission, lexicon),
        clips=clip_rows(gold, records, lexicon, clips),
        members=member_reliability(gold, records, lexicon, clips),
        histogram=label_histogram(gold, submission, clips),
        curves=pr_curves(gold, records, lexicon, clips),
    )
