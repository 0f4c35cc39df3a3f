"""The ensemble pipeline: members -> labels per clip -> synonym clusters -> ballots -> judge.

Everything is built from a config through the registries, so the pipeline never names a
model, a vocabulary or a judge.
"""
from __future__ import annotations

import dataclasses
import logging
from typing import Any, Mapping, Sequence

from omegaconf import DictConfig, OmegaConf

from ensemble.errors import InputError
from judge.ballot import ClipBallot, make_ballots
from judge.base import Judge
from judge.registry import resolve as resolve_judge
from members.base import Clip, Member
from members.registry import resolve as resolve_member
from vocab.base import Vocabulary
from vocab.registry import resolve as resolve_vocab

log = logging.getLogger(__name__)

LabelsByMember = dict[str, dict[str, list[str]]]


def _instantiate(cls: type, params: Mapping[str, Any], what: str):
    """cls(**params) with an InputError naming the bad parameter instead of a TypeError."""
    if dataclasses.is_dataclass(cls):
        known = _field_names(cls)
        unknown = sorted(set(params) - known)
        if unknown:
            raise InputError(f"{what}: unknown parameter '{unknown[0]}' (known: {', '.join(sorted(known))})")
    try:
        return cls(**params)
    except (TypeError, ValueError) as error:
        raise InputError(f"{what}: {error}") from None


def _field_names(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls) if f.init} if dataclasses.is_dataclass(cls) else set()


def _plain(node) -> dict:
    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else dict(node)


def build_members(config: DictConfig) -> list[Member]:
    members, seen = [], set()
    if not config.members:
        raise InputError("config: no members")
    for index, entry in enumerate(config.members):
        params = _plain(entry)
        name = params.get("name")
        if not name:
            raise InputError(f"config: member #{index + 1} has no name")
        if name in seen:
            raise InputError(f"config: member '{name}' is named twice")
        seen.add(name)
        cls = resolve_member(params.pop("type", "cached"))
        if "lexicon" in _field_names(cls) and "lexicon" not in params:
            params["lexicon"] = config.lexicon
        members.append(_instantiate(cls, params, f"member '{name}'"))
    return members


def build_vocabulary(config: DictConfig) -> Vocabulary:
    params = _plain(config.vocab)
    cls = resolve_vocab(params.pop("type", "lexicon"))
    for shared in ("lexicon", "cache_dir"):  # handed down from the top level where the class takes them
        if shared in _field_names(cls) and shared not in params:
            params[shared] = config[shared]
    return _instantiate(cls, params, "vocab")


def build_judge(config: DictConfig, overrides: Mapping[str, Any] | None = None) -> Judge:
    params = _plain(config.judge)
    params.update(overrides or {})
    return _instantiate(resolve_judge(params.pop("type", "kofn")), params, "judge")


def collect_labels(members: Sequence[Member]) -> LabelsByMember:
    """Labels per member per clip, from members that can answer by clip name (cached outputs)."""
    labels: LabelsByMember = {}
    for member in members:
        names = member.clip_names()
        if names is None:
            raise InputError(f"member '{member.name}' needs media; give clips with video/audio (not yet wired)")
        outputs = member.predict([Clip(name) for name in names])
        missing = [clip for clip, out in outputs.items() if out.labels is None]
        if missing:
            raise InputError(
                f"member '{member.name}': clip {missing[0]} has a description but no labels; "
                "configure a label extractor for this member"
            )
        labels[member.name] = {clip: list(out.labels) for clip, out in outputs.items()}
        if not any(labels[member.name].values()):
            log.warning("member '%s' gave no label for any clip: it never votes", member.name)
    return labels


def clips_of(labels: LabelsByMember) -> list[str]:
    """Every clip any member covers, sorted (the submission's rows)."""
    return sorted({clip for per_clip in labels.values() for clip in per_clip})


def coverage_report(labels: LabelsByMember, clips: Sequence[str]) -> dict[str, int]:
    """How many of `clips` each member lacks (those clips are judged without it)."""
    return {member: sum(clip not in per_clip for clip in clips) for member, per_clip in labels.items()}


@dataclasses.dataclass
class Prepared:
    """What every judge and tuning run needs: labels, clips and ballots, built once."""

    labels: LabelsByMember
    clips: list[str]
    vocabulary: Vocabulary
    ballots: list[ClipBallot]

    def ballots_for(self, clips: Sequence[str]) -> list[ClipBallot]:
        index = {b.clip: b for b in self.ballots}
        return [index[c] for c in clips]


def prepare(config: DictConfig, clips: Sequence[str] | None = None, progress: bool = False) -> Prepared:
    """Read the members, fit the vocabulary on their words and build one ballot per clip."""
    labels = collect_labels(build_members(config))
    all_clips = clips_of(labels)
    if clips is None:
        clips = all_clips
    else:
        covered = set(all_clips)
        unknown = [clip for clip in clips if clip not in covered]
        if len(unknown) == len(clips):
            raise InputError(f"no member covers any of the {len(clips)} requested clips (e.g. {clips[0]})")
        if unknown:
            log.warning("%d requested clips have no member output (e.g. %s): they get empty answers", len(unknown), unknown[0])
    lacking = {m: n for m, n in coverage_report(labels, clips).items() if n}
    if lacking:
        listed = ", ".join(f"{m} {n}" for m, n in lacking.items())
        log.info("of %d clips, members lack (judged by the others): %s", len(clips), listed)
    words = sorted({w for per_clip in labels.values() for ws in per_clip.values() for w in ws})
    vocabulary = build_vocabulary(config).fit(words)
    ballots = make_ballots(labels, vocabulary, list(clips), progress=progress)
    return Prepared(labels, list(clips), vocabulary, ballots)
