"""The ensemble pipeline, clip by clip: members -> labels per clip -> vocabulary -> ballots -> judge.

Every part is built by the one factory (core.factory) from the config, so the pipeline never
names a model, a vocabulary or a judge. The run's shared settings (`lexicon`, `cache_dir`,
`data_root`) are handed to every part that declares them.
"""
from __future__ import annotations

import dataclasses
import logging
import queue
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import nullcontext
from typing import Any

from omegaconf import DictConfig, OmegaConf

from core.bulk import paused_gc
from core.errors import InputError
from core.factory import build
from core.progress import progress as progress_of
from core.settings import cache_dir_or_default
from core.uses import PathUse, labelled
from ensemble.config import DEFAULT_CHUNK_CLIPS
from judge.base import Judge
from members.base import Clip, Member, MemberOutput
from members.clips import read_manifest
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
        "models": member_models(resolved.get("members") or []),
    }


def member_models(members: Sequence[Mapping]) -> dict[str, str]:
    """{member: model}: which model each member is a view of (its `view_of:` key, default its own
    name). The category judge declares `models` and pools the views of each model (judge/evidence.py).

    The key is not `model:`, which live members use for the served model's name."""
    out = {}
    for index, entry in enumerate(members, start=1):
        if not entry.get("name"):
            continue  # build_members reports it
        name = str(entry["name"])
        model = entry.get("view_of", name)
        if not isinstance(model, str) or not model:
            raise InputError(f"config: member #{index} ('{name}'): view_of must be a non-empty text, got {model!r}")
        out[name] = model
    return out


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
        spec.pop("view_of", None)  # which model it is a view of: for the judge (member_models)
        members.append(build("member", spec, shared, label=f"member '{name}'"))
    return members


def build_vocabulary(config: DictConfig) -> Vocabulary:
    return build("vocab", _plain(config.vocab), shared_settings(config))


def build_judge(config: DictConfig, overrides: Mapping[str, Any] | None = None) -> Judge:
    """The config's judge, its parameters checked, with its fitted state loaded when the config names one."""
    section = {**_plain(config.judge), **(overrides or {})}
    state = section.pop("state", None)
    if state is not None and not isinstance(state, str):
        raise InputError(f"config: judge.state must be the path of a state file, got {type(state).__name__}")
    judge = build("judge", section, shared_settings(config))
    judge.validate()
    return judge.load_state(state) if state else judge


@dataclasses.dataclass
class Parts:
    """The parts a config builds, before any of them runs: what they read and write can be
    checked first (`paths`), then `prepare` and `judge_clips` use them."""

    members: list[Member]
    vocabulary: Vocabulary
    judge: Judge
    ready: bool = False  # the judge's state is read: it can answer as it is

    def paths(self) -> list[PathUse]:
        """Every file and folder the parts declare they read or write, labelled with the part."""
        uses = [use for member in self.members for use in labelled(f"member '{member.name}'", member.paths())]
        return uses + labelled("vocab", self.vocabulary.paths()) + labelled("judge", self.judge.paths())

    def take_members(self) -> list[Member]:
        """The members, handed over: the caller drops them once they ran (their stored outputs
        are large), so the parts keep none."""
        members, self.members = self.members, []
        return members


def build_parts(config: DictConfig, ready: bool = False) -> Parts:
    """Every part of the config, built and checked; members first, so that a bad member type is
    reported as such. ready: also read the judge's state now (`run`: a missing or mismatched state
    fails before the members run, not after hours of inference; not `tune`, which refits it)."""
    members = build_members(config)
    judge = ready_judge(config, [member.name for member in members]) if ready else checked_judge(config)
    return Parts(members, build_vocabulary(config), judge, ready)


def as_clips(clips: Sequence[str | Clip]) -> list[Clip]:
    """Clips sorted by name, each once; a name given twice with different media is an error."""
    by_name: dict[str, Clip] = {}
    for item in clips:
        clip = item if isinstance(item, Clip) else Clip(str(item))
        if clip.name in by_name and by_name[clip.name] != clip:
            raise InputError(f"clip {clip.name} is listed twice with different media or subtitles")
        by_name[clip.name] = clip
    return [by_name[name] for name in sorted(by_name)]


def select_clips(members: Sequence[Member], clips: Sequence[str] | None) -> list[str]:
    """The clips to judge, sorted: the requested ones, or every clip a member can answer by name."""
    if clips is not None:
        return sorted(dict.fromkeys(clips))
    names: set[str] = set()
    for member in members:
        known = member.clip_names()
        if known is None:
            raise InputError(
                f"member '{member.name}' runs on media; give the clips to judge "
                "(--clips MANIFEST.csv, --videos DIR, or `clips:` in the config)"
            )
        names.update(known)
    return sorted(names)


# member -> clip -> the error that member met on that clip
Failures = dict[str, dict[str, str]]


def run_member(member: Member, clips: Sequence[Clip]) -> dict[str, MemberOutput]:
    """One member's outputs for the clips: set up, predict, and always close (frees a GPU for the next)."""
    if not member.setup_on_demand:
        member.setup()
    try:
        return member.predict(clips)
    finally:
        member.close()


class _Lanes:
    """Runs the members that hold resources in threads: each starts, in config order, as soon
    as no running member holds any of its resources, so members on different GPUs or servers
    run at once and members sharing one run in turn. Their work is in other processes, on a
    GPU or at a server, so threads suffice. After a failure no further member starts."""

    def __init__(self, members: Sequence[Member], clips: Sequence[Clip]):
        self.clips = clips
        self.waiting = list(members)
        self.held: set[str] = set()
        self.running: list[Member] = []
        self.done: "queue.Queue[tuple[Member, dict[str, MemberOutput] | None, BaseException | None]]" = queue.Queue()
        self.failed = False
        self.wanted = {id(member): member.resources() for member in members}

    def start_ready(self) -> None:
        for member in list(self.waiting):
            if self.failed:
                return
            if self.held.isdisjoint(self.wanted[id(member)]):
                self.waiting.remove(member)
                self.held |= self.wanted[id(member)]
                self.running.append(member)
                threading.Thread(target=self._run, args=(member,), name=f"member-{member.name}", daemon=True).start()

    def _run(self, member: Member) -> None:
        try:
            self.done.put((member, run_member(member, self.clips), None))
        except BaseException as error:  # noqa: BLE001 - handed to the collecting thread, which raises it
            self.done.put((member, None, error))

    def next_finished(self) -> tuple[Member, dict[str, MemberOutput]]:
        """The next member to finish and its outputs (the next ones are started first); its
        error, raised once every running member stopped (each is asked to cancel)."""
        member, outputs, error = self.done.get()
        self.running.remove(member)
        self.held -= self.wanted[id(member)]
        if error is not None:
            self.cancel()
            raise error
        self.start_ready()
        return member, outputs

    def cancel(self) -> None:
        """Ask every running member to stop and wait for them (what they finished is cached)."""
        self.failed = True
        for member in self.running:
            member.cancel()
        while self.running:
            member, _, error = self.done.get()
            self.running.remove(member)
            if error is not None:
                log.warning("member '%s' failed while stopping: %s", member.name, error)


def collect_outputs(members: Sequence[Member], clips: Sequence[str | Clip], progress: bool = False) -> tuple[ClipLabels, Failures]:
    """Labels per clip per member, and the clips each member failed on.

    A member that does not cover a clip, or failed on it, is absent from that clip: the other
    members judge it. Members that hold a GPU or a server (Member.resources) run at once where
    they hold different ones, in turn where they share one (_Lanes); members of stored outputs
    are read meanwhile in this thread, one after another. Results are the same in any case:
    each clip's labels and the failures are in the members' order.
    """
    clips = as_clips(clips)
    labels: ClipLabels = {clip.name: {} for clip in clips}
    failures: Failures = {}
    holding = {id(member): bool(member.resources()) for member in members}
    lanes = _Lanes([member for member in members if holding[id(member)]], clips)
    stored = [member for member in members if not holding[id(member)]]
    bar = progress_of(total=len(members), desc="members", unit="member", enabled=progress)
    order: list[str] = []
    try:
        lanes.start_ready()
        for member in stored:
            # Reading stored outputs builds millions of small acyclic objects (core/bulk.py); a live
            # model keeps the collector, as its libraries may make cycles over hours of inference
            # (the pause is process-wide, so members running in threads skip it while a file is read).
            with nullcontext() if member.setup_on_demand else paused_gc():
                outputs = run_member(member, clips)
            _gather(member, outputs, labels, failures, len(clips))
            order.append(member.name)
            bar.update(1)
        while lanes.running:
            member, outputs = lanes.next_finished()
            _gather(member, outputs, labels, failures, len(clips))
            order.append(member.name)
            bar.update(1)
    except BaseException:
        lanes.cancel()
        raise
    finally:
        bar.close()
    names = [member.name for member in members]
    if order != names:  # members finished in another order than configured: restore the config's
        rank = {name: index for index, name in enumerate(names)}
        for clip, answers in labels.items():
            if len(answers) > 1:
                labels[clip] = dict(sorted(answers.items(), key=lambda item: rank[item[0]]))
        failures = {name: failures[name] for name in names if name in failures}
    return labels, failures


def _gather(member: Member, outputs: dict[str, MemberOutput], labels: ClipLabels, failures: Failures, n_clips: int) -> None:
    """Fold one member's outputs into the labels per clip and the failures."""
    failed = {clip: out.error for clip, out in outputs.items() if not out.ok}
    if failed:
        failures[member.name] = failed
    answered = {clip: out for clip, out in outputs.items() if out.ok and clip in labels}
    without = [clip for clip, out in answered.items() if out.labels is None]
    if without:
        raise InputError(
            f"member '{member.name}': clip {without[0]} has a description but no labels; "
            "configure a label extractor for this member (type: extracted)"
        )
    for clip, out in answered.items():
        # The member's own list, not a copy: at 200,000 clips x 11 members copies cost ~200 MB.
        labels[clip][member.name] = out.labels if isinstance(out.labels, list) else list(out.labels)
    if not answered and not failed:
        log.warning("member '%s' covers none of the %d clips: it never votes", member.name, n_clips)
    elif answered and not any(out.labels for out in answered.values()):
        log.warning("member '%s' gave no label for any clip: it never votes", member.name)


def failure_summary(failures: Failures, n_clips: int) -> list[str]:
    """One line per member that failed on some clips: how many, and the first error."""
    lines = []
    for member, failed in failures.items():
        clip, error = next(iter(sorted(failed.items())))
        lines.append(f"member '{member}': {len(failed)} of {n_clips} clips failed (e.g. {clip}: {error})")
    return lines


def coverage_report(labels: ClipLabels, members: Sequence[str], clips: Sequence[str]) -> dict[str, int]:
    """How many of `clips` each member lacks (those clips are judged without it)."""
    return {member: sum(member not in labels.get(clip, {}) for clip in clips) for member in members}


@dataclasses.dataclass
class Prepared:
    """What every judge and tuning run needs: labels, clips and the fitted vocabulary, built once.

    Ballots are built from the labels on demand: `chunks` a bounded number of clips at a time
    (what `run` judges), `ballots` every clip at once (what tuning and a judge fitted at run
    time need), kept once built.
    """

    members: list[str]
    clips: list[str]
    labels: ClipLabels
    vocabulary: Vocabulary
    failures: Failures = dataclasses.field(default_factory=dict)
    judge: Judge | None = None  # the config's judge with its state read, when the parts were built ready
    _maker: BallotMaker | None = dataclasses.field(default=None, init=False, repr=False)
    _ballots: list[ClipBallot] | None = dataclasses.field(default=None, init=False, repr=False)

    def member_labels(self, member: str) -> dict[str, list[str]]:
        """One member's labels by clip (the clips it answered)."""
        return {clip: answers[member] for clip, answers in self.labels.items() if member in answers}

    def ballots_of(self, clips: Sequence[str]) -> list[ClipBallot]:
        """The ballots of the given prepared clips, in their order."""
        if self._maker is None:
            self._maker = BallotMaker(self.vocabulary)  # maps each distinct label once, not every occurrence
        make, labels = self._maker, self.labels
        with paused_gc():  # many small acyclic objects: see core/bulk.py
            return [make(clip, labels[clip]) for clip in clips]

    @property
    def ballots(self) -> list[ClipBallot]:
        """Every clip's ballot, in clip order (built on first use, then kept)."""
        if self._ballots is None:
            self._ballots = self.ballots_of(self.clips)
        return self._ballots

    def chunks(self, size: int) -> Iterator[list[ClipBallot]]:
        """The ballots `size` clips at a time, in clip order; each chunk is built when asked for,
        so only one is held (unless `ballots` was built already)."""
        for start in range(0, len(self.clips), size):
            if self._ballots is not None:
                yield self._ballots[start:start + size]
            else:
                yield self.ballots_of(self.clips[start:start + size])


def config_clips(config: DictConfig) -> list[Clip] | None:
    """The clips a config names (`clips: MANIFEST.csv`), else None."""
    path = OmegaConf.select(config, "clips", default="")
    return read_manifest(path) if path else None


def checked_judge(config: DictConfig) -> Judge:
    """The config's judge, built and its parameters validated; its state is not read (`tune`
    runs on configs whose state is missing or stale, and refits it)."""
    return build_judge(config, {"state": None})


def ready_judge(config: DictConfig, members: Sequence[str]) -> Judge:
    """The judge `judge_clips` runs: validated, its fitted state read and checked against the
    members (a missing or mismatched state fails before the members run, not after hours of
    inference)."""
    judge = build_judge(config)
    judge.check_members(members)
    return judge


def unanswered_message(unanswered: Sequence[str], n_clips: int) -> str:
    return f"{len(unanswered)} of {n_clips} clips got no answer from any member (e.g. {unanswered[0]}; see the failures above)"


def prepare(config: DictConfig, clips: Sequence[str | Clip] | None = None, progress: bool = False,
            allow_missing: bool = True, parts: Parts | None = None,
            on_failures: Callable[[Failures], None] | None = None) -> Prepared:
    """Run the members on the clips, fit the vocabulary on their words, build one ballot per clip.

    clips: names or Clip objects (with media for live members); default the config's `clips:`
    manifest, else every clip a cached member covers. parts: the config's parts, built (and so
    checked) before the first member runs; default built here. allow_missing: clips that every
    member holding them failed on are judged with an empty ballot (else InputError; finished
    clips stay in the members' caches). on_failures: called with the members' failures as soon
    as all members ran, before any check can stop the run (`run` writes them to a file).
    """
    # Every part built before the first member runs: a typo (`judge.kk=3`, `vocab.type=wordnett`)
    # fails now. Building loads no model; the vocabulary is fitted below, on the members' words.
    parts = parts if parts is not None else build_parts(config)
    members = parts.take_members()
    names = [m.name for m in members]
    if clips is None:
        clips = config_clips(config)
    if clips is None:
        clips = select_clips(members, None)
    labels, failures = collect_outputs(members, clips, progress)  # keyed by the clips, sorted
    if on_failures is not None:
        on_failures(failures)
    selected = list(labels)
    if not selected:
        raise InputError("no clips to judge")
    del members  # their cached outputs: the labels are all that is needed from here on
    for line in failure_summary(failures, len(selected)):
        log.warning("%s", line)
    answered = [clip for clip in selected if labels[clip]]
    if not answered:
        verb = "answered" if failures else "covers"
        raise InputError(f"no member {verb} any of the {len(selected)} requested clips (e.g. {selected[0]})")
    failed = {clip for errors in failures.values() for clip in errors}
    unanswered = [clip for clip in selected if not labels[clip] and clip in failed]
    if unanswered and not allow_missing:
        raise InputError(
            f"{unanswered_message(unanswered, len(selected))}; nothing written: finished clips are cached, so a rerun "
            "redoes only the failed ones; --allow-missing writes these with empty answers"
        )
    if unanswered:
        log.warning("%s: they get empty answers", unanswered_message(unanswered, len(selected)))
    uncovered = [clip for clip in selected if not labels[clip] and clip not in failed]
    if uncovered:
        log.warning("%d requested clips have no member output (e.g. %s): they get empty answers", len(uncovered), uncovered[0])
    lacking = {m: n for m, n in coverage_report(labels, names, selected).items() if n}
    if lacking:
        listed = ", ".join(f"{m} {n}" for m, n in lacking.items())
        log.info("of %d clips, members lack (judged by the others): %s", len(selected), listed)
    # Fitted on the distinct words of every clip, so a chunk's ballots do not depend on which
    # clips share its chunk (a grouper's clusters depend on the words it was fitted on).
    words = sorted({w for answers in labels.values() for ws in answers.values() for w in ws})
    vocabulary = parts.vocabulary.fit(words)
    return Prepared(names, selected, labels, vocabulary, failures, parts.judge if parts.ready else None)


def prepared_judge(config: DictConfig, prepared: Prepared) -> Judge:
    """The judge that answers for the prepared clips, checked against the run's members (a judge
    that learns answers from its state)."""
    judge = prepared.judge or build_judge(config)
    judge.check_members(prepared.members)
    return judge


def chunk_size(config: DictConfig | None) -> int:
    """The config's `chunk_clips`: how many clips are turned into ballots and judged at a time
    (no config: the default)."""
    size = DEFAULT_CHUNK_CLIPS if config is None else OmegaConf.select(config, "chunk_clips", default=DEFAULT_CHUNK_CLIPS)
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise InputError(f"config: chunk_clips must be a positive number of clips, got {size!r}")
    return size


def judge_chunks(config: DictConfig | None, prepared: Prepared, judge: Judge | None = None,
                 progress: bool = False) -> Iterator[tuple[list[ClipBallot], dict[str, list[str]]]]:
    """(ballots, the judge's answers) a chunk of `chunk_clips` clips at a time, in clip order:
    only one chunk's ballots are held. A fitted judge answers each clip from its ballot alone,
    so the answers do not depend on the chunk size. judge: one from `prepared_judge`, default
    the config's."""
    size = chunk_size(config)
    judge = judge or prepared_judge(config, prepared)
    bar = progress_of(desc="judging", total=len(prepared.clips), enabled=progress)
    try:
        for ballots in prepared.chunks(size):
            with paused_gc():
                answers = judge.predict(ballots)
            bar.update(len(ballots))
            yield ballots, answers
    finally:
        bar.close()


def judge_clips(config: DictConfig | None, prepared: Prepared, judge: Judge | None = None,
                progress: bool = False) -> dict[str, list[str]]:
    """The judge's answer for every prepared clip, in clip order (judged chunk by chunk)."""
    answers: dict[str, list[str]] = {}
    for _, part in judge_chunks(config, prepared, judge, progress):
        answers.update(part)
    return answers
