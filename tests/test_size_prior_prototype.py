"""The size-prior prototype of issue 16 (experiments/size_prior.py), on the real views config.

Oracles: at gamma = 0 with a support no clip reaches, the walked greedy path and best prefix
are today's expected_pr / expected_f choice (judge/category_batch.choose_batch) clip for clip;
pi is checked against hand-computed add-one smoothing; no prefix above the support is chosen.
"""
import math

import numpy as np
import pytest

from core.labels import read_label_csv
from ensemble.config import load_config
from ensemble.pipeline import prepare, shared_settings
from experiments.desc_evidence import DescSizePriorViewCategory
from experiments.repeated_cv import exclude_clips, split_models
from experiments.size_prior import (
    ClipPath,
    SizePriorViewCategory,
    best_prefix,
    covered_words,
    greedy_paths,
    log_size_prior,
    with_covered,
)
from judge.category_batch import CategoryBatch, build_batch, choose_batch, flatten, training_evidence
from judge.fastscore import WordMaps
from judge.views import ViewCategory
from tests.support import DATA, GOLD, REPO
from vocab.lexicon import load_lexicon


def test_log_size_prior_by_hand():
    prior = log_size_prior([1, 2, 2, 4])  # counts 1:1 2:2 3:0 4:1, add-one over 1..4: (c+1)/(4+4)
    assert prior[0] == -math.inf
    assert np.allclose(np.exp(prior[1:]), [2 / 8, 3 / 8, 1 / 8, 2 / 8])


def test_best_prefix_weighs_the_prior_and_never_leaves_the_support():
    path = ClipPath([5, 3, 7], np.array([1.0, 1.5, 1.6]), np.array([1, 2, 3]))
    prior = np.log(np.array([1e-9, 0.2, 0.7]))  # support 1..2
    assert best_prefix(path, prior, 0.0) == [5, 3]  # 1.6 at n = 3 lies above the support
    assert best_prefix(path, np.log([1e-9, 0.9, 0.01]), 0.2) == [5]  # 1.0 + 0.2 log .9 > 1.5 + 0.2 log .01


def test_min_labels_is_a_floor_on_the_prefix():
    path = ClipPath([5, 3, 7], np.array([1.0, 0.5, 0.2]), np.array([1, 2, 3]))
    unbounded = log_size_prior([1, 100])
    assert best_prefix(path, unbounded, 0.0) == [5]
    assert best_prefix(path, unbounded, 0.0, min_labels=2) == [5, 3]
    assert best_prefix(path, unbounded, 0.0, min_labels=9) == [5, 3, 7]  # a short path gives all it has


def test_covered_words_add_no_category():
    """Three clusters on two mappings: 'rage' lands on the categories 'angry' covers, 'calm' does not."""
    batch = CategoryBatch(["c"], [["angry", "calm", "rage"]], np.array([0, 3]),
                          np.array([[0, 1], [2, -1], [0, 1]]), np.array([0.9, 0.8, 0.3]), np.ones((1, 2)))
    assert covered_words(batch, 0, [0]) == [2]
    assert with_covered(batch, 0, [0], budget=3) == [0, 2]
    assert with_covered(batch, 0, [0], budget=1) == [0]


@pytest.fixture(scope="module")
def fitted():
    config = load_config(REPO / "configs" / "ovmerd_views.yaml", data_root=str(DATA))
    models = split_models(config)
    prepared = prepare(config)
    gold = exclude_clips(read_label_csv(GOLD), str(REPO / "experiments" / "lockbox.txt"))  # never the lockbox
    by_clip = {b.clip: b for b in prepared.ballots}
    clips = sorted(gold)
    train, test = clips[:120], clips[120:160]
    lexicon = shared_settings(config)["lexicon"]
    return models, lexicon, [by_clip[c] for c in train], [by_clip[c] for c in test], {c: gold[c] for c in train}


@pytest.mark.parametrize("utility, thresholds", [("expected_pr", (0.3, 1.0, 3.0)), ("expected_f", (0.25, 1.0, 3.0))])
def test_gamma_zero_unbounded_is_todays_choice(fitted, utility, thresholds):
    models, lexicon, train, test, gold = fitted
    judge = ViewCategory(C=0.3, mappings="all", utility=utility, models=models, lexicon=lexicon).fit(train, gold)
    batch = build_batch(judge, [judge.pool(b) for b in test])
    unbounded = log_size_prior([1, 10_000])
    for threshold in thresholds:
        ours = [best_prefix(path, unbounded, 0.0) for path in greedy_paths(batch, utility, threshold)]
        assert ours == choose_batch(judge, batch, threshold)


def test_prototype_stays_in_the_training_support(fitted):
    models, lexicon, train, test, gold = fitted
    judge = SizePriorViewCategory(C=0.3, mappings="all", utility="expected_pr", models=models, lexicon=lexicon).fit(train, gold)
    answers = judge.predict(test)
    assert judge.gamma_ in judge.gammas
    assert max(len(words) for words in answers.values()) <= max(len(labels) for labels in gold.values())


def test_description_features_are_cosines_centred_per_clip_and_mapping(fitted, tmp_path):
    """experiments/desc_evidence.py with a hand-made evidence file (random unit vectors stand in
    for MiniLM's, which these tests do not load): two columns added, the second the first less
    its mean over each clip's candidates under one mapping."""
    models, lexicon, train, _, _ = fitted
    rng = np.random.default_rng(0)
    judge = DescSizePriorViewCategory(C=0.3, mappings="all", utility="expected_pr", models=models, lexicon=lexicon,
                                      gammas=(0.0,), desc=str(tmp_path / "desc.npz"))
    judge.model_of_, judge.kept_views_ = judge._model_of(), {m for b in train for m in b.members}
    judge.word_maps_ = WordMaps(load_lexicon(lexicon))
    judge.indices_ = judge.metric_indices()
    pooled = [judge.pool(b) for b in train[:10]]
    judge.members_ = sorted({m for b in pooled for m in b.members})
    flat = flatten(judge, pooled)
    categories = sorted({cat for _, cat in flat.pairs})
    vectors = rng.normal(size=(len(pooled) + len(categories), 8))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    np.savez(tmp_path / "desc.npz", clips=np.array([b.clip for b in pooled]), clip_vectors=vectors[: len(pooled)],
             categories=np.array(categories), category_vectors=vectors[len(pooled):])
    judge.rates_, judge.unproposed_, _ = training_evidence(judge, flat, [[set() for _ in judge.indices_] for _ in pooled])
    X = judge.batch_features(flat, pooled)
    cosine, centred = X[:, -2], X[:, -1]
    row = 5
    clip, (mapping, cat) = flat.cand_clip[row], flat.pairs[flat.cand_key[row]]
    assert cosine[row] == pytest.approx(vectors[clip] @ vectors[len(pooled) + categories.index(cat)])
    same = [r for r in range(len(X)) if flat.cand_clip[r] == clip and flat.pairs[flat.cand_key[r]][0] == mapping]
    assert centred[row] == pytest.approx(cosine[row] - cosine[same].mean())
