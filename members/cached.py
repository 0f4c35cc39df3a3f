"""A member whose outputs were computed earlier and stored in a file."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Collection, Iterable

from members.base import Clip, Member, MemberOutput
from members.readers import read_outputs


@dataclass
class CachedMember(Member):
    """Reads one output file (label npz, description npz, CSV or JSONL) and answers from it.

    Description npz files are pickled and load only with `trust_pickle=True`. Malformed rows of
    an upstream label npz are read as the official toolkit reads them, with a warning; with
    `strict=True` they are errors.
    """

    path: str = ""
    trust_pickle: bool = False
    strict: bool = False
    _outputs: dict[str, MemberOutput] | None = field(default=None, init=False, repr=False)

    path_params = {"path": "file"}

    def outputs(self, only: Collection[str] | None = None) -> dict[str, MemberOutput]:
        """The stored outputs; with `only`, just those clips, and rows of others are not parsed
        (unless the whole file was read already)."""
        if self._outputs is not None:
            return self._outputs if only is None else {c: self._outputs[c] for c in only if c in self._outputs}
        outputs = read_outputs(self.path, self.trust_pickle, only=only, strict=self.strict)
        if only is None:
            self._outputs = outputs
        return outputs

    def clip_names(self) -> list[str]:
        return sorted(self.outputs())

    def predict(self, clips: Iterable[Clip]) -> dict[str, MemberOutput]:
        names = [clip.name for clip in clips]
        outputs = self.outputs(only=names)
        return {name: outputs[name] for name in names if name in outputs}
