"""Judge types by name, resolved lazily (see members.registry)."""
from __future__ import annotations

from members.registry import resolve_target

JUDGE_TYPES: dict[str, str] = {
    "kofn": "judge.vote:KOfNVote",
    "weighted": "judge.weighted:WeightedVote",
    "coarse": "judge.weighted:CoarseVote",
    "stacker": "judge.stacker:Stacker",
    "category": "judge.category:CategoryJudge",
}


def resolve(name: str) -> type:
    return resolve_target(JUDGE_TYPES, name, "judge")
