"""Label sets on disk: the `openset` string format and `name,openset` CSV files.

The MER2024 challenge exchanges predictions as CSV with columns `name,openset`,
where `openset` is a bracketed list such as "['happy', 'relieved']" (the official
files also contain the unquoted form "[happy, relieved]").
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Sequence

from core.errors import InputError, where
from core.files import atomic_write_text

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


def check_unique(seen: dict[str, int], name: str, row: int, path: str | Path) -> None:
    """Record that `name` is on `row`; a clip named twice in one file is an error (which answer
    counts would otherwise depend on the order of rows)."""
    if name in seen:
        raise InputError(f"{where(path, row, name)}: clip named twice (first on row {seen[name]})")
    seen[name] = row


def _csv_rows(path: Path, needed: Sequence[str]) -> Iterator[tuple[int, str, dict]]:
    """(row number, clip name, row) of a CSV that has the `needed` columns, each clip named once.

    Raises InputError for a missing file or column, an empty name or a name seen before.
    """
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    # utf-8-sig: a CSV saved by Excel starts with a byte-order mark, which would rename the first column.
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        for column in needed:
            if column not in columns:
                raise InputError(f"{path}: missing column '{column}' (columns: {', '.join(columns) or 'none'})")
        seen: dict[str, int] = {}
        for row_number, row in enumerate(reader, start=2):
            name = (row["name"] or "").strip()
            if not name:
                raise InputError(f"{where(path, row_number)}: empty clip name")
            check_unique(seen, name, row_number, path)
            yield row_number, name, row


def read_label_csv(path: str | Path, only: Iterable[str] | None = None) -> LabelSets:
    """Read a `name,openset` CSV. Raises InputError naming the file and row.

    only: when given, rows of other clips are skipped without parsing their labels.
    """
    path = Path(path)
    wanted = None if only is None else set(only)
    result: LabelSets = {}
    for row_number, name, row in _csv_rows(path, ("name", "openset")):
        if wanted is not None and name not in wanted:
            continue
        try:
            result[name] = parse_openset(row["openset"])
        except ValueError as error:
            raise InputError(f"{where(path, row_number, name)}: unparsable openset ({error})") from None
    return result


def read_clip_names(path: str | Path) -> list[str]:
    """The clip names of a CSV with a `name` column (other columns are ignored), in file order."""
    path = Path(path)
    names = [name for _, name, _ in _csv_rows(path, ("name",))]
    if not names:
        raise InputError(f"{path}: no clip names")
    return names


def label_csv_text(predictions: Mapping[str, Sequence[str]]) -> str:
    """The CSV text of a submission, clips in sorted order so that reruns are byte-identical."""
    lines = ["name,openset"]
    for name in sorted(predictions):
        lines.append(f'{name},"{format_openset(predictions[name])}"')
    return "\n".join(lines) + "\n"


def write_label_csv(path: str | Path, predictions: Mapping[str, Sequence[str]]) -> None:
    """Write a submission CSV atomically (no partial file on failure)."""
    atomic_write_text(path, label_csv_text(predictions))
