"""Hostile tune-cache entries (issue 17, items 7 and 8): an entry is read as untrusted JSON,
bounded in size and depth before it is parsed, validated against the schema of a tuning result
(finite scores in [0, 100], label sets within the label bounds), and recomputed with one
warning when it fails; never a traceback. Real cache files tampered on disk, and the real
nested cross-validation (judge.tuning, in tests/test_no_pickle_caches.py) on real OV-MERD
member files.
"""
from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import signal

import pytest

from core.jsoncache import MAX_ENTRY_BYTES, JsonCache

CALLS: list[int] = []


def fit(x: int):
    """A stand-in for judge.tuning.fit_and_score: (scores in percent, predictions)."""
    CALLS.append(x)
    return {"ew_l1_f": 40.0 + x, "m_avg": 12.5}, {"clip1": ["happy", "relieved"], "clip2": []}


@contextlib.contextmanager
def deadline(seconds: int):
    """Fail instead of hanging (a FIFO opened for reading waits for a writer forever)."""
    def expire(*_):
        raise TimeoutError(f"still blocked after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def entry_of(folder) -> tuple:
    entries = list(folder.rglob("*.json"))
    assert len(entries) == 1
    return entries[0], json.loads(entries[0].read_text())["key"]


def forged(key: str, result) -> str:
    return json.dumps({"key": key, "result": result})


TAMPERED = {
    "a string result": lambda key: forged(key, "evil"),
    "deep JSON": lambda key: '{"key": "%s", "result": %s}' % (key, "[" * 100_000 + "]" * 100_000),
    "a score of 1000": lambda key: forged(key, [{"ew_l1_f": 1000.0, "m_avg": 12.5}, {"clip1": ["happy"]}]),
    "a negative score": lambda key: forged(key, [{"ew_l1_f": -3, "m_avg": 12.5}, {"clip1": ["happy"]}]),
    "a NaN score": lambda key: '{"key": "%s", "result": [{"ew_l1_f": NaN}, {}]}' % key,
    "a score as text": lambda key: forged(key, [{"ew_l1_f": "99"}, {}]),
    "labels as one string": lambda key: forged(key, [{"ew_l1_f": 41.0}, {"clip1": "happy"}]),
    "101 labels": lambda key: forged(key, [{"ew_l1_f": 41.0}, {"clip1": ["sad"] * 101}]),
    "three parts": lambda key: forged(key, [{"ew_l1_f": 41.0}, {}, {}]),
    "a valid entry padded past the size bound": lambda key: forged(key, [{"ew_l1_f": 99.0}, {}]) + " " * MAX_ENTRY_BYTES,
}


@pytest.mark.parametrize("how", list(TAMPERED))
def test_a_tampered_entry_is_recomputed_with_one_warning(tmp_path, caplog, how):
    cached = JsonCache.scored(fit, str(tmp_path))
    CALLS.clear()
    fresh = cached(1)
    path, key = entry_of(tmp_path)
    path.write_text(TAMPERED[how](key))
    with caplog.at_level(logging.WARNING, logger="core.jsoncache"):
        assert cached(1) == fresh
    assert CALLS == [1, 1]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and warnings[0].startswith(f"{path}: invalid cache entry, computed again")
    CALLS.clear()
    assert cached(1) == list(fresh) and CALLS == []  # rewritten valid: read back (a tuple as a list)


def test_a_fifo_or_a_folder_in_place_of_an_entry_is_never_waited_on(tmp_path, caplog):
    cached = JsonCache.scored(fit, str(tmp_path))
    fresh = cached(2)
    path, _ = entry_of(tmp_path)
    path.unlink()
    os.mkfifo(path)
    with deadline(10):
        assert cached(2) == fresh
    assert "invalid cache entry, computed again (not a regular file)" in caplog.text


@pytest.mark.parametrize("how", ["full disk", "root is a file"])
def test_a_tune_cache_that_cannot_be_written_is_said_once_and_every_result_kept(tmp_path, caplog, monkeypatch, how):
    """A full disk is simulated (root ignores permissions): the entry's write raises
    OSError(ENOSPC). A cache root that is a file is real."""
    folder = tmp_path / "tune"
    if how == "full disk":
        def full(*args, **kwargs):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        monkeypatch.setattr("core.jsoncache.atomic_write_text", full)
    else:
        folder.write_text("a file")
    cached = JsonCache.scored(fit, str(folder))
    CALLS.clear()
    with caplog.at_level(logging.WARNING):
        assert [cached(x) for x in range(5)] == [fit(x) for x in range(5)]
    assert CALLS == [0, 1, 2, 3, 4] * 2
    said = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(said) == 1 and said[0].levelno == logging.ERROR and "cannot write this cache" in said[0].getMessage()
