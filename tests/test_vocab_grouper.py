"""The local MER2024 grouper on the real lexicon, WordNet and packaged MiniLM model."""
from __future__ import annotations

import numpy as np
import pytest

from core.labels import read_label_csv
from core.metrics.mer2024 import IdentityGrouper, ZipGrouper, mer2024_scores
from tests.support import LEXICON_2025, MER2024_GROUPINGS, MER2024_PRED
from vocab.grouper import ALL_FEATURES, DEFAULT_FEATURES, LocalGrouper


@pytest.fixture(scope="module")
def grouper(tmp_path_factory):
    return LocalGrouper(lexicon=str(LEXICON_2025), cache_dir=str(tmp_path_factory.mktemp("cache")))


def test_synonyms_group_and_opposites_do_not(grouper):
    groups = grouper.groups("clip", ["happy", "furious", "joyful", "angry"])
    as_sets = [set(g) for g in groups]
    assert {"happy", "joyful"} in as_sets and {"furious", "angry"} in as_sets
    # Deterministic order: groups by their first word, words in input order.
    assert groups == [["happy", "joyful"], ["furious", "angry"]]


def test_every_word_appears_exactly_once(grouper):
    words = ["Happy", "happy ", "a bit anxious", "nervous", "开心", "", "x" * 200, "neutral"]
    groups = grouper.groups("clip", words)
    flat = [w for g in groups for w in g]
    assert sorted(flat) == sorted({"happy", "a bit anxious", "nervous", "开心", "", "x" * 200, "neutral"})
    assert ["x" * 200] in groups  # never embedded, never joined
    assert ["happy", "开心"] in groups  # through its English gloss (vocab.bilingual)


def test_negation_is_not_grouped_with_its_word(grouper):
    groups = grouper.groups("clip", ["angry", "not angry", "furious"])
    assert ["not angry"] in groups


def test_small_inputs(grouper):
    assert grouper.groups("clip", []) == []
    assert grouper.groups("clip", ["sad"]) == [["sad"]]


def test_pair_features_and_refit(grouper):
    grouper.prepare(["happy", "joyful", "angry"])
    same = grouper.pair_features("happy", "joyful")
    different = grouper.pair_features("happy", "angry")
    assert same.shape == (len(DEFAULT_FEATURES),)
    assert same[0] > different[0]  # cosine
    x = np.stack([same, different, same, different])
    refit = LocalGrouper(lexicon=grouper.lexicon).fit(x, np.array([1, 0, 1, 0]))
    assert refit.probability(same)[0] > 0.5 > refit.probability(different)[0]
    assert refit.get_params()["threshold"] == grouper.threshold
    wide = LocalGrouper(lexicon=grouper.lexicon, features=ALL_FEATURES)
    wide.prepare(["happy", "joyful"])
    assert wide.pair_features("happy", "joyful").shape == (len(ALL_FEATURES),)
    with pytest.raises(ValueError, match="coefficients"):
        wide.groups("clip", ["happy", "joyful"])


def test_local_grouper_stands_in_for_the_cached_llm_groupings(grouper, gold):
    """On 20 real dev clips the local grouper's MER2024 score lands near the official one (the
    cached GPT-3.5 groupings), far above scoring with no synonym groups at all."""
    pred = read_label_csv(MER2024_PRED)
    clips = sorted(gold)[:20]
    subset = {c: gold[c] for c in clips}
    local = mer2024_scores(subset, pred, grouper)
    cached = mer2024_scores(subset, pred, ZipGrouper(str(MER2024_GROUPINGS)))
    identity = mer2024_scores(subset, pred, IdentityGrouper())
    assert abs(local.avg - cached.avg) < 0.1
    assert local.avg > identity.avg + 0.1
