"""Extraction as a wrapper over any member: the wrapped member's descriptions become labels.

Config, over a live model:
    {name: EQ, type: extracted, member: {type: emotion_qwen, model_path: ...}, extractor: {type: llm, ...}}
or over a stored description file (the `described` shorthand):
    {name: Otter, type: described, path: DESCRIPTIONS.jsonl, extractor: {type: rules}}
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from core.factory import build
from core.uses import PathUse, labelled
from members.base import Clip, Member, MemberOutput


@dataclass(kw_only=True)
class ExtractingMember(Member):
    """Answers with the wrapped member's labels, and extracts labels from its description where
    it gave none (all such clips at once, so an LLM extractor can send them concurrently).

    member: the wrapped member's spec (its name defaults to this member's name); or `path`
    (+ `trust_pickle`) for a stored description file. extractor: rules | learned | llm spec.
    The run's `lexicon`, `cache_dir` and `data_root` are handed down to both (core.factory's rule).
    """

    member: dict[str, Any] = field(default_factory=dict)
    path: str = ""
    trust_pickle: bool = False
    extractor: dict[str, Any] = field(default_factory=dict)
    lexicon: str = ""
    cache_dir: str = ""
    data_root: str = ""
    _inner: Member | None = field(default=None, init=False, repr=False)
    _extractor: Any = field(default=None, init=False, repr=False)
    _extracted: dict[tuple[str, str], list[str]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if bool(self.member) == bool(self.path):
            raise ValueError("give either `member` (the member to wrap) or `path` (a description file)")

    def _shared(self) -> dict[str, str]:
        return {"lexicon": self.lexicon, "cache_dir": self.cache_dir, "data_root": self.data_root}

    @property
    def inner(self) -> Member:
        if self._inner is None:
            spec = dict(self.member) or {"type": "cached", "path": self.path, "trust_pickle": self.trust_pickle}
            spec.setdefault("name", self.name)
            self._inner = build("member", spec, self._shared(), label=f"member '{self.name}'")
        return self._inner

    @property
    def extractor_part(self):
        """The extractor, built on first use."""
        if self._extractor is None:
            self._extractor = build("extractor", self.extractor, self._shared(), label=f"member '{self.name}': extractor")
        return self._extractor

    def paths(self) -> list[PathUse]:
        """What the wrapped member and the extractor read and write."""
        return labelled("member", self.inner.paths()) + labelled("extractor", self.extractor_part.paths())

    @property
    def setup_on_demand(self) -> bool:  # as the wrapped member
        return self.inner.setup_on_demand

    def setup(self) -> None:
        if not self.inner.setup_on_demand:  # a live member loads its model only for uncached clips
            self.inner.setup()

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()

    def clip_names(self) -> list[str] | None:
        return self.inner.clip_names()

    def predict(self, clips: Sequence[Clip]) -> dict[str, MemberOutput]:
        outputs = self.inner.predict(clips)
        pending = {
            clip: out.description or ""
            for clip, out in outputs.items()
            if out.ok and out.labels is None and (clip, out.description or "") not in self._extracted
        }
        if pending:
            found = self.extractor_part.extract_many(pending, self.name)
            for clip, text in pending.items():
                self._extracted[(clip, text)] = found[clip]
        return {
            clip: out if not out.ok or out.labels is not None
            else MemberOutput(labels=self._extracted[(clip, out.description or "")], description=out.description, elapsed=out.elapsed)
            for clip, out in outputs.items()
        }
