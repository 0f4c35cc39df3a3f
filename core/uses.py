"""The files and folders a part of a run reads or writes, as the part itself declares them.

Every configurable part (member, vocabulary, judge, extractor) answers `paths()` with a list of
PathUse. A command collects them from the parts it built, before any part runs, and refuses an
`--out` that would land on one of them (core.files.check_output_path): one rule, fed by the
parts, with no list of config keys to keep in step with the parts' parameters.

The default `paths()` reads the parameters the class names in `path_params`
(`{"path": "file", "model_path": "folder"}`); a part with nested parts or caches overrides it
and adds theirs.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import ClassVar, Iterable, Mapping


@dataclass(frozen=True)
class PathUse:
    """A file, or a folder with everything under it, that a run reads or writes.

    what: whose and which it is, for error messages ("model_path", "member 'EQ': cache").
    """

    path: str
    what: str = ""
    folder: bool = False
    writes: bool = False

    def under(self, label: str) -> "PathUse":
        """The same use, its `what` prefixed with the part that holds it."""
        return dataclasses.replace(self, what=f"{label}: {self.what}" if self.what else label)


def labelled(label: str, uses: Iterable[PathUse]) -> list[PathUse]:
    return [use.under(label) for use in uses]


class DeclaresPaths:
    """Mixin of the part base classes: `paths()` from the path parameters the class declares.

    path_params: parameter name -> "file" or "folder" (a folder covers every path under it).
    Subclasses assign it without annotation, so a dataclass does not take it for a field.
    """

    path_params: ClassVar[Mapping[str, str]] = {}

    def paths(self) -> list[PathUse]:
        """The files and folders this part reads or writes (default: its declared path parameters
        that are set)."""
        uses = []
        for name, kind in self.path_params.items():
            value = getattr(self, name, None)
            if isinstance(value, (str, os.PathLike)) and str(value).strip():
                uses.append(PathUse(str(value), name, folder=kind == "folder"))
        return uses
