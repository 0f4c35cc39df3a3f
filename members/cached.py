"""A member whose outputs were computed earlier and stored in a file."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from members.base import Clip, Member, MemberOutput
from members.readers import read_outputs


@dataclass
class CachedMember(Member):
    """Reads one output file (label npz, description npz, CSV or JSONL) and answers from it.

    Description npz files are pickled and load only with `trust_pickle=True`.
    """

    path: str = ""
    trust_pickle: bool = False
    _outputs: dict[str, MemberOutput] | None = field(default=None, init=False, repr=False)

    def outputs(self) -> dict[str, MemberOutput]:
        if self._outputs is None:
            self._outputs = read_outputs(self.path, self.trust_pickle)
        return self._outputs

    def clip_names(self) -> list[str]:
        return sorted(self.outputs())

    def predict(self, clips: Iterable[Clip]) -> dict[str, MemberOutput]:
        outputs = self.outputs()
        return {clip.name: outputs[clip.name] for clip in clips if clip.name in outputs}
