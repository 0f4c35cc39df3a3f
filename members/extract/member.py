"""A member that answers with labels extracted from its stored descriptions.

Config: `type: described`, `path: DESCRIPTIONS.npz` (or JSONL/CSV), `trust_pickle: true` for
pickled npz files, and `extractor: {type: rules | learned | llm, ...parameters}`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Collection

from core.factory import build
from members.base import MemberOutput
from members.cached import CachedMember


@dataclass
class ExtractingMember(CachedMember):
    """CachedMember over a description file; labels come from the configured extractor.

    Clips whose file already holds labels keep them; the rest are extracted once, all together
    (so an LLM extractor can send its requests concurrently), and remembered. The run's
    `lexicon` and `cache_dir` are handed down to the extractor (core.factory's rule).
    """

    extractor: dict[str, Any] = field(default_factory=dict)
    lexicon: str = ""
    cache_dir: str = ""
    _extracted: dict[str, MemberOutput] = field(default_factory=dict, init=False, repr=False)

    def outputs(self, only: Collection[str] | None = None) -> dict[str, MemberOutput]:
        stored = super().outputs(only)
        pending = {clip: out.description for clip, out in stored.items() if out.labels is None and clip not in self._extracted}
        if pending:
            shared = {"lexicon": self.lexicon, "cache_dir": self.cache_dir}
            extractor = build("extractor", self.extractor, shared, label=f"member '{self.name}': extractor")
            labels = extractor.extract_many(pending, self.name)
            for clip, text in pending.items():
                self._extracted[clip] = MemberOutput(labels=labels[clip], description=text)
        return {clip: out if out.labels is not None else self._extracted[clip] for clip, out in stored.items()}
