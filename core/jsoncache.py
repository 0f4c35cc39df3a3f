"""A disk cache of function results as JSON files: nothing in it is ever unpickled.

joblib.Memory stores results as pickles, so a file planted in the cache folder would run code
when a later tune read it. Here a result is a JSON document and the key a sha256 over a
canonical JSON form of the function's name and arguments (dataclasses by their fields,
mappings with sorted keys, sets sorted), so keys do not depend on the hash seed and a file
that does not parse, or belongs to another key, is simply computed again.

Results must be JSON data (tuples come back as lists).

An entry is a file anyone with write access to the folder may edit, so it is read as hostile:
its size (MAX_ENTRY_BYTES) and nesting depth (MAX_DEPTH) are bounded before it is parsed, a FIFO
or a folder in its place is never waited on, and a `check` (for the tuning cache,
`check_scored_predictions`: finite scores in [0, 100], label sets within the bounds of label
files) validates the result. An entry that fails any of these is computed again, with one
warning; never a traceback. An entry with the right key and plausible forged values cannot be
told from a real one without computing it again (`tune --no-cache` does).
"""
from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import logging
import math
import os
import re
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from core.files import atomic_write_text
from core.labels import MAX_NAME_CHARS, check_labels, has_surrogates

log = logging.getLogger(__name__)

MAX_ENTRY_BYTES = 64 << 20  # a tuning entry (scores and one fold's predictions) is kilobytes to a few MB
MAX_DEPTH = 32  # JSON nesting: a tuning entry is 4 deep

_unwritable: set[str] = set()  # cache folders this process found it cannot write (said once)


def canonical(value: Any) -> Any:
    """`value` as plain JSON data with a fixed order; TypeError for what has no such form."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: canonical(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"__class__": f"{type(value).__module__}.{type(value).__qualname__}", **fields}
    if isinstance(value, Mapping):
        return [[canonical(k), canonical(v)] for k, v in sorted(value.items(), key=lambda item: repr(item[0]))]
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((canonical(v) for v in value), key=repr)
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return canonical(value.item())
    raise TypeError(f"no canonical JSON form for {type(value).__name__}")


def digest(value: Any) -> str:
    """sha256 of the canonical JSON form of `value`: the same for equal values whatever the key
    order or hash seed; TypeError for what has no canonical form."""
    text = json.dumps(canonical(value), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cache_key(name: str, args: tuple, kwargs: Mapping[str, Any]) -> str:
    return digest([name, args, kwargs])


def open_regular(path: str | Path) -> BinaryIO:
    """`path` opened for binary reading, without waiting on a FIFO; OSError when it is missing,
    unreadable, or not a regular file (a folder, a FIFO, a device)."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        return open(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def json_depth(data: bytes) -> int:
    """The deepest nesting of arrays and objects in JSON text, without parsing it (brackets
    inside strings do not count)."""
    brackets = np.frombuffer(_JSON_STRING.sub(b"", data).translate(None, _NOT_BRACKETS), dtype=np.uint8)
    if not brackets.size:
        return 0
    steps = np.where((brackets == ord("[")) | (brackets == ord("{")), 1, -1)
    return int(np.cumsum(steps).max())


def read_bounded_json(path: str | Path, max_bytes: int = MAX_ENTRY_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON document in `path`; OSError when it cannot be read as a regular file, ValueError
    when it is larger than max_bytes, nested deeper than max_depth, or not JSON."""
    with open_regular(path) as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValueError(f"larger than {max_bytes} bytes")
    if json_depth(data) > max_depth:
        raise ValueError(f"nested deeper than {max_depth}")
    return json.loads(data)


def _finite_score(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value) and 0 <= value <= 100


def check_scored_predictions(result: Any) -> None:
    """Validate a tuning result, [scores, predictions] as JSON stores it: scores a mapping of
    metric name to a finite number in [0, 100] (the metrics are percentages), predictions a
    mapping of clip name to a label set within the bounds of label files. ValueError says why."""
    if not isinstance(result, list) or len(result) != 2 or not all(isinstance(part, dict) for part in result):
        raise ValueError("the result is not [scores, predictions]")
    scores, predictions = result
    if not scores or not all(isinstance(name, str) and _finite_score(value) for name, value in scores.items()):
        raise ValueError("a score is not a finite number in [0, 100]")
    for clip, labels in predictions.items():
        if len(clip) > MAX_NAME_CHARS or has_surrogates(clip):
            raise ValueError("a clip name is beyond the bounds")
        if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
            raise ValueError(f"the predictions of clip {clip[:40]!r} are not a list of strings")
        check_labels(labels, "prediction", None, clip)


@dataclasses.dataclass
class JsonCache:
    """`JsonCache(function, folder)(*args)` is `function(*args)`, stored once per argument set
    under folder/<function name>/<key>.json. Picklable (for joblib workers) when the function is.

    check: validates a stored result (raises ValueError); a result that fails is computed again."""

    function: Callable
    folder: str
    check: Callable[[Any], None] | None = None

    @classmethod
    def scored(cls, function: Callable, folder: str) -> JsonCache:
        """The cache of a function returning (scores, predictions): see check_scored_predictions."""
        return cls(function, folder, check_scored_predictions)

    def _path(self, key: str) -> Path:
        return Path(self.folder) / "json" / f"{self.function.__module__}.{self.function.__qualname__}" / key[:2] / f"{key}.json"

    def _stored(self, path: Path, key: str) -> tuple[bool, Any]:
        """(True, result) of a valid entry; (False, None) with one warning for an invalid one."""
        try:
            stored = read_bounded_json(path)
            if not (isinstance(stored, dict) and stored.get("key") == key and "result" in stored):
                raise ValueError("an entry of another key or shape")
            if self.check is not None:
                self.check(stored["result"])
            return True, stored["result"]
        except (FileNotFoundError, NotADirectoryError):  # not computed yet (or a root that is a file)
            return False, None
        except (OSError, ValueError, RecursionError) as error:  # a planted pickle, an edited entry
            reason = getattr(error, "strerror", None) or str(error)[:200] or type(error).__name__
            log.warning("%s: invalid cache entry, computed again (%s)", path, reason)
            return False, None

    def __call__(self, *args, **kwargs):
        name = f"{self.function.__module__}.{self.function.__qualname__}"
        try:
            key = cache_key(name, args, kwargs)
        except TypeError as error:
            log.debug("%s: not cached (%s)", name, error)
            return self.function(*args, **kwargs)
        path = self._path(key)
        found, result = self._stored(path, key)
        if found:
            return result
        result = self.function(*args, **kwargs)
        try:
            text = json.dumps({"key": key, "result": result}, sort_keys=True, allow_nan=False) + "\n"
            if self.check is not None:  # what would not be read back is not stored
                self.check(json.loads(text)["result"])
        except (TypeError, ValueError) as error:
            log.warning("%s: result not cached (%s)", name, error)
            return result
        if self.folder in _unwritable:
            return result
        try:
            atomic_write_text(path, text)
        except OSError as error:  # a full disk, a read-only folder, a root that is a file
            _unwritable.add(self.folder)
            log.error("%s: cannot write this cache (%s); results are kept in memory for this run only",
                      self.folder, error.strerror or error)
        return result
