"""Label sets on disk: the `openset` string format, `name,openset` CSV files, and the Codalab
`-openset.npz` submission form (written here, streamed by members/npz.py when read).

The MER2024 challenge exchanges predictions as CSV with columns `name,openset`,
where `openset` is a bracketed list such as "['happy', 'relieved']" (the official
files also contain the unquoted form "[happy, relieved]").

Bounds (one place, enforced by every reader): a label longer than MAX_LABEL_CHARS, a clip
with more than MAX_LABELS labels, or a clip name longer than MAX_NAME_CHARS is an input
error. They are far above anything a model names (the real files: 157 characters at most,
inside a malformed sentence row; 25 labels at most) and keep a hostile or broken file
from filling memory one row at a time. Error messages quote an offending field only as a
short marked excerpt (core.errors.excerpt).
"""
from __future__ import annotations

import csv
import io
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from core.errors import InputError, excerpt, quoted, where
from core.files import atomic_write_bytes, atomic_write_text

LabelSets = dict[str, list[str]]

MAX_LABEL_CHARS = 200
MAX_LABELS = 100
MAX_NAME_CHARS = 200


# Python decodes undecodable bytes to these with errors="surrogateescape"; valid UTF-8 never does.
_SURROGATE = re.compile("[\ud800-\udfff]")
# Characters a written label or clip name cannot hold: the openset and CSV syntax around it.
_UNWRITABLE_LABEL = re.compile("['\",\r\n]")
_UNWRITABLE_NAME = re.compile("[\",\r\n]")


def has_surrogates(text: str) -> bool:
    """True when `text` holds undecodable bytes (surrogateescape) or lone surrogates (JSON '\\udc80')."""
    return not text.isascii() and _SURROGATE.search(text) is not None


def normalise_label(label: str) -> str:
    """The metrics' normalisation: lower-case and strip (quotes and spaces)."""
    return label.strip().strip("'\"").strip().lower()


class LabelCache(dict):
    """Raw item -> normalised label, one shared string object per distinct label.

    A file names a few hundred distinct words millions of times; normalising each distinct
    item once and sharing the result keeps both time and memory per distinct word.
    """

    def __missing__(self, raw: str) -> str:
        value = self[raw] = sys.intern(normalise_label(raw))
        return value


def _split_items(body: str, cache: LabelCache | None) -> list[str]:
    items = body.replace('"', ",").replace("'", ",").split(",")
    # map keeps the lookup in C (a large file holds tens of millions of items); the comprehension,
    # unlike list(filter(...)), sizes the list to its labels (list() keeps 8 slots for 4 labels).
    return [word for word in map(normalise_label if cache is None else cache.__getitem__, items) if word]


def parse_openset(text: str, cache: LabelCache | None = None) -> list[str]:
    """Parse "['a', 'b']" or "[a, b]" into ['a', 'b'] (lower-cased, empty items dropped).

    Items are split on commas and on quotes, as the official evaluator does: the
    apostrophe in "['don't believe']" splits it into 'don' and 't believe'.
    Raises ValueError when the text is not a bracketed list (or not a string).
    """
    if not isinstance(text, str):
        raise ValueError(f"expected a string, got {type(text).__name__}")
    text = text.strip()
    if not (text.startswith("[") and text.endswith("]")):
        raise ValueError(f"not a bracketed list: {excerpt(text)}")
    return _split_items(text[1:-1], cache)


def parse_openset_lenient(text: str, cache: LabelCache | None = None) -> list[str]:
    """Read any text as the official AffectGPT toolkit does (toolkit/utils/functions.py
    `string_to_list`): drop one leading '[' and one trailing ']', split on quotes and commas,
    strip, drop empty items. So "[], Anxiety, Nervousness, Tension" gives ['anxiety',
    'nervousness', 'tension'] and a sentence gives its comma-separated fragments.

    One deliberate difference: an item made only of brackets (the ']' of "[], ...") is dropped,
    where the toolkit keeps it; no lexicon maps it, so the official scores are the same.
    """
    if not isinstance(text, str):
        raise ValueError(f"expected a string, got {type(text).__name__}")
    text = text.strip()
    text = text.removeprefix("[")
    text = text.removesuffix("]")
    return [word for word in _split_items(text, cache) if word.strip("[]")]


def check_labels(labels: Sequence[str], path: str | Path, row: int | None, clip: str) -> None:
    """Raise InputError (naming file, row and clip) for a label set beyond the bounds."""
    if len(labels) > MAX_LABELS:
        raise InputError(f"{where(path, row, clip)}: {len(labels)} labels, more than the bound of {MAX_LABELS}")
    if not labels:
        return
    # Whole-set tests first (in C); the per-label loop runs only to name the offending label.
    if max(map(len, labels)) > MAX_LABEL_CHARS:
        label = next(label for label in labels if len(label) > MAX_LABEL_CHARS)
        raise InputError(
            f"{where(path, row, clip)}: a label of {len(label)} characters, longer than the bound of "
            f"{MAX_LABEL_CHARS} ({excerpt(label)})"
        )
    if has_surrogates("".join(labels)):
        label = next(label for label in labels if has_surrogates(label))
        raise InputError(f"{where(path, row, clip)}: a label is not valid UTF-8 text ({excerpt(label)})")


def check_name(name: str, path: str | Path, row: int | None) -> str:
    """The clip name, stripped; InputError for an empty, overlong or undecodable one."""
    name = name.strip()
    if not name:
        raise InputError(f"{where(path, row)}: empty clip name")
    if len(name) > MAX_NAME_CHARS:
        raise InputError(f"{where(path, row)}: clip name longer than {MAX_NAME_CHARS} characters ({excerpt(name)})")
    if has_surrogates(name):
        raise InputError(f"{where(path, row)}: clip name is not valid UTF-8 text ({excerpt(name)})")
    return sys.intern(name)  # one string per clip, shared by every member file and the gold


def format_openset(labels: Sequence[str], quoted: bool = True) -> str:
    """The MER2024 submission form "['happy', 'relieved']", or with quoted=False the form the
    official `-openset.npz` files hold, "[happy, relieved]".

    Raises ValueError for a label the form cannot carry (a quote, a comma, a line break, or
    nothing but spaces): it would come back as other labels, or none, when read.
    """
    for label in labels:
        if not isinstance(label, str) or _UNWRITABLE_LABEL.search(label) or not label.strip():
            raise ValueError(f"label cannot be written in the openset format ({excerpt(label)})")
    return "[" + ", ".join(f"'{label}'" if quoted else label for label in labels) + "]"


def check_unique(seen: dict[str, int], name: str, row: int, path: str | Path) -> None:
    """Record that `name` is on `row`; a clip named twice in one file is an error (which answer
    counts would otherwise depend on the order of rows)."""
    if name in seen:
        raise InputError(f"{where(path, row, name)}: clip named twice (first on row {seen[name]})")
    seen[name] = row


def _check_utf8(path: Path, row_number: int, row: dict) -> None:
    for column, value in row.items():
        values = value if isinstance(value, list) else [value]  # extra fields collect in a list
        for text in values:
            if isinstance(text, str) and has_surrogates(text):
                raise InputError(
                    f"{where(path, row_number)}: not UTF-8 text in column {quoted(column)} ({excerpt(text)})"
                )


def csv_rows(path: Path, needed: Sequence[str], what: str = "file", strip: bool = False) -> Iterator[tuple[int, str, dict]]:
    """(row number, clip name, row) of a CSV that has the `needed` columns, each clip named once.

    Rows are numbered as records (the header is row 1). Raises InputError for a missing file
    (named `what`) or column, a row the csv module cannot split (a field over its size limit,
    say), bytes that are not UTF-8, an empty or overlong name, or a name seen before.
    strip: take the spaces off column names and cells (hand-written clip manifests).
    """
    if not path.is_file():
        raise InputError(f"{path}: {what} not found")
    # utf-8-sig: a CSV saved by Excel starts with a byte-order mark, which would rename the first column.
    # surrogateescape: undecodable bytes reach the row that holds them, which the error then names.
    with open(path, newline="", encoding="utf-8-sig", errors="surrogateescape") as handle:
        reader = csv.DictReader(handle)
        row_number = 0  # the last row read whole; an error is on the next
        try:
            columns = reader.fieldnames or []
            if strip:
                columns = reader.fieldnames = [column.strip() for column in columns]
            row_number = 1
            _check_utf8(path, 1, dict(zip(columns, columns)))
            for column in needed:
                if column not in columns:
                    raise InputError(
                        f"{path}: missing column '{column}' (columns: {excerpt(', '.join(columns) or 'none', 200)})"
                    )
            seen: dict[str, int] = {}
            for row_number, row in enumerate(reader, start=2):
                _check_utf8(path, row_number, row)
                if strip:  # cells of extra fields (key None) are dropped
                    row = {key: (value or "").strip() for key, value in row.items() if isinstance(key, str)}
                name = check_name(row["name"] or "", path, row_number)
                check_unique(seen, name, row_number, path)
                yield row_number, name, row
        except csv.Error as error:
            raise InputError(f"{where(path, row_number + 1)}: not a readable CSV row ({error})") from None


def read_label_csv(path: str | Path, only: Iterable[str] | None = None) -> LabelSets:
    """Read a `name,openset` CSV, row by row. Raises InputError naming the file and row.

    only: when given, rows of other clips are skipped without parsing their labels.
    """
    path = Path(path)
    wanted = None if only is None else set(only)
    cache = LabelCache()
    result: LabelSets = {}
    for row_number, name, row in csv_rows(path, ("name", "openset")):
        if wanted is not None and name not in wanted:
            continue
        try:
            labels = parse_openset(row["openset"] or "", cache)
        except ValueError as error:
            raise InputError(f"{where(path, row_number, name)}: unparsable openset ({error})") from None
        check_labels(labels, path, row_number, name)
        result[name] = labels
    return result


def read_clip_names(path: str | Path) -> list[str]:
    """The clip names of a CSV with a `name` column (other columns are ignored), in file order."""
    path = Path(path)
    names = [name for _, name, _ in csv_rows(path, ("name",))]
    if not names:
        raise InputError(f"{path}: no clip names")
    return names


def openset_rows(predictions: Mapping[str, Sequence[str]], quoted: bool = True) -> list[tuple[str, str]]:
    """(clip name, openset text) per clip, in sorted order so that reruns are byte-identical.

    Raises InputError naming the clip whose name or labels the formats cannot carry.
    """
    rows = []
    for name in sorted(predictions):
        if not name.strip() or name != name.strip() or _UNWRITABLE_NAME.search(name) or has_surrogates(name):
            raise InputError(f"clip {excerpt(name)}: the clip name cannot be written to a name,openset CSV")
        try:
            if any(has_surrogates(label) for label in predictions[name] if isinstance(label, str)):
                raise ValueError("a label is not valid UTF-8 text")
            rows.append((name, format_openset(predictions[name], quoted)))
        except ValueError as error:
            raise InputError(f"clip {name}: {error}") from None
    return rows


def label_csv_text(predictions: Mapping[str, Sequence[str]]) -> str:
    """The CSV text of a submission (see openset_rows)."""
    return "\n".join(["name,openset", *(f'{name},"{text}"' for name, text in openset_rows(predictions))]) + "\n"


def write_label_csv(path: str | Path, predictions: Mapping[str, Sequence[str]]) -> None:
    """Write a submission CSV atomically (no partial file on failure, nothing written on bad labels)."""
    atomic_write_text(path, label_csv_text(predictions))


def write_label_npz(path: str | Path, predictions: Mapping[str, Sequence[str]]) -> None:
    """Write a submission in the Codalab `-openset.npz` form, atomically: what the official
    files hold, compressed arrays `filenames` and `fileitems` of fixed-width unicode strings
    (no pickle), items in the unquoted form "[happy, relieved]"."""
    import numpy as np

    rows = openset_rows(predictions, quoted=False)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, filenames=np.array([name for name, _ in rows], dtype=str),
                        fileitems=np.array([text for _, text in rows], dtype=str))
    atomic_write_bytes(path, buffer.getvalue())
