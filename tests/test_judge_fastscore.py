"""judge.fastscore gives exactly the official EW figures of core.metrics.ew_scores (the fast scorer
and the prefix table are what every judge calibrates on, so a drift here moves every threshold)."""
from __future__ import annotations

import numpy as np
import pytest

from core.metrics import ew_scores
from judge.fastscore import FastScorer, PrefixTable, WordMaps
from members.readers import read_label_sets
from tests.support import BASELINES, affectgpt_file, baseline_file

MEMBER_FILES = {**{m: baseline_file(m) for m in BASELINES}, **{f"AffectGPT-e{e}": affectgpt_file(e) for e in (30, 60)}}


def official_table(gold, pred, lexicon) -> np.ndarray:
    scores = ew_scores(gold, pred, lexicon)
    return np.array([[s.p, s.r, s.f] for s in scores.per_metric.values()]), scores


@pytest.fixture(scope="module")
def scorer(gold, lexicon_2025):
    return FastScorer(lexicon_2025, gold)


@pytest.mark.parametrize("member", sorted(MEMBER_FILES))
def test_same_precision_recall_f_as_the_official_metric_on_real_members(member, gold, lexicon_2025, scorer):
    labels = read_label_sets(MEMBER_FILES[member])
    clips = sorted(gold)
    pred = {c: labels.get(c, []) for c in clips}
    expected, scores = official_table(gold, pred, lexicon_2025)
    assert scorer.maps.names == list(scores.per_metric)
    np.testing.assert_allclose(scorer.per_metric(clips, pred), expected, rtol=0, atol=1e-9)
    summary = scorer(clips, pred)
    assert summary["ew_l1_f"] == pytest.approx(scores.level(1), abs=1e-9)
    assert summary["ew_l1_p"] == pytest.approx(scores.level(1, "p"), abs=1e-9)
    assert summary["ew_l1_r"] == pytest.approx(scores.level(1, "r"), abs=1e-9)
    assert summary["m_avg"] == pytest.approx(scores.m_avg, abs=1e-9)


def test_same_figures_on_a_subset_of_clips_and_awkward_predictions(gold, lexicon_2025, scorer):
    """Empty answers, unknown words, odd spellings and repeats, on a subset of the gold clips."""
    clips = sorted(gold)[5:45]
    real = read_label_sets(affectgpt_file(30))
    pred = {}
    for i, clip in enumerate(clips):
        words = list(real[clip])
        if i % 5 == 0:
            words = []
        elif i % 5 == 1:
            words = words + ["zzz-not-a-word", "neutral"]
        elif i % 5 == 2:
            words = [f"  {w.upper()} " for w in words] + words[:1]
        pred[clip] = words
    subset_gold = {c: gold[c] for c in clips}
    expected, scores = official_table(subset_gold, pred, lexicon_2025)
    np.testing.assert_allclose(scorer.per_metric(clips, pred), expected, rtol=0, atol=1e-9)
    assert scorer(clips, pred)["m_avg"] == pytest.approx(scores.m_avg, abs=1e-9)


def test_prefix_table_equals_scoring_each_prefix(gold, lexicon_2025, scorer):
    """Choosing prefix lengths from the table gives the fast scorer's figures for those prefixes."""
    clips = sorted(gold)[:60]
    labels = read_label_sets(baseline_file("mPLUG-Owl"))
    maps = WordMaps(lexicon_2025)
    words = {c: list(dict.fromkeys(labels.get(c, []))) for c in clips}
    rng = np.random.default_rng(0)
    scores = [rng.random(len(words[c])) for c in clips]
    table = PrefixTable(scorer, clips, [[maps(w) for w in words[c]] for c in clips], scores)
    for threshold, floor, cap in [(0.0, 0, 0), (0.5, 1, 0), (0.8, 0, 2), (2.0, 1, 1)]:
        lengths = table.lengths(threshold, floor, cap)
        kept = {c: [words[c][j] for j in table.orders[i][: lengths[i]]] for i, c in enumerate(clips)}
        assert table(lengths) == pytest.approx(scorer(clips, kept), abs=1e-9)
        expected = ew_scores({c: gold[c] for c in clips}, kept, lexicon_2025)
        assert table(lengths)["ew_l1_f"] == pytest.approx(expected.level(1), abs=1e-9)
