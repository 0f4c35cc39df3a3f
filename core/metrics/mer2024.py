"""MER2024 MER-OV metric: set-level accuracy and recall after per-clip synonym grouping.

The official metric asked GPT-3.5 to group gold ∪ prediction of each clip into synonym
groups; those answers are cached in `openset-synonym-*.zip`. A grouper is any object with
`groups(clip, words) -> list[list[str]]`, so a local grouper can stand in for the LLM.
"""
from __future__ import annotations

import ast
import io
import math
import zipfile
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Mapping, Protocol, Sequence, runtime_checkable

import numpy as np
from numpy.lib import format as npy_format

from core.errors import InputError, quoted
from core.labels import normalise_label
from core.metrics.common import paired_clips, set_scores
from core.progress import progress as progress_of


@runtime_checkable
class Grouper(Protocol):
    """What a MER2024 synonym grouper offers (checked structurally: any class with `groups`)."""

    def groups(self, clip: str, words: Sequence[str]) -> list[list[str]]: ...


class IdentityGrouper:
    """No synonyms: every word is its own group."""

    def groups(self, clip: str, words: Sequence[str]) -> list[list[str]]:
        return [[word] for word in words]


# Bounds on a groupings zip, checked before anything is inflated: a grouping is one short
# string (800 bytes the largest of the 200 dev clips), one entry per clip.
MAX_ENTRY_BYTES = 1 << 20
MAX_ENTRIES = 1_000_000


@dataclass
class ZipGrouper:
    """The cached GPT-3.5 groupings: one `<clip>.npy` (a list of word lists) per clip.

    groupings: the zip file (`openset-synonym-*.zip`). At most MAX_ENTRIES entries, each read
    with a hard cap of MAX_ENTRY_BYTES whatever its header declares (a zip bomb is one error).
    """

    groupings: str = ""
    _members: dict[str, str] | None = field(default=None, init=False, repr=False)
    _cache: dict[str, list[list[str]]] = field(default_factory=dict, init=False, repr=False)

    @property
    def path(self) -> Path:
        return Path(self.groupings)

    def _index(self) -> dict[str, str]:
        if self._members is None:
            if not self.groupings:
                raise InputError("grouper 'cached' needs the groupings zip (--groupings ZIP)")
            if not self.path.is_file():
                raise InputError(f"{self.path}: groupings zip not found")
            try:
                with zipfile.ZipFile(self.path) as archive:
                    names = archive.namelist()
            except (zipfile.BadZipFile, OSError, ValueError) as error:
                raise InputError(f"{self.path}: not a zip file ({error})") from None
            if len(names) > MAX_ENTRIES:
                raise InputError(f"{self.path}: {len(names)} entries, more than the {MAX_ENTRIES} a groupings zip may hold")
            self._members = {Path(n).stem: n for n in names if n.endswith(".npy")}
        return self._members

    def _read(self, entry: str) -> bytes:
        """One entry's bytes, never more than MAX_ENTRY_BYTES of them inflated."""
        where = f"{self.path}, entry {quoted(entry)}"
        try:
            with zipfile.ZipFile(self.path) as archive:
                declared = archive.getinfo(entry).file_size
                if declared > MAX_ENTRY_BYTES:
                    raise InputError(f"{where}: inflates to {declared} bytes, more than the {MAX_ENTRY_BYTES} a grouping may take")
                with archive.open(entry) as handle:
                    data = handle.read(MAX_ENTRY_BYTES + 1)
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError, KeyError, RuntimeError) as error:
            raise InputError(f"{where}: unreadable ({type(error).__name__}: {error})") from None
        if len(data) > MAX_ENTRY_BYTES:  # a header that lies about the size
            raise InputError(f"{where}: inflates to more than the {MAX_ENTRY_BYTES} bytes a grouping may take")
        return data

    def _parse(self, data: bytes, clip: str) -> list[list[str]]:
        # Each .npy holds one string: the LLM's answer, a Python list literal of word lists.
        try:
            _check_npy_size(data)
            text = str(np.load(io.BytesIO(data), allow_pickle=False).item())
            groups = ast.literal_eval(text)
            if not all(isinstance(group, (list, tuple)) for group in groups):
                raise ValueError("not a list of lists")
        except (ValueError, SyntaxError, TypeError) as error:
            raise InputError(f"{self.path}: unreadable grouping for clip {clip} ({error})") from None
        return [[normalise_label(str(word)) for word in group] for group in groups]

    def clips(self) -> set[str]:
        return set(self._index())

    def groups(self, clip: str, words: Sequence[str]) -> list[list[str]]:
        if clip not in self._cache:
            members = self._index()
            if clip not in members:
                raise InputError(f"{self.path}: no cached grouping for clip {clip}")
            self._cache[clip] = self._parse(self._read(members[clip]), clip)
        return self._cache[clip]


def _check_npy_size(data: bytes) -> None:
    """ValueError unless the .npy header declares no more data than `data` holds: numpy
    allocates what the header declares before reading, so a lying header would cost memory."""
    stream = io.BytesIO(data)
    major, _ = npy_format.read_magic(stream)
    if major not in (1, 2):
        raise ValueError(f".npy format version {major} is not read here")
    shape, _, dtype = (npy_format.read_array_header_1_0 if major == 1 else npy_format.read_array_header_2_0)(stream)
    if math.prod(shape) * dtype.itemsize > len(data):
        raise ValueError(f"its header declares {math.prod(shape) * dtype.itemsize} bytes of data, the entry holds {len(data)}")


@dataclass
class Mer2024Scores:
    accuracy: float
    recall: float
    avg: float
    n_clips: int

    def as_dict(self) -> dict:
        return asdict(self)


def _mapper(groups: list[list[str]]):
    first: dict[str, str] = {}
    for group in groups:
        if not group:
            continue
        for word in group:
            first.setdefault(word, group[0])
    return lambda word: first.get(word, word)


def mer2024_scores(
    gold: Mapping[str, Sequence[str]], pred: Mapping[str, Sequence[str]], grouper: Grouper | None = None, progress: bool = False
) -> Mer2024Scores:
    """Accuracy_s, Recall_s and their mean over the gold clips (progress: show the grouping's progress)."""
    grouper = grouper or IdentityGrouper()
    accuracies, recalls = [], []
    for clip in progress_of(paired_clips(gold, pred), "MER2024 grouping", enabled=progress):
        gold_words = [normalise_label(w) for w in gold[clip]]
        pred_words = [normalise_label(w) for w in pred[clip]]
        if not gold_words:
            continue
        union = list(dict.fromkeys(gold_words + pred_words))
        to_group = _mapper(grouper.groups(clip, union))
        accuracy, recall = set_scores({to_group(w) for w in gold_words}, {to_group(w) for w in pred_words})
        accuracies.append(accuracy)
        recalls.append(recall)
    if not accuracies:
        raise InputError("no gold clip with labels to score")
    accuracy, recall = float(np.mean(accuracies)), float(np.mean(recalls))
    return Mer2024Scores(accuracy, recall, (accuracy + recall) / 2, len(accuracies))
