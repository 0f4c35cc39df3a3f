"""The category judge over all clips at once gives the clip-by-clip answers, to the last bit
(real member outputs, real lexicon, real gold; no mocks)."""
from __future__ import annotations

import numpy as np
import pytest

from judge.base import Judge
from judge.category import CategoryJudge
from judge.category_batch import build_batch, choose_batch
from judge.features import view
from members.readers import read_label_sets
from tests.support import LEXICON, affectgpt_file, baseline_file
from vocab.ballot import BallotMaker, ClipBallot
from vocab.clusters import LexiconVocabulary

MEMBERS = {name: baseline_file(name) for name in ("Video-ChatGPT", "mPLUG-Owl", "Chat-UniVi", "VideoChat2")}
MEMBERS["AffectGPT-e30"] = affectgpt_file(30)


@pytest.fixture(scope="module")
def ballots():
    labels = {name: read_label_sets(path) for name, path in MEMBERS.items()}
    clips = sorted(set().union(*labels.values()))
    make = BallotMaker(LexiconVocabulary(lexicon=LEXICON).fit())
    return [make(c, {m: by_clip[c] for m, by_clip in labels.items() if c in by_clip}) for c in clips]


@pytest.mark.parametrize("mappings", ["l1", "all"])
def test_batch_probabilities_equal_clip_by_clip(ballots, gold, mappings):
    judge = CategoryJudge(lexicon=LEXICON, mappings=mappings, utility="expected_f").fit(ballots[:300], gold)
    batch = build_batch(judge, ballots)
    one_by_one = []
    for ballot in ballots:
        cands = judge._candidates(view(ballot, judge.word_maps_))
        one_by_one.append(judge.model_.predict_proba(cands.features) if cands.keys else np.zeros(0))
    expected = np.concatenate(one_by_one)
    assert expected.shape == batch.p.shape and (expected == batch.p).all()


@pytest.mark.parametrize("utility", ["expected_f", "expected_pr"])
@pytest.mark.parametrize("mappings, min_labels, max_labels", [("l1", 1, 0), ("all", 1, 0), ("l1", 0, 2), ("l1", 3, 4)])
def test_batch_predictions_equal_clip_by_clip(ballots, gold, mappings, min_labels, max_labels, utility):
    judge = CategoryJudge(lexicon=LEXICON, mappings=mappings, utility=utility, min_labels=min_labels,
                          max_labels=max_labels).fit(ballots, gold)
    assert judge.predict(ballots) == Judge.predict(judge, ballots)
    batch = build_batch(judge, ballots)
    assert batch.words == [[b.surface_word(c) for c in sorted(b.votes)] for b in ballots]
    for lam in (0.1, 0.7, 3.0, 50.0):
        per_clip = [judge._choose(*judge._matrix(view(b, judge.word_maps_)), lam) for b in ballots]
        assert choose_batch(judge, batch, lam) == per_clip


def test_batch_handles_empty_ballots_and_no_clip(ballots, gold):
    judge = CategoryJudge(lexicon=LEXICON, utility="expected_f").fit(ballots[:200], gold)
    empty = BallotMaker(LexiconVocabulary(lexicon=LEXICON).fit())("nobody", {"AffectGPT-e30": []})
    by_hand = ClipBallot(clip="h", members=["AffectGPT-e30", "x"], votes={"joy": {"AffectGPT-e30": ["happy"], "x": ["joy"]}})
    mixed = [empty, ballots[0], empty.without(["AffectGPT-e30"]), by_hand]
    assert judge.predict(mixed) == Judge.predict(judge, mixed)
    assert judge.predict([]) == {}


@pytest.mark.parametrize("mappings", ["l1", "all"])
def test_learning_at_once_equals_clip_by_clip(ballots, gold, mappings):
    """Rates, unproposed gold and the fitted model are the same, so the state file is too."""
    from judge.fastscore import FastScorer, WordMaps
    from vocab.lexicon import load_lexicon

    train = [b for b in ballots if b.clip in gold][:150]
    judges = []
    for method in ("_learn", "_learn_clip_by_clip"):
        judge = CategoryJudge(lexicon=LEXICON, mappings=mappings)
        judge.word_maps_ = WordMaps(load_lexicon(LEXICON))
        scorer = FastScorer(judge.word_maps_.lexicon, {b.clip: gold[b.clip] for b in train}, judge.word_maps_)
        getattr(judge, method)([view(b, judge.word_maps_) for b in train], scorer)
        judge.threshold_ = 0.5
        judges.append(judge)
    fast, plain = judges
    assert fast.rates_.to_dict() == plain.rates_.to_dict() and fast.unproposed_ == plain.unproposed_
    assert fast.to_state() == plain.to_state()


@pytest.mark.parametrize("seed", range(5))
def test_sequential_sums_add_each_group_left_to_right(seed):
    """Bit for bit what `start + v0 + v1 + ...` gives in Python, for runs of any length."""
    from judge.category_batch import _sequential_sums

    rng = np.random.default_rng(seed)
    n_groups = 50
    sizes = rng.integers(0, 12, n_groups)
    groups = np.repeat(np.arange(n_groups), sizes)
    values = rng.random(len(groups)) * 10.0 ** rng.integers(-8, 8, len(groups))
    start = rng.random(n_groups)
    expected = start.copy()
    for g, v in zip(groups.tolist(), values.tolist()):
        expected[g] += v
    assert (_sequential_sums(groups, values, n_groups, start) == expected).all()
    assert (_sequential_sums(groups[:0], values[:0], 3) == 0).all()
