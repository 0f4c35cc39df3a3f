"""Why each clip got its labels: the explain file (`run --explain`) and the failures file.

Explain file: JSON lines, one per clip in clip order,

    {"clip": C, "answer": [words written to the submission],
     "members": {member: {"labels": [...]} or {"error": "..."}},   (members lacking the clip: absent)
     "clusters": {cluster: {member: [its words in that cluster]}},
     "judge": {"type": ..., "score_meaning": ..., "candidates": [...], "detail": {...}}}

where `candidates` and `detail` are the judge's `explain` (judge/base.py): per cluster its word,
voters, score, kept and judge-specific detail. Failures file: one JSON line per (member, clip)
that failed, `{"member", "clip", "error"}`, beside the submission (`failures_path`).
"""
from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from judge.base import Judge
from vocab.ballot import ClipBallot

# member -> clip -> the error that member met on that clip (as ensemble.pipeline.Failures)
Failures = Mapping[str, Mapping[str, str]]


def failures_path(out: str | Path) -> Path:
    """Where the failures of a run writing `out` go: `<out>.failures.jsonl`, beside it."""
    out = Path(out)
    return out.with_name(out.name + ".failures.jsonl")


def failure_records(failures: Failures) -> list[dict]:
    """One record per (member, clip) that failed, by clip then member."""
    records = [{"member": member, "clip": clip, "error": error}
               for member, errors in failures.items() for clip, error in errors.items()]
    return sorted(records, key=lambda record: (record["clip"], record["member"]))


def explain_records(
    judge: Judge,
    ballots: Sequence[ClipBallot],
    labels: Mapping[str, Mapping[str, Sequence[str]]],
    failures: Failures,
    answers: Mapping[str, Sequence[str]],
) -> Iterator[dict]:
    """One explain record per ballot's clip (see the module docstring), in ballot order.

    labels: clip -> member -> labels (what the members said); answers: the run's submission."""
    explained = judge.explain(ballots)
    judge_type = f"{type(judge).__module__}:{type(judge).__name__}"
    errors_of: dict[str, dict[str, str]] = {}
    for member, errors in failures.items():
        for clip, error in errors.items():
            errors_of.setdefault(clip, {})[member] = error
    for ballot in ballots:
        clip = ballot.clip
        members: dict[str, dict] = {member: {"labels": list(words)} for member, words in labels.get(clip, {}).items()}
        for member, error in errors_of.get(clip, {}).items():
            members[member] = {"error": error}
        reasons = explained.get(clip, {"candidates": [], "detail": {}})
        yield {
            "clip": clip,
            "answer": list(answers.get(clip, ())),
            "members": members,
            "clusters": {cluster: {m: list(ws) for m, ws in by_member.items()} for cluster, by_member in ballot.votes.items()},
            "judge": {"type": judge_type, "score_meaning": judge.score_meaning,
                      "candidates": reasons["candidates"], "detail": reasons["detail"]},
        }


def _plain(value):
    """numpy numbers and arrays in a judge's detail, as JSON numbers and lists."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def jsonl_text(records: Iterator[dict] | Sequence[dict]) -> str:
    """JSON lines (UTF-8 words kept as they are; NaN, which JSON lacks, is refused)."""
    return "".join(json.dumps(record, ensure_ascii=False, allow_nan=False, default=_plain) + "\n" for record in records)
