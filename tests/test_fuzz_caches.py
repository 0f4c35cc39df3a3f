"""Property tests (hypothesis) for the caches read back from disk: live-member cache records
(members.live.cache) and tune-cache entries (core.jsoncache). Whatever bytes or JSON a cache
file holds, reading it never raises, and never gives a wrong answer: what comes back is exactly
what a valid record or entry says, and anything invalid is computed again.

The validity oracles below restate the documented schemas (README, module docstrings) on
purpose: they are the specification the readers are checked against, written independently.
"""
from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.jsoncache import JsonCache
from core.labels import MAX_LABEL_CHARS, MAX_LABELS, MAX_NAME_CHARS
from members.base import Clip, MemberOutput
from members.live.cache import ClipCache

FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=30,
)
LABEL = st.text(min_size=1, max_size=12)
FIELDS = {
    "key": st.text(max_size=140) | JSON,
    "labels": st.none() | st.lists(LABEL | JSON, max_size=4) | st.lists(LABEL, max_size=MAX_LABELS + 3) | JSON
    | st.lists(st.text(min_size=MAX_LABEL_CHARS - 1, max_size=MAX_LABEL_CHARS + 2), max_size=2),
    "description": st.none() | st.text(max_size=40) | JSON,
    "elapsed": st.none() | st.floats() | st.integers(-5, 5) | st.booleans() | JSON,
}
RECORD = st.fixed_dictionaries({}, optional=FIELDS)


def _text(value) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        return False
    return True


def valid_record(record) -> bool:
    """The live-cache record schema (members/live/cache.py)."""
    if not isinstance(record, dict):
        return False
    key, labels, description, elapsed = (record.get(k) for k in ("key", "labels", "description", "elapsed"))
    if not (isinstance(key, str) and 0 < len(key) <= 128):
        return False
    if labels is not None and not (isinstance(labels, list) and len(labels) <= MAX_LABELS and all(
            isinstance(w, str) and len(w) <= MAX_LABEL_CHARS and _text(w) for w in labels)):
        return False
    if description is not None and not (isinstance(description, str) and _text(description)):
        return False
    if elapsed is not None and (isinstance(elapsed, bool) or not isinstance(elapsed, (int, float))
                                or not math.isfinite(elapsed) or elapsed < 0):
        return False
    return labels is not None or description is not None


def _cache(folder: str) -> ClipCache:
    return ClipCache(folder, "fuzz", {"a": 1})


@FUZZ
@given(st.binary(max_size=3000))
def test_live_cache_of_any_bytes_never_raises_and_gives_only_valid_records(data):
    with tempfile.TemporaryDirectory() as folder:
        cache = _cache(folder)
        cache.path.write_bytes(data)
        for key, output in cache.load().items():
            assert valid_record({"key": key, "labels": output.labels, "description": output.description,
                                 "elapsed": output.elapsed})


@FUZZ
@given(st.lists(RECORD | JSON, min_size=1, max_size=4))
def test_live_cache_records_come_back_exactly_when_valid_and_never_otherwise(records):
    with tempfile.TemporaryDirectory() as folder:
        cache = _cache(folder)
        lines = [json.dumps(record) for record in records]
        cache.path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
        loaded = cache.load()
        expected = {}
        for record in records:  # a later record of the same key wins, as in the file
            if valid_record(record):
                expected[record["key"]] = MemberOutput(
                    labels=record.get("labels"), description=record.get("description"), elapsed=record.get("elapsed"))
        assert loaded == expected


@FUZZ
@given(st.lists(st.tuples(st.text(min_size=1, max_size=20),
                          st.none() | st.lists(st.text(min_size=1, max_size=30), max_size=6),
                          st.text(max_size=60)), min_size=1, max_size=5))
def test_live_cache_round_trip_of_valid_outputs(items):
    with tempfile.TemporaryDirectory() as folder:
        cache = _cache(folder)
        written = {}
        for index, (name, labels, description) in enumerate(items):
            if any(not _text(text) for text in [name, description, *(labels or [])]):
                continue
            output = MemberOutput(labels=labels, description=description, elapsed=0.5)
            cache.add(Clip(name), f"key{index}", output)
            written[f"key{index}"] = output
        assert cache.load() == written


CALLS: list[int] = []


def fit(x: int):
    CALLS.append(x)
    return {"ew_l1_f": 40.0, "m_avg": 12.5}, {"clip1": ["happy"]}


def valid_result(result) -> bool:
    """The tuning result schema (core/jsoncache.py check_scored_predictions)."""
    if not (isinstance(result, list) and len(result) == 2 and all(isinstance(p, dict) for p in result)):
        return False
    scores, predictions = result
    if not scores or not all(not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v)
                             and 0 <= v <= 100 for v in scores.values()):
        return False
    return all(len(clip) <= MAX_NAME_CHARS and _text(clip) and isinstance(labels, list) and len(labels) <= MAX_LABELS
               and all(isinstance(w, str) and len(w) <= MAX_LABEL_CHARS and _text(w) for w in labels)
               for clip, labels in predictions.items())


RESULT = JSON | st.tuples(
    st.dictionaries(st.text(max_size=8), st.floats() | st.integers(-10, 200) | JSON, max_size=3),
    st.dictionaries(st.text(max_size=8), st.lists(LABEL, max_size=3) | JSON, max_size=3),
).map(list)


def _entry(cache: JsonCache) -> tuple[Path, str]:
    (path,) = Path(cache.folder).rglob("*.json")
    return path, json.loads(path.read_text())["key"]


@FUZZ
@given(st.binary(max_size=3000))
def test_tune_cache_entry_of_any_bytes_is_recomputed(data):
    with tempfile.TemporaryDirectory() as folder:
        cached = JsonCache.scored(fit, folder)
        fresh = list(cached(1))
        path, _ = _entry(cached)
        path.write_bytes(data)
        CALLS.clear()
        assert list(cached(1)) == fresh and CALLS == [1]


@FUZZ
@given(RESULT, st.booleans())
def test_tune_cache_entry_of_any_json_is_used_only_when_valid(result, right_key):
    with tempfile.TemporaryDirectory() as folder:
        cached = JsonCache.scored(fit, folder)
        fresh = list(cached(1))
        path, key = _entry(cached)
        path.write_text(json.dumps({"key": key if right_key else key[::-1], "result": result}),
                        encoding="utf-8", errors="surrogatepass")
        CALLS.clear()
        got = list(cached(1))  # computed: a tuple; read back: a list
        if right_key and valid_result(result):  # a plausible forged entry cannot be told apart
            assert got == result and CALLS == []
        else:
            assert got == fresh and CALLS == [1]
