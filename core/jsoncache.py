"""A disk cache of function results as JSON files: nothing in it is ever unpickled.

joblib.Memory stores results as pickles, so a file planted in the cache folder would run code
when a later tune read it. Here a result is a JSON document and the key a sha256 over a
canonical JSON form of the function's name and arguments (dataclasses by their fields,
mappings with sorted keys, sets sorted), so keys do not depend on the hash seed and a file
that does not parse, or belongs to another key, is simply computed again.

Results must be JSON data (tuples come back as lists).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from core.files import atomic_write_text

log = logging.getLogger(__name__)


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


@dataclasses.dataclass
class JsonCache:
    """`JsonCache(function, folder)(*args)` is `function(*args)`, stored once per argument set
    under folder/<function name>/<key>.json. Picklable (for joblib workers) when the function is."""

    function: Callable
    folder: str

    def _path(self, key: str) -> Path:
        return Path(self.folder) / "json" / f"{self.function.__module__}.{self.function.__qualname__}" / key[:2] / f"{key}.json"

    def __call__(self, *args, **kwargs):
        name = f"{self.function.__module__}.{self.function.__qualname__}"
        try:
            key = cache_key(name, args, kwargs)
        except TypeError as error:
            log.debug("%s: not cached (%s)", name, error)
            return self.function(*args, **kwargs)
        path = self._path(key)
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(stored, dict) and stored.get("key") == key and "result" in stored:
                return stored["result"]
            log.warning("%s: cache entry of another key or shape; computing again", path)
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as error:  # unreadable or not JSON (a planted pickle): recompute
            log.warning("%s: unreadable cache entry (%s); computing again", path, type(error).__name__)
        result = self.function(*args, **kwargs)
        try:
            atomic_write_text(path, json.dumps({"key": key, "result": result}, sort_keys=True) + "\n")
        except (OSError, TypeError, ValueError) as error:
            log.warning("%s: result not cached (%s)", name, error)
        return result
