"""Readers for member output files: label npz, description npz, `name,openset` CSV and JSONL.

Every reader returns {clip name: MemberOutput} and raises InputError naming the file (and row
and clip) on bad input. Label npz, CSV and JSONL files are read as streams, row by row; with
`only`, rows of other clips are checked for their name and skipped unparsed. Label bounds
(core.labels.MAX_LABELS, MAX_LABEL_CHARS, MAX_NAME_CHARS) hold for every format.

Malformed label npz rows: the official extraction left some rows of the upstream OV-MER
baseline files as "[], Anxiety, Nervousness, Tension" or a whole sentence. By default they are
read as the official toolkit reads them (core.labels.parse_openset_lenient) with one warning
per file that counts and names them; `strict=True` makes them errors.
"""
from __future__ import annotations

import codecs
import json
import logging
from pathlib import Path
from typing import Collection

import numpy as np

from core.errors import InputError, excerpt, where
from core.labels import (
    LabelCache,
    check_labels,
    check_name,
    check_unique,
    has_surrogates,
    parse_openset,
    parse_openset_lenient,
    read_label_csv,
)
from members.base import MemberOutput
from members.npz import StringArray, npz_keys, open_npz

log = logging.getLogger(__name__)

Outputs = dict[str, MemberOutput]

# A JSONL line longer than this is refused (a long description is a few kilobytes).
MAX_JSONL_LINE_BYTES = 1 << 20
# How many malformed clips the lenient-parse warning names.
WARN_NAMES = 3


def _short_json(value: object, limit: int = 40) -> str:
    """A JSON value as written, cut to `limit` characters and marked when cut."""
    text = json.dumps(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _warn_malformed(path: Path, clips: list[str]) -> None:
    named = ", ".join(clips[:WARN_NAMES]) + (f" and {len(clips) - WARN_NAMES} more" if len(clips) > WARN_NAMES else "")
    log.warning(
        "%s: %d row(s) are not bracketed label lists (clips %s); read them as the official toolkit does "
        "(split on quotes and commas); set strict: true to refuse them", path, len(clips), named,
    )


def read_label_npz(path: Path, only: Collection[str] | None = None, strict: bool = False) -> Outputs:
    """`-openset.npz`: arrays `filenames` and `fileitems` (items like '[stress, anxiety]'), streamed.

    Rows are numbered from 0, as array indices. A fileitems entry that is not a bracketed list is
    read leniently with a warning, or refused when `strict`.
    """
    wanted = None if only is None else set(only)
    outputs: Outputs = {}
    seen: dict[str, int] = {}
    malformed: list[str] = []
    cache = LabelCache()
    with open_npz(path) as archive, StringArray(archive, path, "filenames") as names, \
            StringArray(archive, path, "fileitems") as items:
        if len(names) != len(items):
            raise InputError(f"{path}: {len(names)} filenames but {len(items)} fileitems")
        for index, (raw_name, item) in enumerate(zip(names, items)):
            name = check_name(raw_name, path, index)
            check_unique(seen, name, index, path)
            if wanted is not None and name not in wanted:
                continue
            try:
                labels = parse_openset(item, cache)
            except ValueError as error:
                if strict:
                    raise InputError(f"{where(path, index, name)}: unparsable fileitems entry ({error}; strict)") from None
                labels = parse_openset_lenient(item, cache)
                malformed.append(name)
            check_labels(labels, path, index, name)
            outputs[name] = MemberOutput(labels=labels)
    if malformed:
        _warn_malformed(path, malformed)
    return outputs


def read_description_npz(path: Path, trust_pickle: bool) -> Outputs:
    """Description npz: key `name2reason`, a pickled dict name -> description."""
    if not trust_pickle:
        raise InputError(
            f"{path}: descriptions are stored as a pickled dict, which can run code when loaded; "
            "set trust_pickle: true (or --trust-pickle) only if you trust this file"
        )
    try:
        with np.load(path, allow_pickle=True) as data:
            reasons = data["name2reason"].item()
    except Exception as error:  # a trusted pickle can fail in any way; each is one bad-input line
        raise InputError(f"{path}: name2reason cannot be read ({type(error).__name__}: {excerpt(error)})") from None
    if not isinstance(reasons, dict):
        raise InputError(f"{path}: name2reason is a {type(reasons).__name__}, expected a dict")
    return {str(name): MemberOutput(description=str(text)) for name, text in reasons.items()}


def _jsonl_lines(path: Path):
    """(row number, decoded line) of a JSONL file, one line at a time; InputError names the row
    of bytes that are not UTF-8 and of a line over MAX_JSONL_LINE_BYTES."""
    with open(path, "rb") as handle:
        row_number = 0
        while True:
            raw = handle.readline(MAX_JSONL_LINE_BYTES + 1)
            if not raw:
                return
            row_number += 1
            if len(raw) > MAX_JSONL_LINE_BYTES:
                raise InputError(f"{where(path, row_number)}: line longer than {MAX_JSONL_LINE_BYTES} bytes")
            if row_number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8):]
            try:
                yield row_number, raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise InputError(
                    f"{where(path, row_number)}: not UTF-8 text (byte 0x{raw[error.start]:02x} at byte {error.start + 1})"
                ) from None


def _jsonl_labels(record: dict, path: Path, row: int, name: str) -> list[str] | None:
    labels = record.get("labels")
    openset = record.get("openset")
    if labels is None and openset is not None:
        if isinstance(openset, str):
            try:
                labels = parse_openset(openset)
            except ValueError as error:
                raise InputError(f"{where(path, row, name)}: unparsable openset ({error})") from None
        elif isinstance(openset, list):
            labels = openset
        else:
            raise InputError(
                f"{where(path, row, name)}: \"openset\" must be a string like \"[happy, sad]\" or a list of strings, "
                f"got {_short_json(openset)}"
            )
    if labels is None:
        return None
    if not (isinstance(labels, list) and all(isinstance(x, str) for x in labels)):
        raise InputError(f"{where(path, row, name)}: labels must be a list of strings")
    check_labels(labels, path, row, name)
    return labels


def read_jsonl(path: Path, only: Collection[str] | None = None) -> Outputs:
    """One object per line: {"name": ..., "labels": [...] or "openset": "[...]", "description": ...}."""
    wanted = None if only is None else set(only)
    outputs: Outputs = {}
    seen: dict[str, int] = {}
    shared: dict[str, str] = {}  # one string object per distinct label
    for row_number, line in _jsonl_lines(path):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError) as error:
            raise InputError(f"{where(path, row_number)}: bad JSONL record ({excerpt(error, 80)})") from None
        if not isinstance(record, dict):
            raise InputError(f"{where(path, row_number)}: bad JSONL record (a {type(record).__name__}, not an object)")
        if "name" not in record:
            raise InputError(f"{where(path, row_number)}: bad JSONL record (no \"name\")")
        name = record["name"]
        if not isinstance(name, (str, int)) or isinstance(name, bool) or not str(name).strip():
            raise InputError(f"{where(path, row_number)}: \"name\" must be a non-empty string, got {_short_json(name)}")
        name = check_name(str(name), path, row_number)
        check_unique(seen, name, row_number, path)
        if wanted is not None and name not in wanted:
            continue
        labels = _jsonl_labels(record, path, row_number, name)
        if labels is not None:
            labels = [shared.setdefault(label, label) for label in labels]
        description = record.get("description")
        if description is not None and not isinstance(description, str):
            kind = type(description).__name__
            raise InputError(f"{where(path, row_number, name)}: \"description\" must be a string, got {kind}")
        if description is not None and has_surrogates(description):
            raise InputError(f"{where(path, row_number, name)}: description is not valid Unicode text ({excerpt(description)})")
        if labels is None and description is None:
            raise InputError(f"{where(path, row_number, name)}: record has neither labels nor description")
        outputs[name] = MemberOutput(labels=labels, description=description)
    return outputs


def read_outputs(
    path: str | Path, trust_pickle: bool = False, only: Collection[str] | None = None, strict: bool = False
) -> Outputs:
    """Read any member output file the project knows, chosen by its suffix and contents.

    only: the clips wanted; rows of other clips are skipped unparsed where the format allows
    (label npz, CSV, JSONL; a pickled description dict is read whole, then filtered).
    strict: refuse malformed label npz rows instead of reading them as the official toolkit does.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        keys = npz_keys(path)
        if "filenames" in keys and "fileitems" in keys:
            outputs = read_label_npz(path, only, strict)
        elif "name2reason" in keys:
            outputs = read_description_npz(path, trust_pickle)
            if only is not None:
                outputs = {name: outputs[name] for name in only if name in outputs}
        else:
            raise InputError(f"{path}: npz has keys {excerpt(keys, 200)}, expected filenames+fileitems or name2reason")
    elif suffix == ".csv":
        outputs = {name: MemberOutput(labels=labels) for name, labels in read_label_csv(path, only).items()}
    elif suffix in (".jsonl", ".json"):
        outputs = read_jsonl(path, only)
    else:
        raise InputError(f"{path}: unknown member output format '{suffix}' (expected .npz, .csv or .jsonl)")
    if not outputs and only is None:
        raise InputError(f"{path}: member output is empty")
    return outputs


def read_label_sets(path: str | Path, trust_pickle: bool = False, strict: bool = False) -> dict[str, list[str]]:
    """Labels per clip from any label file (a submission CSV or a member label file)."""
    outputs = read_outputs(path, trust_pickle, strict=strict)
    missing = [name for name, out in outputs.items() if out.labels is None]
    if missing:
        raise InputError(f"{path}: holds descriptions, not labels (clip {missing[0]}); run `extract` first")
    return {name: out.labels for name, out in outputs.items()}
