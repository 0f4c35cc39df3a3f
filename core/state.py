"""One JSON format for everything fitted that is saved to disk (judges, the learned extractor).

A state file is one JSON object:

    {"format": "ovmer-state", "version": 2, "kind": "judge.category", ...what the part saves...}

written atomically with sorted keys. `read_state` checks format, version and kind, and turns
every problem into one InputError naming the file. Files written before the format existed
(version 1, with no "format"/"version" pair of this shape) are handed to the caller's
`legacy` converter, which returns the version-2 body or None when it does not recognise them.
"""
from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from pathlib import Path
from typing import Callable, Mapping

from core.errors import InputError, brief
from core.files import atomic_write_text

FORMAT = "ovmer-state"
VERSION = 2
HEADER = ("format", "version", "kind")
# Bounds checked before parsing: a fitted state is a few tens of kB and a few levels deep.
MAX_BYTES = 4_000_000
MAX_DEPTH = 20
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')


def state_text(kind: str, body: Mapping) -> str:
    """The file text of a state: the header plus `body` (which must not set the header keys)."""
    clash = sorted(set(body) & set(HEADER))
    if clash:
        raise ValueError(f"state body may not set '{clash[0]}'")
    return json.dumps({"format": FORMAT, "version": VERSION, "kind": kind, **body}, indent=1, sort_keys=True) + "\n"


def write_state(path: str | Path, kind: str, body: Mapping) -> None:
    atomic_write_text(path, state_text(kind, body))


def read_state(path: str | Path, kind: str, legacy: Callable[[dict], dict | None] | None = None) -> dict:
    """The body (header keys removed) of the `kind` state in `path`.

    legacy(data) converts an older file to a version-2 body, or returns None when the data is
    not an older state of this kind; it may raise InputError with a more precise message.
    """
    try:
        size = Path(path).stat().st_size
        if size > MAX_BYTES:
            raise InputError(f"{path}: a state file is at most {MAX_BYTES:,} bytes, this one has {size:,}")
        text = Path(path).read_text(encoding="utf-8")
        if nesting_depth(text) > MAX_DEPTH:
            raise InputError(f"{path}: nested more than {MAX_DEPTH} levels deep: not a state file")
        data = json.loads(text)
    except FileNotFoundError:
        raise InputError(f"{path}: state file not found") from None
    except (OSError, ValueError) as error:
        raise InputError(f"{path}: not a JSON state file ({brief(error)})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: not a state file (a JSON {type(data).__name__}, expected an object)")
    if data.get("format") == FORMAT:
        if data.get("version") != VERSION:
            raise InputError(f"{path}: state format version {data.get('version')!r} is unknown (this code reads {VERSION})")
        if data.get("kind") != kind:
            raise InputError(f"{path}: state of a '{data.get('kind')}', expected '{kind}'")
        return _finite(path, {k: v for k, v in data.items() if k not in HEADER})
    try:
        body = legacy(data) if legacy is not None else None
    except (KeyError, TypeError) as error:
        raise InputError(f"{path}: incomplete older '{kind}' state (missing or bad {brief(error, 60)})") from None
    except ValueError as error:
        raise InputError(f"{path}: {brief(error)}") from None
    if body is None:
        raise InputError(f"{path}: not a '{kind}' state file (no \"format\": \"{FORMAT}\" and not an older format)")
    return _finite(path, body)


def nesting_depth(text: str) -> int:
    """How deeply brackets nest in JSON text, counted without recursion (strings skipped), so
    a hostile file is refused before the parser, which recurses, sees it."""
    brackets = re.findall(r"[\[\]{}]", _STRINGS.sub("", text))
    return max(accumulate(1 if b in "[{" else -1 for b in brackets), default=0)


def _non_finite(value, key: str) -> str | None:
    """The key path of the first NaN or infinite number in `value`, else None."""
    if isinstance(value, float):
        return None if math.isfinite(value) else key
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = ((f"[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    for name, item in items:
        found = _non_finite(item, f"{key}{name}" if str(name).startswith("[") else f"{key}.{name}" if key else str(name))
        if found is not None:
            return found
    return None


def _finite(path, body: dict) -> dict:
    """`body`, after checking it holds no NaN or infinite number (JSON readers accept both)."""
    found = _non_finite(body, "")
    if found is not None:
        raise InputError(f"{path}: key '{found}' holds a NaN or infinite number; a fitted state must be finite")
    return body
