"""Caches hold no pickle: a poisoned file planted where a cache entry is expected runs no code.

The tuning cache (judge/tuning.py via core.jsoncache) is JSON; a pickle planted at its entry's
path, or at the path joblib.Memory used to read, is never unpickled. The planted pickle, if it
ran, would create a marker file. Entries that parse but do not validate (a string result,
scores out of range) are recomputed too (more in tests/test_tune_cache_hostile.py).
"""
from __future__ import annotations

import json
import logging
import os
import pickle
from dataclasses import dataclass

import pytest

from core.jsoncache import JsonCache, cache_key, canonical
from judge.tuning import ScorerSpec, cross_validate, fit_and_score
from members.readers import read_label_sets
from tests.support import LEXICON, affectgpt_file, baseline_file
from vocab.ballot import make_ballot
from vocab.clusters import LexiconVocabulary


class Poison:
    """Unpickling this calls os.system(touch MARKER)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def poisoned_bytes(marker) -> bytes:
    return pickle.dumps(Poison(marker))


def double(x):
    return {"twice": 2 * x}


@dataclass
class Point:
    x: int
    tags: set


def test_canonical_keys_are_order_and_seed_independent():
    assert canonical({"b": 1, "a": {3, 1, 2}}) == canonical({"a": {2, 3, 1}, "b": 1})
    assert cache_key("f", (Point(1, {"z", "y"}),), {}) == cache_key("f", (Point(1, {"y", "z"}),), {})
    assert cache_key("f", (1,), {}) != cache_key("f", (2,), {})


def test_a_planted_pickle_in_the_json_cache_is_not_run(tmp_path):
    cached = JsonCache(double, str(tmp_path / "cache"))
    assert cached(4) == {"twice": 8}
    entries = list((tmp_path / "cache").rglob("*.json"))
    assert len(entries) == 1 and entries[0].read_text().startswith("{")
    marker = tmp_path / "ran"
    entries[0].write_bytes(poisoned_bytes(marker))
    assert cached(4) == {"twice": 8}  # recomputed, not unpickled
    assert not marker.exists()
    assert entries[0].read_text().startswith("{")  # and rewritten as JSON


def tuning_inputs(gold):
    """Two candidate judges, and ballots of two real OV-MERD members on 40 gold clips."""
    clips = sorted(gold)[:40]
    gold = {c: gold[c] for c in clips}
    members = {"Video-ChatGPT": baseline_file("Video-ChatGPT"), "AffectGPT-e30": affectgpt_file(30)}
    labels = {name: read_label_sets(path) for name, path in members.items()}
    vocab = LexiconVocabulary(lexicon=LEXICON).fit()
    ballots = [make_ballot(c, {m: by[c] for m, by in labels.items() if c in by}, vocab) for c in clips]
    return [{"type": "kofn", "k": 1}, {"type": "kofn", "k": 2}], ballots, gold


def test_tuning_reads_no_pickle_from_its_cache(gold, tmp_path):
    grid, ballots, gold = tuning_inputs(gold)
    cache = tmp_path / "tune"
    first = cross_validate(grid, ballots, gold, ScorerSpec(LEXICON), n_folds=2, cache_dir=str(cache))
    entries = sorted(cache.rglob("*.json"))
    assert entries and not list(cache.rglob("*.pkl"))
    # Poison every entry, and plant what joblib.Memory would have read for the same function.
    marker = tmp_path / "ran"
    for entry in entries:
        entry.write_bytes(poisoned_bytes(marker))
    joblib_dir = cache / "joblib" / "judge" / "tuning" / "fit_and_score" / ("0" * 32)
    joblib_dir.mkdir(parents=True)
    (joblib_dir / "output.pkl").write_bytes(poisoned_bytes(marker))
    again = cross_validate(grid, ballots, gold, ScorerSpec(LEXICON), n_folds=2, cache_dir=str(cache))
    assert not marker.exists()
    assert again.final_params == first.final_params and again.fold_scores == first.fold_scores
    # A warm cache gives the same answer as no cache at all.
    plain = cross_validate(grid, ballots, gold, ScorerSpec(LEXICON), n_folds=2)
    assert plain.fold_scores == again.fold_scores and fit_and_score is not None


def test_no_code_path_unpickles_except_the_trusted_reader():
    """A static guard: the only call that may unpickle is the description reader, behind
    trust_pickle; caches and state files never do (core/safepickle.py unpickles data only)."""
    import re

    from tests.support import REPO

    allowed = {"members/readers.py"}
    pattern = re.compile(r"pickle\.loads?\(|joblib\.load\(|Memory\(|allow_pickle=True|torch\.load\(|dill\.|cloudpickle\.load")
    offenders = []
    for package in ("core", "members", "judge", "vocab", "ensemble"):
        for path in sorted((REPO / package).rglob("*.py")):
            relative = path.relative_to(REPO).as_posix()
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if pattern.search(line) and relative not in allowed:
                    offenders.append(f"{relative}:{number}: {line.strip()}")
    assert offenders == []


@pytest.mark.parametrize("result", ["evil", [{"ew_l1_f": 1000.0, "ew_l1_p": 1000.0, "ew_l1_r": 1000.0, "m_avg": 1000.0}, {}]])
def test_tuning_recomputes_invalid_entries_and_chooses_as_without_a_cache(gold, tmp_path, caplog, result):
    """Every entry replaced by a string result, or by scores out of range: each is recomputed
    with one warning (no traceback), and the choice is the one made without a cache."""
    grid, ballots, gold = tuning_inputs(gold)
    cache = tmp_path / "tune"
    plain = cross_validate(grid, ballots, gold, ScorerSpec(LEXICON), n_folds=2)
    cross_validate(grid, ballots, gold, ScorerSpec(LEXICON), n_folds=2, cache_dir=str(cache))
    entries = sorted(cache.rglob("*.json"))
    assert len(entries) == 2 * 2 * 3  # candidates × folds × (2 outer splits + all clips): real results validate
    for entry in entries:
        key = json.loads(entry.read_text())["key"]
        entry.write_text(json.dumps({"key": key, "result": result}))
    with caplog.at_level(logging.WARNING, logger="core.jsoncache"):
        again = cross_validate(grid, ballots, gold, ScorerSpec(LEXICON), n_folds=2, cache_dir=str(cache))
    assert again.fold_scores == plain.fold_scores and again.final_params == plain.final_params
    assert caplog.text.count("invalid cache entry, computed again") == len(entries)
