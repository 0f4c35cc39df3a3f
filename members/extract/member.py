"""A member that answers with labels extracted from its stored descriptions.

Config: `type: described`, `path: DESCRIPTIONS.npz` (or JSONL/CSV), `trust_pickle: true` for
pickled npz files, and `extractor: {type: rules | learned | llm, ...parameters}`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from members.base import Clip, MemberOutput
from members.cached import CachedMember
from members.extract.registry import make_extractor


@dataclass
class ExtractingMember(CachedMember):
    """CachedMember over a description file; labels come from the configured extractor.

    Clips whose file already holds labels keep them; the rest are extracted once, all together
    (so an LLM extractor can send its requests concurrently), and remembered.
    """

    extractor: dict[str, Any] = field(default_factory=dict)
    lexicon: str = ""  # handed to an extractor that reads the lexicon and names none itself
    _extracted: dict[str, MemberOutput] | None = field(default=None, init=False, repr=False)

    def outputs(self) -> dict[str, MemberOutput]:
        if self._extracted is None:
            stored = super().outputs()
            pending = {clip: out.description for clip, out in stored.items() if out.labels is None}
            labels = make_extractor(self.extractor, self.lexicon or None).extract_many(pending, self.name) if pending else {}
            self._extracted = {
                clip: out if out.labels is not None else MemberOutput(labels=labels[clip], description=out.description)
                for clip, out in stored.items()
            }
        return self._extracted

    def predict(self, clips: Iterable[Clip]) -> dict[str, MemberOutput]:
        outputs = self.outputs()
        return {clip.name: outputs[clip.name] for clip in clips if clip.name in outputs}
