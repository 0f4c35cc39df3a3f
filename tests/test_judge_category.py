"""The category judge (judge/category.py, evidence.py, choice.py): oracle tests of its pure parts
(brute force over small clips, hand-computed features, probabilities and choices) and its
behaviour on real member outputs and the real lexicon (no mocks). Clips of the issue-16
lockbox (experiments/lockbox.txt) are never scored here."""
from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

from core.errors import InputError
from core.metrics import ew_scores
from judge.category import GAMMAS, WEIGHTS, CategoryJudge
from judge.choice import best_prefix, greedy_path, size_prior
from judge.evidence import Rates, features, flatten
from judge.fastscore import WordMaps
from judge.objective import Objective
from judge.tuning import candidates, make_judge
from judge.vote import KOfNVote
from members.readers import read_label_sets
from tests.support import LEXICON, affectgpt_file, baseline_file, lockbox_clips
from vocab.ballot import make_ballot
from vocab.clusters import LexiconVocabulary
from vocab.lexicon import load_lexicon

LOCKBOX = lockbox_clips()
FILES = {"VC-addsub": baseline_file("Video-ChatGPT"), "VC-sub": baseline_file("Video-ChatGPT", "subtitle"),
         "mPLUG-Owl": baseline_file("mPLUG-Owl"), "A-e30": affectgpt_file(30), "A-e60": affectgpt_file(60)}
MODELS = {"VC-addsub": "Video-ChatGPT", "VC-sub": "Video-ChatGPT", "mPLUG-Owl": "mPLUG-Owl", "A-e30": "AffectGPT",
          "A-e60": "AffectGPT"}


@pytest.fixture(scope="module")
def real(gold):
    """120 non-lockbox gold clips, five real members' labels (two views of two models) and the lexicon vocabulary."""
    clips = sorted(c for c in gold if c not in LOCKBOX)[:120]
    labels = {name: read_label_sets(path) for name, path in FILES.items()}
    return {c: gold[c] for c in clips}, clips, labels, LexiconVocabulary(lexicon=LEXICON).fit()


@pytest.fixture(scope="module")
def lexicon():
    return load_lexicon(LEXICON)


def ballots_of(labels, vocab, clips):
    return [make_ballot(c, {m: by_clip[c] for m, by_clip in labels.items() if c in by_clip}, vocab) for c in clips]


# ---- the choice, against brute force and hand-computed figures ---------------------------------
def _value(chosen, slot_cands, p, G, utility, weight):
    """U of a set of slots of one clip, from scratch: per mapping the categories its words cover."""
    total = 0.0
    for m in range(slot_cands.shape[1]):
        covered = {int(slot_cands[s, m]) for s in chosen if slot_cands[s, m] >= 0}
        hits = sum(p[k] for k in covered)
        if utility == "expected_pr":
            total += (hits / len(covered) if covered else 0.0) + weight * hits / G[m]
        else:
            total += 2 * hits / (len(covered) + weight * G[m])
    return total


@pytest.mark.parametrize("utility", ["expected_pr", "expected_f"])
@pytest.mark.parametrize("seed", range(12))
def test_one_mapping_the_best_prefix_is_the_best_subset(seed, utility):
    """One word per category on one mapping: the greedy path's best prefix is the subset with the
    largest utility among all subsets (brute force), and U(n) on the path is that prefix's U."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 8))
    p = rng.random(n) ** 2
    slot_cands = np.arange(n)[:, None]
    G = np.array([[p.sum() + rng.random()]])
    weight = float(rng.choice([0.3, 1.0, 2.5]))
    paths, values = greedy_path(np.array([0, n]), slot_cands, p, G, utility, weight, np.array([n]))
    for size in range(n + 1):
        assert values[0, size] == pytest.approx(_value(paths[0][:size], slot_cands, p, G[0], utility, weight), abs=1e-12)
    chosen = paths[0][: best_prefix(values, np.zeros(n + 1), 0.0, 0)[0]]
    best = max(_value(s, slot_cands, p, G[0], utility, weight) for r in range(n + 1) for s in itertools.combinations(range(n), r))
    assert _value(chosen, slot_cands, p, G[0], utility, weight) == pytest.approx(best, abs=1e-12)


def test_each_step_of_the_path_takes_the_largest_utility_across_mappings():
    """Words landing on a category per mapping (some shared): every step's pick has the largest U
    among the clusters left, computed from scratch; two clips walk independently in one batch."""
    rng = np.random.default_rng(7)
    n_words, n_maps, per_map = 9, 3, 4
    cands = np.stack([m * per_map + rng.integers(0, per_map, n_words) for m in range(n_maps)], axis=1)
    p = rng.random(n_maps * per_map)
    G = np.array([[1.5, 2.0, 0.7]])
    slot_cands = np.vstack([cands, cands[:4] + n_maps * per_map])  # clip 2: 4 words on their own candidates
    p2 = np.r_[p, p]
    paths, values = greedy_path(np.array([0, n_words, n_words + 4]), slot_cands, p2, np.vstack([G, G]), "expected_pr", 1.0,
                                np.array([n_words, 4]))
    for k, pick in enumerate(paths[0]):
        before = paths[0][:k]
        gains = {j: _value(before + [j], cands, p, G[0], "expected_pr", 1.0) for j in range(n_words) if j not in before}
        assert gains[pick] == pytest.approx(max(gains.values()), abs=1e-12)
        assert values[0, k + 1] == pytest.approx(gains[pick], abs=1e-12)
    assert len(paths[1]) == 4 and np.isinf(values[1, 5:]).all()


def test_size_prior_is_add_one_smoothed_and_zero_past_the_largest_count():
    # counts 1, 2, 2, 3: tallies (0, 1, 2, 1), plus one on 1..3: (0, 2, 3, 2) / 7
    assert size_prior([1, 2, 2, 3]) == pytest.approx([0, 2 / 7, 3 / 7, 2 / 7])
    assert size_prior([0, 2]) == pytest.approx([1 / 4, 1 / 4, 2 / 4])


def test_best_prefix_by_hand():
    values = np.array([[0.0, 1.0, 1.5, 1.6, -np.inf], [0.0, 0.2, 0.3, 0.35, 0.36]])
    log_pi = np.log(np.array([1e-300, 0.5, 0.3, 0.2]))  # n = 4 is past the support: never chosen
    log_pi[0] = -np.inf
    # gamma 0: the support cap alone; clip 1 stops at 3 words (U 1.6), clip 2 at 3 (4 is ruled out)
    assert best_prefix(values, log_pi, 0.0, 1).tolist() == [3, 3]
    # gamma 1: U + log pi: clip 1 [-, 1 - 0.69, 1.5 - 1.20, 1.6 - 1.61] -> 1; clip 2 -> 1
    assert best_prefix(values, log_pi, 1.0, 1).tolist() == [1, 1]
    # the floor wins over the prior; no prior at all takes clip 2's 4th word
    assert best_prefix(values, log_pi, 1.0, 2).tolist() == [2, 2]
    assert best_prefix(values, np.zeros(5), 0.0, 0).tolist() == [3, 4]
    # a clip with no cluster gets nothing, even when the prior rules n = 0 out
    assert best_prefix(np.array([[0.0]]), log_pi, 0.1, 1).tolist() == [0]


# ---- the evidence, by hand -----------------------------------------------------------------------
def test_views_are_pooled_into_a_models_share(real):
    """Three views of model A (two name happy) and one of B: A votes with share 2/3, and the
    features read: share of models 2/2, the reliabilities, first positions, the mapping."""
    vocab = real[3]
    maps = WordMaps(load_lexicon(LEXICON))
    ballot = make_ballot("c", {"a1": ["sad", "happy"], "a2": ["happy"], "a3": ["angry"], "b": ["happy"]}, vocab)
    model_of = {"a1": "A", "a2": "A", "a3": "A", "b": "B"}
    w1 = [maps.index("W1-L1")]
    flat = flatten([ballot], maps, w1, model_of)
    happy = maps("happy")[w1[0]]
    key = flat.pairs.index((0, happy))
    cand = int(np.flatnonzero(flat.cand_key == key)[0])
    voters = {flat.models[m]: s for m, s in zip(flat.v_model[flat.v_cand == cand], flat.v_share[flat.v_cand == cand])}
    assert voters == {"A": pytest.approx(2 / 3), "B": 1.0}
    rates = Rates(overall=0.5, member={"A": 0.6, "B": 0.2}, strength=5.0)
    X = features(flat, ["A", "B"], rates, w1)
    row = X[cand]
    first = (1 / (1 + 0) + 1 / (1 + 0)) / 2  # a2 and b named it first (a1 second)
    n_cands = len(flat.cand_clip)
    assert row.tolist() == pytest.approx([2 / 3, 1.0, 1.0, 0.8 / 0.8, 0.6, 0.5, first, math.log(1 + n_cands), 1.0, 1.0])
    # Only a3 kept: A votes for angry alone, happy is B's with share 1.
    only = flatten([ballot], maps, w1, {"a3": "A", "b": "B"})
    assert sorted(w for words in only.words for w in words) == ["angry", "happy"]


def test_identical_views_of_one_model_change_nothing(real):
    """Pooling is the model of the evidence: three copies of a member, grouped as one model,
    give the same answers as the member alone (as independent voters they would not)."""
    gold, clips, labels, vocab = real
    single = {m: labels[m] for m in ("VC-addsub", "mPLUG-Owl", "A-e30")}
    copies = {**single, "A-e30-copy1": labels["A-e30"], "A-e30-copy2": labels["A-e30"]}
    grouped = {"A-e30": "AffectGPT", "A-e30-copy1": "AffectGPT", "A-e30-copy2": "AffectGPT"}
    plain = CategoryJudge(lexicon=LEXICON, models={"A-e30": "AffectGPT"}).fit(ballots_of(single, vocab, clips), gold)
    pooled = CategoryJudge(lexicon=LEXICON, models=grouped).fit(ballots_of(copies, vocab, clips), gold)
    expected = plain.predict(ballots_of(single, vocab, clips))
    assert pooled.predict(ballots_of(copies, vocab, clips)) == expected
    flat = CategoryJudge(lexicon=LEXICON).fit(ballots_of(copies, vocab, clips), gold)
    assert flat.predict(ballots_of(copies, vocab, clips)) != expected


def test_view_selection_keeps_the_better_view(real):
    gold, clips, _, vocab = real
    labels = {"good": {c: list(gold[c]) for c in clips}, "bad": {c: ["bored"] for c in clips}}
    ballots = ballots_of(labels, vocab, clips)
    judge = CategoryJudge(lexicon=LEXICON, models={"good": "M", "bad": "M"}, views_per_model=1).fit(ballots, gold)
    assert judge.model_of_ == {"good": "M"} and judge.view_members_ == ["bad", "good"]
    assert not any("bored" in words for words in judge.predict(ballots).values())


# ---- fitting, calibration and state on real outputs ---------------------------------------------
def test_calibration_picks_the_best_weight_and_gamma_on_the_training_clips(real, lexicon):
    """Scored with the official metric (not the prefix table the judge uses), the calibrated
    (weight, gamma) gives the best training EW-L1 F of its grid, the first on ties."""
    gold, clips, labels, vocab = real
    train = ballots_of(labels, vocab, clips[:80])
    judge = CategoryJudge(lexicon=LEXICON, models=MODELS).fit(train, gold)
    train_gold = {b.clip: gold[b.clip] for b in train}
    chosen = (judge.threshold_, judge.gamma_)
    values = {}
    for weight, gamma in itertools.product(WEIGHTS["expected_pr"], GAMMAS):
        judge.threshold_, judge.gamma_ = weight, gamma
        values[(weight, gamma)] = ew_scores(train_gold, judge.predict(train), lexicon).level(1)
    best = max(values.values())
    assert values[chosen] == pytest.approx(best, abs=1e-9)
    assert chosen == next(k for k, v in values.items() if v >= best - 1e-9)
    assert max(values.values()) - min(values.values()) > 1  # the grid matters


def test_answers_stay_within_the_gold_label_counts_and_shotgun_is_opt_in(real):
    gold, clips, labels, vocab = real
    ballots = ballots_of(labels, vocab, clips)
    train, test = ballots[:80], ballots[80:]
    judge = CategoryJudge(lexicon=LEXICON, models=MODELS, gamma=0.0).fit(train, gold)
    largest = max(len(gold[b.clip]) for b in train)
    assert len(judge.size_prior_) == largest + 1
    sizes = [len(words) for words in judge.predict(test).values()]
    assert max(sizes) <= largest and min(sizes) >= 1
    shotgun = CategoryJudge(lexicon=LEXICON, models=MODELS, size_prior=False, threshold=4.0).fit(train, gold)
    assert shotgun.size_prior_ is None and max(len(w) for w in shotgun.predict(test).values()) > largest


def test_state_round_trips_and_the_member_list_must_match(real, tmp_path):
    gold, clips, labels, vocab = real
    ballots = ballots_of(labels, vocab, clips)
    judge = CategoryJudge(lexicon=LEXICON, models=MODELS, mappings="l1", utility="expected_f").fit(ballots[:80], gold)
    path = tmp_path / "category.json"
    judge.save_state(path)
    data = json.loads(path.read_text())  # plain JSON, no pickle
    assert (data["format"], data["kind"]) == ("ovmer-state", "judge.category") and data["params"]["utility"] == "expected_f"
    assert data["fitted_clips"]["count"] == 80 and data["view_members"] == sorted(labels)
    loaded = CategoryJudge(lexicon=LEXICON, models=MODELS, utility="expected_f").load_state(path)
    assert loaded.predict(ballots[80:]) == judge.predict(ballots[80:])
    loaded.check_members(list(labels))
    with pytest.raises(InputError, match=r"fitted on 5 members, the config has 6.*run `tune` again"):
        loaded.check_members([*labels, "new"])
    with pytest.raises(InputError, match=r"category\.json: params\.utility: fitted with 'expected_f'.*run `tune` again"):
        CategoryJudge(lexicon=LEXICON, models=MODELS).load_state(path)
    with pytest.raises(InputError, match=r"category\.json: view_members: fitted on 5 members, the config has 4"):
        CategoryJudge(lexicon=LEXICON, utility="expected_f", models={m: v for m, v in MODELS.items() if m != "A-e60"}).load_state(path)
    with pytest.raises(InputError, match=r"category\.json: models_of_views\.VC-sub: the config groups it under another model"):
        CategoryJudge(lexicon=LEXICON, utility="expected_f", models={**MODELS, "VC-sub": "other"}).load_state(path)


def test_explain_is_what_predict_decided(real):
    gold, clips, labels, vocab = real
    ballots = ballots_of(labels, vocab, clips)
    judge = CategoryJudge(lexicon=LEXICON, models=MODELS).fit(ballots[:80], gold)
    answers, explained = judge.predict(ballots[80:]), judge.explain(ballots[80:])
    for ballot in ballots[80:]:
        clip = explained[ballot.clip]
        kept = [c["word"] for c in clip["candidates"] if c["kept"]]
        assert sorted(kept) == sorted(answers[ballot.clip]) and clip["detail"]["n"] == len(kept)
        utility = clip["detail"]["utility"]
        finite = [u if u is not None else -math.inf for u in utility]
        assert int(np.argmax(finite)) == clip["detail"]["n"] or clip["detail"]["n"] == 1  # best U, or the floor
        assert {c["cluster"] for c in clip["candidates"]} <= set(ballot.votes)
        for c in clip["candidates"]:
            assert set(c["voters"]) <= set(ballot.votes[c["cluster"]])
            assert all(0 <= v["p"] <= 1 for v in c["detail"]["probabilities"].values())


def test_missing_and_mute_members(real):
    gold, clips, labels, vocab = real
    odd = {**labels, "mute": {c: [] for c in clips}}
    odd["A-e30"] = {c: labels["A-e30"][c] for c in clips[::2]}
    ballots = ballots_of(odd, vocab, clips)
    judge = CategoryJudge(lexicon=LEXICON).fit(ballots, gold)
    assert judge.rates_.member["mute"] == 0.0 and judge.summary()["coefficients"]["vote:mute"] == 0.0
    predictions = judge.predict(ballots)
    assert all(predictions[b.clip] for b in ballots if not b.is_empty())


def test_judges_emit_the_members_own_words_and_beat_k_of_n_on_held_out_clips(real, lexicon):
    gold, clips, labels, vocab = real
    ballots = ballots_of(labels, vocab, clips)
    train, test = ballots[:80], ballots[80:]
    held_out = {b.clip: gold[b.clip] for b in test}
    answers = CategoryJudge(lexicon=LEXICON, models=MODELS).fit(train, gold).predict(test)
    said = {c: {w.strip().lower() for m in labels for w in labels[m].get(c, [])} for c in held_out}
    assert all(set(words) <= said[clip] for clip, words in answers.items())
    best_vote = max(ew_scores(held_out, KOfNVote(k=k).predict(test), lexicon).level(1) for k in (1, 2, 3, 4))
    assert ew_scores(held_out, answers, lexicon).level(1) > best_vote + 1


# ---- parameters and the fitting protocol ---------------------------------------------------------
@pytest.mark.parametrize("bad, message", [
    ({"views_per_model": -1}, "views_per_model must be an integer >= 0"), ({"models": ["a"]}, "models must map"),
    ({"C": 0}, "C must be a number > 0"), ({"gamma": -0.1}, "gamma must be a number >= 0"),
    ({"threshold": float("nan")}, "threshold must be a number"), ({"utility": "linear"}, "utility must be"),
    ({"mappings": "wheels"}, "mappings must be"), ({"size_prior": "yes"}, "size_prior must be true or false"),
    ({"min_labels": 3, "max_labels": 2}, "min_labels 3 exceeds max_labels 2"), ({"objective": "f1"}, "unknown objective"),
])
def test_bad_parameters_are_one_error(real, bad, message):
    gold, clips, labels, vocab = real
    with pytest.raises(InputError, match=message):
        CategoryJudge(lexicon=LEXICON, **bad).fit(ballots_of(labels, vocab, clips[:10]), gold)


def test_fitting_protocol(real):
    gold, clips, labels, vocab = real
    ballots = ballots_of(labels, vocab, clips[:20])
    judge = CategoryJudge(lexicon=LEXICON, C=1.0)
    assert CategoryJudge(**judge.get_params()) == judge
    with pytest.raises(InputError, match="is not fitted"):
        judge.predict(ballots)
    assert not hasattr(judge, "model_")  # predict created no fitted state
    with pytest.raises(InputError, match="learns from gold"):
        judge.fit(ballots)
    assert judge.fit(ballots, gold) is judge and judge.learns and not KOfNVote.learns


def test_objectives_and_grid_spellings():
    assert Objective.parse("m_avg").metric == "m_avg"
    floor = Objective.parse("recall@precision>=60")
    assert floor.value({"ew_l1_r": 90, "ew_l1_p": 59}) < floor.value({"ew_l1_r": 10, "ew_l1_p": 60})
    flat = candidates({"k": [1, 2]}, "kofn", {"type": "kofn", "k": 3, "max_labels": 4})
    assert flat == [{"type": "kofn", "k": 1, "max_labels": 4}, {"type": "kofn", "k": 2, "max_labels": 4}]
    multi = candidates({"kofn": {"k": [1]}, "category": {"C": [0.1, 1.0]}}, "kofn")
    assert [c["type"] for c in multi] == ["kofn", "category", "category"]
    with pytest.raises(InputError, match="unknown judge type 'stacker'"):
        candidates({"stacker": {"C": [1]}}, "kofn")
    # Shared settings reach only the judges that declare them.
    judge = make_judge({"type": "category"}, {"lexicon": LEXICON, "k": 3, "models": {"a": "A"}})
    assert judge.lexicon == LEXICON and judge.models == {"a": "A"}
    assert make_judge({"type": "kofn"}, {"lexicon": LEXICON, "k": 3}) == KOfNVote(k=3)


def test_the_generic_explain_of_k_of_n(real):
    """The base explain: per cluster its voters, score = their number, kept = its word is in the answer."""
    _, clips, labels, vocab = real
    ballots = ballots_of(labels, vocab, clips[:20])
    judge = KOfNVote(k=2)
    answers, explained = judge.predict(ballots), judge.explain(ballots)
    for ballot in ballots:
        rows = explained[ballot.clip]["candidates"]
        assert [r["cluster"] for r in rows] == list(ballot.votes)
        assert all(r["score"] == len(r["voters"]) == len(ballot.votes[r["cluster"]]) for r in rows)
        assert sorted(r["word"] for r in rows if r["kept"]) == sorted(answers[ballot.clip])
