"""The ensemble pipeline, clip by clip: members -> labels per clip -> vocabulary -> ballots -> judge.

Every part is built by the one factory (core.factory) from the config, so the pipeline never
names a model, a vocabulary or a judge. The run's shared settings (`lexicon`, `cache_dir`,
`data_root`) are handed to every part that declares them.
"""
from __future__ import annotations

import dataclasses
import logging
from typing import Any, Mapping, Sequence

from omegaconf import DictConfig, OmegaConf
from tqdm import tqdm

from core.bulk import paused_gc
from core.errors import InputError
from core.factory import build
from core.settings import cache_dir_or_default
from judge.base import Judge
from members.base import Clip, Member
from vocab.ballot import BallotMaker, ClipBallot
from vocab.base import Vocabulary

log = logging.getLogger(__name__)

# clip -> member -> the labels that member gave for that clip (members lacking the clip are absent)
ClipLabels = dict[str, dict[str, list[str]]]


def _plain(node) -> dict:
    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else dict(node)


def shared_settings(config: DictConfig) -> dict[str, Any]:
    """The settings every part may declare, resolved once per run."""
    resolved = OmegaConf.to_container(config, resolve=True)
    return {
        "lexicon": str(resolved["lexicon"]),
        "cache_dir": str(cache_dir_or_default(resolved.get("cache_dir"))),
        "data_root": str(resolved["data_root"]),
    }


def build_members(config: DictConfig) -> list[Member]:
    if not config.members:
        raise InputError("config: no members")
    shared = shared_settings(config)
    members, seen = [], set()
    for index, entry in enumerate(config.members):
        spec = _plain(entry)
        name = spec.get("name")
        if not name:
            raise InputError(f"config: member #{index + 1} has no name")
        if name in seen:
            raise InputError(f"config: member '{name}' is named twice")
        seen.add(name)
        members.append(build("member", spec, shared, label=f"member '{name}'"))
    return members


def build_vocabulary(config: DictConfig) -> Vocabulary:
    return build("vocab", _plain(config.vocab), shared_settings(config))


def build_judge(config: DictConfig, overrides: Mapping[str, Any] | None = None) -> Judge:
    return build("judge", {**_plain(config.judge), **(overrides or {})}, shared_settings(config))


def select_clips(members: Sequence[Member], clips: Sequence[str] | None) -> list[str]:
    """The clips to judge, sorted: the requested ones, or every clip a member can answer by name."""
    if clips is not None:
        return sorted(dict.fromkeys(clips))
    names: set[str] = set()
    for member in members:
        known = member.clip_names()
        if known is None:
            raise InputError(f"member '{member.name}' needs media; give the clips to judge")
        names.update(known)
    return sorted(names)


def collect_labels(members: Sequence[Member], clips: Sequence[str], progress: bool = False) -> ClipLabels:
    """Labels per clip per member. A member that cannot answer a clip is absent from that clip."""
    labels: ClipLabels = {clip: {} for clip in clips}
    requested = [Clip(name) for name in clips]
    for member in tqdm(members, desc="members", unit="member", disable=not progress or None, leave=False):
        outputs = member.predict(requested)
        without = [clip for clip, out in outputs.items() if out.labels is None]
        if without:
            raise InputError(
                f"member '{member.name}': clip {without[0]} has a description but no labels; "
                "configure a label extractor for this member"
            )
        for clip, out in outputs.items():
            if clip in labels:
                # The member's own list, not a copy: at 200,000 clips x 11 members copies cost ~200 MB.
                labels[clip][member.name] = out.labels if isinstance(out.labels, list) else list(out.labels)
        if not outputs:
            log.warning("member '%s' covers none of the %d clips: it never votes", member.name, len(requested))
        elif not any(out.labels for out in outputs.values()):
            log.warning("member '%s' gave no label for any clip: it never votes", member.name)
    return labels


def coverage_report(labels: ClipLabels, members: Sequence[str], clips: Sequence[str]) -> dict[str, int]:
    """How many of `clips` each member lacks (those clips are judged without it)."""
    return {member: sum(member not in labels.get(clip, {}) for clip in clips) for member in members}


@dataclasses.dataclass
class Prepared:
    """What every judge and tuning run needs: labels, clips, the fitted vocabulary and ballots, built once."""

    members: list[str]
    clips: list[str]
    labels: ClipLabels
    vocabulary: Vocabulary
    ballots: list[ClipBallot]

    def member_labels(self, member: str) -> dict[str, list[str]]:
        """One member's labels by clip (the clips it answered)."""
        return {clip: answers[member] for clip, answers in self.labels.items() if member in answers}


def prepare(config: DictConfig, clips: Sequence[str] | None = None, progress: bool = False) -> Prepared:
    """Read the members for the clips, fit the vocabulary on their words, build one ballot per clip."""
    with paused_gc():  # millions of small acyclic objects: see core/bulk.py
        return _prepare(config, clips, progress)


def _prepare(config: DictConfig, clips: Sequence[str] | None, progress: bool) -> Prepared:
    members = build_members(config)
    names = [m.name for m in members]
    selected = select_clips(members, clips)
    labels = collect_labels(members, selected, progress)
    del members  # their cached outputs: the labels are all that is needed from here on
    unanswered = [clip for clip in selected if not labels[clip]]
    if len(unanswered) == len(selected):
        raise InputError(f"no member covers any of the {len(selected)} requested clips (e.g. {selected[0]})")
    if unanswered:
        log.warning("%d requested clips have no member output (e.g. %s): they get empty answers", len(unanswered), unanswered[0])
    lacking = {m: n for m, n in coverage_report(labels, names, selected).items() if n}
    if lacking:
        listed = ", ".join(f"{m} {n}" for m, n in lacking.items())
        log.info("of %d clips, members lack (judged by the others): %s", len(selected), listed)
    words = sorted({w for answers in labels.values() for ws in answers.values() for w in ws})
    vocabulary = build_vocabulary(config).fit(words)
    make_ballot = BallotMaker(vocabulary)  # maps each distinct label once, not every occurrence
    ballots = [
        make_ballot(clip, labels[clip])
        for clip in tqdm(selected, desc="ballots", unit="clip", disable=not progress or None, leave=False)
    ]
    return Prepared(names, selected, labels, vocabulary, ballots)


def judge_clips(config: DictConfig, prepared: Prepared) -> dict[str, list[str]]:
    """The judge's answer for every prepared clip (a learned judge loads its fitted state)."""
    judge = build_judge(config)
    if getattr(judge, "needs_fit", False):
        judge.fit(prepared.ballots)
    with paused_gc():
        return judge.predict(prepared.ballots)
