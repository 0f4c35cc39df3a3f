"""Label sets on disk: the `openset` string format and `name,openset` CSV files.

The MER2024 challenge exchanges predictions as CSV with columns `name,openset`,
where `openset` is a bracketed list such as "['happy', 'relieved']" (the official
files also contain the unquoted form "[happy, relieved]").
"""
from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path
from typing import Mapping, Sequence

from ensemble.errors import InputError, where

LabelSets = dict[str, list[str]]


def normalise_label(label: str) -> str:
    """The metrics' normalisation: lower-case and strip (quotes and spaces)."""
    return label.strip().strip("'\"").strip().lower()


def parse_openset(text: str) -> list[str]:
    """Parse "['a', 'b']" or "[a, b]" into ['a', 'b'] (lower-cased, empty items dropped).

    Items are split on commas and on quotes, as the official evaluator does: the
    apostrophe in "['don't believe']" splits it into 'don' and 't believe'.
    Raises ValueError when the text is not a bracketed list.
    """
    text = (text or "").strip()
    if not (text.startswith("[") and text.endswith("]")):
        raise ValueError(f"not a bracketed list: {text[:60]!r}")
    body = text[1:-1].replace('"', ",").replace("'", ",")
    items = [normalise_label(item) for item in body.split(",")]
    return [item for item in items if item]


def format_openset(labels: Sequence[str]) -> str:
    """The MER2024 submission form: "['happy', 'relieved']"."""
    for label in labels:
        if "'" in label or "," in label:
            raise ValueError(f"label {label!r} cannot be written in the openset format")
    return "[" + ", ".join(f"'{label}'" for label in labels) + "]"


def read_label_csv(path: str | Path) -> LabelSets:
    """Read a `name,openset` CSV. Raises InputError naming the file and row."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    result: LabelSets = {}
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        for needed in ("name", "openset"):
            if needed not in columns:
                raise InputError(f"{path}: missing column '{needed}' (columns: {', '.join(columns) or 'none'})")
        for row_number, row in enumerate(reader, start=2):
            name = (row["name"] or "").strip()
            if not name:
                raise InputError(f"{where(path, row_number)}: empty clip name")
            try:
                result[name] = parse_openset(row["openset"])
            except ValueError as error:
                raise InputError(f"{where(path, row_number, name)}: unparsable openset ({error})") from None
    return result


def new_file_mode() -> int:
    """The mode an ordinary new file gets under the current umask (mkstemp would give 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write a file so that readers see either the old file or the whole new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.chmod(temporary, new_file_mode())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def label_csv_text(predictions: Mapping[str, Sequence[str]]) -> str:
    """The CSV text of a submission, clips in sorted order so that reruns are byte-identical."""
    lines = ["name,openset"]
    for name in sorted(predictions):
        lines.append(f'{name},"{format_openset(predictions[name])}"')
    return "\n".join(lines) + "\n"


def write_label_csv(path: str | Path, predictions: Mapping[str, Sequence[str]]) -> None:
    """Write a submission CSV atomically (no partial file on failure)."""
    atomic_write_text(path, label_csv_text(predictions))
