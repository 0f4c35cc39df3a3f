"""Readers for member output files: label npz, description npz, `name,openset` CSV and JSONL.

Every reader returns {clip name: MemberOutput} and raises InputError naming the file
(and row) on bad input.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Collection

import numpy as np

from core.errors import InputError, where
from core.labels import check_unique, parse_openset, read_label_csv
from members.base import MemberOutput

Outputs = dict[str, MemberOutput]


def _npz_keys(path: Path) -> list[str]:
    try:
        with np.load(path, allow_pickle=False) as data:
            return list(data.files)
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise InputError(f"{path}: not a readable npz file ({error})") from None


def read_label_npz(path: Path, only: Collection[str] | None = None) -> Outputs:
    """`-openset.npz`: arrays `filenames` and `fileitems` (items like '[stress, anxiety]')."""
    with np.load(path, allow_pickle=False) as data:
        names, items = data["filenames"], data["fileitems"]
    if len(names) != len(items):
        raise InputError(f"{path}: {len(names)} filenames but {len(items)} fileitems")
    wanted = None if only is None else set(only)
    outputs: Outputs = {}
    seen: dict[str, int] = {}
    for index, (name, item) in enumerate(zip(names, items)):
        check_unique(seen, str(name), index, path)
        if wanted is not None and str(name) not in wanted:
            continue
        try:
            outputs[str(name)] = MemberOutput(labels=parse_openset(str(item)))
        except ValueError as error:
            raise InputError(f"{where(path, index, str(name))}: unparsable fileitems entry ({error})") from None
    return outputs


def read_description_npz(path: Path, trust_pickle: bool) -> Outputs:
    """Description npz: key `name2reason`, a pickled dict name -> description."""
    if not trust_pickle:
        raise InputError(
            f"{path}: descriptions are stored as a pickled dict, which can run code when loaded; "
            "set trust_pickle: true (or --trust-pickle) only if you trust this file"
        )
    with np.load(path, allow_pickle=True) as data:
        reasons = data["name2reason"].item()
    if not isinstance(reasons, dict):
        raise InputError(f"{path}: name2reason is a {type(reasons).__name__}, expected a dict")
    return {str(name): MemberOutput(description=str(text)) for name, text in reasons.items()}


def read_jsonl(path: Path, only: Collection[str] | None = None) -> Outputs:
    """One object per line: {"name": ..., "labels": [...] or "openset": "[...]", "description": ...}."""
    wanted = None if only is None else set(only)
    outputs: Outputs = {}
    seen: dict[str, int] = {}
    with open(path, encoding="utf-8-sig") as handle:
        for row_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                name = record["name"]
            except (json.JSONDecodeError, KeyError, TypeError) as error:
                raise InputError(f"{where(path, row_number)}: bad JSONL record ({error})") from None
            if not isinstance(name, (str, int)) or isinstance(name, bool) or not str(name).strip():
                raise InputError(f"{where(path, row_number)}: \"name\" must be a non-empty string, got {json.dumps(name)[:40]}")
            name = str(name).strip()
            check_unique(seen, name, row_number, path)
            if wanted is not None and name not in wanted:
                continue
            labels = record.get("labels")
            if labels is None and "openset" in record:
                try:
                    labels = parse_openset(record["openset"])
                except ValueError as error:
                    raise InputError(f"{where(path, row_number, name)}: unparsable openset ({error})") from None
            if labels is not None and not (isinstance(labels, list) and all(isinstance(x, str) for x in labels)):
                raise InputError(f"{where(path, row_number, name)}: labels must be a list of strings")
            description = record.get("description")
            if labels is None and description is None:
                raise InputError(f"{where(path, row_number, name)}: record has neither labels nor description")
            outputs[name] = MemberOutput(labels=labels, description=description)
    return outputs


def read_outputs(path: str | Path, trust_pickle: bool = False, only: Collection[str] | None = None) -> Outputs:
    """Read any member output file the project knows, chosen by its suffix and contents.

    only: the clips wanted; rows of other clips are skipped unparsed where the format allows
    (label npz, CSV, JSONL; a pickled description dict is read whole, then filtered).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        keys = _npz_keys(path)
        if "filenames" in keys and "fileitems" in keys:
            outputs = read_label_npz(path, only)
        elif "name2reason" in keys:
            outputs = read_description_npz(path, trust_pickle)
            if only is not None:
                outputs = {name: outputs[name] for name in only if name in outputs}
        else:
            raise InputError(f"{path}: npz has keys {keys}, expected filenames+fileitems or name2reason")
    elif suffix == ".csv":
        outputs = {name: MemberOutput(labels=labels) for name, labels in read_label_csv(path, only).items()}
    elif suffix in (".jsonl", ".json"):
        outputs = read_jsonl(path, only)
    else:
        raise InputError(f"{path}: unknown member output format '{suffix}' (expected .npz, .csv or .jsonl)")
    if not outputs and only is None:
        raise InputError(f"{path}: member output is empty")
    return outputs


def read_label_sets(path: str | Path, trust_pickle: bool = False) -> dict[str, list[str]]:
    """Labels per clip from any label file (a submission CSV or a member label file)."""
    outputs = read_outputs(path, trust_pickle)
    missing = [name for name, out in outputs.items() if out.labels is None]
    if missing:
        raise InputError(f"{path}: holds descriptions, not labels (clip {missing[0]}); run `extract` first")
    return {name: out.labels for name, out in outputs.items()}
