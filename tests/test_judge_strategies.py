"""Judge strategies on real member outputs and the real lexicon (no mocks)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from core.errors import InputError
from core.metrics import ew_scores
from judge.category import CategoryJudge
from judge.fastscore import FastScorer, PrefixTable
from judge.features import view
from judge.objective import Objective
from judge.scored import N_THRESHOLDS, select
from judge.stacker import Stacker
from judge.tuning import candidates, make_judge
from judge.vote import KOfNVote
from judge.weighted import CoarseVote, WeightedVote
from members.readers import read_label_sets
from tests.support import LEXICON, affectgpt_file, baseline_file
from vocab.ballot import make_ballot
from vocab.clusters import LexiconVocabulary
from vocab.lexicon import load_lexicon

MEMBERS = {"Video-ChatGPT": baseline_file("Video-ChatGPT"), "mPLUG-Owl": baseline_file("mPLUG-Owl"), "AffectGPT-e30": affectgpt_file(30)}


@pytest.fixture(scope="module")
def real(gold):
    """80 gold clips, three real members' labels (member -> clip -> labels) and the lexicon vocabulary."""
    clips = sorted(gold)[:80]
    labels = {name: read_label_sets(path) for name, path in MEMBERS.items()}
    vocab = LexiconVocabulary(lexicon=LEXICON).fit()
    return {c: gold[c] for c in clips}, clips, labels, vocab


@pytest.fixture(scope="module")
def lexicon():
    return load_lexicon(LEXICON)


def ballots_of(labels, vocab, clips):
    """One ballot per clip from member-major labels; a member lacking a clip does not vote on it."""
    return [make_ballot(c, {m: by_clip[c] for m, by_clip in labels.items() if c in by_clip}, vocab) for c in clips]


def ew_l1_f(gold, predictions, lexicon) -> float:
    return ew_scores(gold, predictions, lexicon).level(1)


def test_prefix_table_scores_what_the_judge_predicts(real, lexicon):
    """Threshold calibration's shortcut gives the official figures of the judge's own answers."""
    gold, clips, labels, vocab = real
    ballots = ballots_of(labels, vocab, clips)
    judge = WeightedVote(lexicon=LEXICON, coarse_weight=0.5, min_labels=1, max_labels=3).fit(ballots, gold)
    fast = FastScorer(lexicon, gold)
    views = [view(b, fast.maps) for b in ballots]
    table = PrefixTable(fast, clips, [v.rows for v in views], [judge._scores(v) for v in views])
    for threshold in (0.0, 0.3, 0.6, 2.0):
        judge.threshold_ = threshold
        official = ew_scores(gold, judge.predict(ballots), lexicon)
        mine = table(table.lengths(threshold, 1, 3))
        assert mine["ew_l1_f"] == pytest.approx(official.level(1), abs=1e-9)
        assert mine["m_avg"] == pytest.approx(official.m_avg, abs=1e-9)


def test_reliable_member_gets_the_larger_weight(real):
    """A member that repeats gold outweighs one that names a fixed wrong word everywhere."""
    gold, clips, _, vocab = real
    labels = {"oracle": {c: list(gold[c]) for c in clips}, "stubborn": {c: ["bored"] for c in clips}}
    judge = WeightedVote(lexicon=LEXICON).fit(ballots_of(labels, vocab, clips), gold)
    assert judge.weights_["oracle"] > 2 * judge.weights_["stubborn"]
    predictions = judge.predict(ballots_of(labels, vocab, clips))
    assert sum("bored" in p for p in predictions.values()) < sum("bored" in gold[c] for c in clips) + 5


def test_member_missing_clips_is_judged_by_the_others(real):
    gold, clips, labels, vocab = real
    partial = dict(labels)
    partial["AffectGPT-e30"] = {c: labels["AffectGPT-e30"][c] for c in clips[: len(clips) // 2]}
    ballots = ballots_of(partial, vocab, clips)
    judge = WeightedVote(lexicon=LEXICON).fit(ballots, gold)
    lacking = [b for b in ballots if "AffectGPT-e30" not in b.members]
    assert lacking and all(judge.keep(b) for b in lacking if not b.is_empty())
    # The absent member is out of the denominator: a cluster every present member named scores 1.
    b = next(b for b in lacking if any(len(v) == len(b.members) for v in b.votes.values()))
    full = [c for c, v in b.votes.items() if len(v) == len(b.members)][0]
    assert judge.cluster_scores(b)[full] == pytest.approx(1.0)


def test_member_with_all_empty_outputs_never_votes_and_weighs_zero(real):
    gold, clips, labels, vocab = real
    with_empty = {**labels, "mute": {c: [] for c in clips}}
    ballots = ballots_of(with_empty, vocab, clips)
    judge = WeightedVote(lexicon=LEXICON).fit(ballots, gold)
    assert judge.weights_["mute"] == 0.0
    stacker = Stacker(lexicon=LEXICON, C=0.1).fit(ballots, gold)
    assert stacker.coefficients()["vote:mute"] == 0.0
    without = WeightedVote(lexicon=LEXICON).fit(ballots_of(labels, vocab, clips), gold)
    assert judge.predict(ballots) == without.predict(ballots_of(labels, vocab, clips))


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf"), "heavy"])
def test_bad_weights_are_refused(real, bad):
    gold, clips, labels, vocab = real
    weights = {m: 1.0 for m in labels}
    weights["mPLUG-Owl"] = bad
    with pytest.raises(InputError, match="weight of 'mPLUG-Owl'"):
        WeightedVote(lexicon=LEXICON, weights=weights).fit(ballots_of(labels, vocab, clips), gold)


def test_fixed_weights_need_every_member(real):
    gold, clips, labels, vocab = real
    judge = WeightedVote(lexicon=LEXICON, weights={"AffectGPT-e30": 1.0}, threshold=0.5)
    judge.fit(ballots_of(labels, vocab, clips), gold)
    with pytest.raises(InputError, match="no weight for member"):
        judge.predict(ballots_of(labels, vocab, clips))


def test_one_member_weight_reproduces_that_member(real):
    gold, clips, labels, vocab = real
    weights = {m: 0.0 for m in labels}
    weights["AffectGPT-e30"] = 1.0
    judge = WeightedVote(lexicon=LEXICON, weights=weights, threshold=0.5, min_labels=0).fit(ballots_of(labels, vocab, clips), gold)
    ballots = ballots_of(labels, vocab, clips)
    for ballot in ballots:
        said = {vocab.cluster(w.strip().lower()) for w in labels["AffectGPT-e30"][ballot.clip] if w.strip()}
        assert set(judge.keep(ballot)) == said


def test_cap_and_floor():
    scores = np.array([0.9, 0.1, 0.5, 0.2])
    assert select(scores, 0.3, 0, 0) == [0, 2]
    assert select(scores, 0.95, 1, 0) == [0]
    assert select(scores, 0.95, 0, 0) == []
    assert select(scores, 0.0, 1, 2) == [0, 2]


def test_floor_means_no_empty_answer_when_members_spoke(real):
    gold, clips, labels, vocab = real
    ballots = ballots_of(labels, vocab, clips)
    judge = CoarseVote(lexicon=LEXICON, threshold=99.0, min_labels=1).fit(ballots, gold)
    assert all(len(words) == 1 for words in judge.predict(ballots).values())
    capped = Stacker(lexicon=LEXICON, max_labels=2).fit(ballots, gold)
    assert max(len(words) for words in capped.predict(ballots).values()) <= 2


def test_stacker_state_round_trips_through_json(real, tmp_path):
    gold, clips, labels, vocab = real
    ballots = ballots_of(labels, vocab, clips)
    judge = Stacker(lexicon=LEXICON, C=0.1).fit(ballots[:60], gold)
    path = tmp_path / "state.json"
    judge.save_state(path)
    data = json.loads(path.read_text())  # plain JSON, no pickle
    assert (data["format"], data["kind"]) == ("ovmer-state", "judge.stacker")
    assert len(data["model"]["coef"]) == len(data["features"])
    loaded = Stacker(lexicon=LEXICON, C=0.1, state=str(path))
    assert loaded.needs_fit
    loaded.fit(ballots)  # no gold: loads the state
    assert loaded.predict(ballots[60:]) == judge.predict(ballots[60:])


def test_weighted_state_round_trips_and_wrong_type_is_refused(real, tmp_path):
    gold, clips, labels, vocab = real
    ballots = ballots_of(labels, vocab, clips)
    judge = WeightedVote(lexicon=LEXICON, coarse_weight=0.5).fit(ballots, gold)
    path = tmp_path / "w.json"
    judge.save_state(path)
    loaded = WeightedVote(lexicon=LEXICON, coarse_weight=0.5, state=str(path)).fit(ballots)
    assert loaded.predict(ballots) == judge.predict(ballots)
    with pytest.raises(InputError, match=r"w\.json: state of a 'judge\.weighted', expected 'judge\.stacker'"):
        Stacker(lexicon=LEXICON, state=str(path)).fit(ballots)
    with pytest.raises(InputError, match="learns from gold"):
        Stacker(lexicon=LEXICON).fit(ballots)
    with pytest.raises(InputError, match="not found"):
        Stacker(lexicon=LEXICON, state=str(tmp_path / "none.json")).fit(ballots)


def test_learned_judges_emit_members_surface_words(real):
    gold, clips, labels, vocab = real
    ballots = ballots_of(labels, vocab, clips)
    said = {c: {w.strip().lower() for m in labels for w in labels[m].get(c, [])} for c in clips}
    for judge in (Stacker(lexicon=LEXICON), WeightedVote(lexicon=LEXICON), CoarseVote(lexicon=LEXICON), CategoryJudge(lexicon=LEXICON)):
        for clip, words in judge.fit(ballots, gold).predict(ballots).items():
            assert set(words) <= said[clip]


def test_objectives_parse_and_floors_rank_feasible_first():
    assert Objective.parse("m_avg").metric == "m_avg"
    floor = Objective.parse("recall@precision>=60")
    assert floor.value({"ew_l1_r": 70, "ew_l1_p": 61}) == 70
    assert floor.value({"ew_l1_r": 90, "ew_l1_p": 59}) < floor.value({"ew_l1_r": 10, "ew_l1_p": 60})
    assert Objective.parse("precision@recall>=80").metric == "ew_l1_p"
    for bad in ("f1", "recall@recall>=3", "recall@precision>=200"):
        with pytest.raises(InputError, match="unknown objective"):
            Objective.parse(bad)


def test_candidates_from_both_grid_spellings():
    flat = candidates({"k": [1, 2]}, "kofn", {"type": "kofn", "k": 3, "max_labels": 4})
    assert flat == [{"type": "kofn", "k": 1, "max_labels": 4}, {"type": "kofn", "k": 2, "max_labels": 4}]
    multi = candidates({"kofn": {"k": [1]}, "stacker": {"C": [0.1, 1.0]}}, "kofn")
    assert [c["type"] for c in multi] == ["kofn", "stacker", "stacker"]
    with pytest.raises(InputError, match="unknown judge type 'vote'"):
        candidates({"vote": {"k": [1]}}, "kofn")
    with pytest.raises(InputError, match="unknown parameter 'kk'"):
        make_judge({"type": "kofn", "kk": 1})
    # Shared settings reach only the judges that declare them: the stacker takes the lexicon and
    # keeps its own default C; k (a k-of-n parameter) is not handed to it, and is no error.
    stacker = make_judge({"type": "stacker"}, {"lexicon": LEXICON, "k": 3})
    assert isinstance(stacker, Stacker) and stacker.lexicon == LEXICON and stacker.C == Stacker().C
    assert make_judge({"type": "kofn"}, {"lexicon": LEXICON, "k": 3}) == KOfNVote(k=3)
    assert make_judge({"type": "kofn", "k": 2}, {"k": 3}).k == 2  # the spec wins over a shared setting


def test_category_judge_round_trips_and_covers_each_category_once(real, lexicon, tmp_path):
    gold, clips, labels, vocab = real
    ballots = ballots_of(labels, vocab, clips)
    judge = CategoryJudge(lexicon=LEXICON, mappings="l1").fit(ballots[:60], gold)
    predictions = judge.predict(ballots[60:])
    for clip, words in predictions.items():
        assert words  # floor of 1
        # Greedy cover: every kept word brings a wheel category no earlier word brought.
        seen = set()
        for index, word in enumerate(words):
            cats = {(k, lexicon.map_wheel(word, k, 1)) for k in range(1, 6)} - {(k, None) for k in range(1, 6)}
            assert index == 0 or cats - seen  # the first may be the floor's pick
            seen |= cats
    path = tmp_path / "category.json"
    judge.save_state(path)
    loaded = CategoryJudge(lexicon=LEXICON, mappings="l1", state=str(path)).fit(ballots)
    assert loaded.predict(ballots[60:]) == predictions


def test_category_judge_with_missing_and_mute_members(real):
    gold, clips, labels, vocab = real
    odd = {**labels, "mute": {c: [] for c in clips}}
    odd["AffectGPT-e30"] = {c: labels["AffectGPT-e30"][c] for c in clips[::2]}
    ballots = ballots_of(odd, vocab, clips)
    judge = CategoryJudge(lexicon=LEXICON).fit(ballots, gold)
    assert judge.rates_.member["mute"] == 0.0
    assert judge.coefficients()["vote:mute"] == 0.0
    predictions = judge.predict(ballots)
    assert all(predictions[b.clip] for b in ballots if not b.is_empty())
    with pytest.raises(InputError, match="mappings must be"):
        CategoryJudge(lexicon=LEXICON, mappings="wheels").fit(ballots, gold)


@pytest.mark.parametrize("utility", ["expected_f", "expected_pr"])
def test_expected_utilities_round_trip_and_answer_every_clip(real, tmp_path, utility):
    gold, clips, labels, vocab = real
    ballots = ballots_of(labels, vocab, clips)
    judge = CategoryJudge(lexicon=LEXICON, mappings="all", utility=utility, objective="m_avg").fit(ballots[:60], gold)
    predictions = judge.predict(ballots[60:])
    assert all(predictions.values())
    path = tmp_path / "ef.json"
    judge.save_state(path)
    loaded = CategoryJudge(lexicon=LEXICON, mappings="all", utility=utility, state=str(path)).fit(ballots)
    assert loaded.predict(ballots[60:]) == predictions
    assert json.loads(path.read_text())["params"]["utility"] == utility


def _expected_pr_value(chosen, A, p, M, G, beta):
    """Expected precision + beta * expected recall of the categories the chosen clusters cover,
    summed over mappings, computed from scratch."""
    covered = A[list(chosen)].max(axis=0) if chosen else np.zeros(len(p))
    value = 0.0
    for i in range(M.shape[1]):
        keys = (M[:, i] > 0) & (covered > 0)
        if keys.any():
            value += p[keys].mean() + beta * p[keys].sum() / G[i]
    return value


@pytest.mark.parametrize("seed", range(20))
def test_expected_pr_keeps_the_best_set_on_one_mapping(seed):
    """With one word per category, the greedy choice is the subset with the largest expected
    precision + beta * expected recall (checked against every subset)."""
    import itertools

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 8))
    p = rng.random(n) ** 2
    A, M = np.eye(n), np.ones((n, 1))
    G = np.array([p.sum() + rng.random()])
    beta = float(rng.choice([0.3, 1.0, 2.5]))
    judge = CategoryJudge(lexicon=LEXICON, utility="expected_pr", min_labels=0)
    chosen = judge._choose(A, p, M, G, beta)
    subsets = [s for r in range(n + 1) for s in itertools.combinations(range(n), r)]
    best = max(_expected_pr_value(s, A, p, M, G, beta) for s in subsets)
    assert _expected_pr_value(chosen, A, p, M, G, beta) == pytest.approx(best, abs=1e-12)


def test_expected_pr_each_step_adds_its_gain_across_mappings():
    """Words covering several mappings at once: every cluster the greedy adds raises the
    from-scratch value, and no cluster left out would raise it further."""
    rng = np.random.default_rng(7)
    n_keys, n_words, n_maps = 12, 9, 3
    M = np.zeros((n_keys, n_maps))
    M[np.arange(n_keys), np.arange(n_keys) % n_maps] = 1.0
    A = np.zeros((n_words, n_keys))
    for j in range(n_words):  # each word lands on one category per mapping
        for i in range(n_maps):
            A[j, rng.choice(np.flatnonzero(M[:, i]))] = 1.0
    p = rng.random(n_keys)
    G = M.T @ p + 0.2
    judge = CategoryJudge(lexicon=LEXICON, utility="expected_pr", min_labels=0)
    chosen = judge._choose(A, p, M, G, 1.0)
    values = [_expected_pr_value(chosen[:k], A, p, M, G, 1.0) for k in range(len(chosen) + 1)]
    assert all(b > a for a, b in zip(values, values[1:]))
    final = values[-1]
    assert all(_expected_pr_value(chosen + [j], A, p, M, G, 1.0) <= final + 1e-12 for j in range(n_words) if j not in chosen)


# ---- thresholds: what calibration chooses, and what a threshold does ----------------------------
def _training_split(gold, labels, vocab, n_train):
    clips = sorted(gold)
    ballots = ballots_of(labels, vocab, clips)
    return ballots[:n_train], ballots[n_train:], {b.clip: gold[b.clip] for b in ballots[:n_train]}


@pytest.mark.parametrize("judge_class", [WeightedVote, CoarseVote, Stacker])
def test_calibrated_threshold_is_the_best_of_its_grid_on_the_training_clips(real, gold, lexicon, judge_class):
    """Scored with the official metric (not the PrefixTable shortcut the judge uses), the chosen
    threshold gives the best training EW-L1 F among the quantile thresholds the judge searches,
    and no worse than thresholds just beside it."""
    _, _, labels, vocab = real
    train, _, train_gold = _training_split(gold, labels, vocab, 60)
    judge = judge_class(lexicon=LEXICON).fit(train, gold)
    chosen = judge.threshold_
    pooled = np.concatenate([list(judge.cluster_scores(b).values()) for b in train])
    grid = np.unique(np.quantile(pooled, np.linspace(0, 1, N_THRESHOLDS)))
    assert chosen in grid

    def training_f(threshold):
        judge.threshold_ = threshold
        return ew_l1_f(train_gold, judge.predict(train), lexicon)

    best = training_f(chosen)
    values = {float(t): training_f(t) for t in grid}
    assert best == pytest.approx(max(values.values()), abs=1e-9)
    assert chosen == min(t for t, v in values.items() if v >= best - 1e-9)  # ties: the lowest threshold
    assert len(set(np.round(list(values.values()), 6))) > 3  # the threshold matters: not a flat curve
    for step in (0.01, 0.05):
        assert training_f(chosen - step) <= best + 1e-9 and training_f(chosen + step) <= best + 1e-9


def test_category_tau_is_the_best_of_its_grid_on_the_training_clips(real, gold, lexicon):
    _, _, labels, vocab = real
    train, _, train_gold = _training_split(gold, labels, vocab, 100)
    judge = CategoryJudge(lexicon=LEXICON).fit(train, gold)
    chosen = judge.threshold_
    values = {}
    for tau in np.linspace(0.05, 0.95, 19):
        judge.threshold_ = float(tau)
        values[float(tau)] = ew_l1_f(train_gold, judge.predict(train), lexicon)
    assert chosen == pytest.approx(max(values, key=lambda t: (values[t], -t)))
    assert max(values.values()) - min(values.values()) > 10  # tau matters a lot at the extremes


def test_precision_floor_is_met_on_the_training_clips(real, gold, lexicon):
    """recall@precision>=P: the calibrated threshold keeps training precision at the floor and,
    among thresholds that do, has the best recall (a plain F objective picks a lower precision)."""
    _, _, labels, vocab = real
    train, _, train_gold = _training_split(gold, labels, vocab, 60)
    plain = WeightedVote(lexicon=LEXICON).fit(train, gold)
    plain_scores = ew_scores(train_gold, plain.predict(train), lexicon)
    floor = round(plain_scores.level(1, "p")) + 5
    judge = WeightedVote(lexicon=LEXICON, objective=f"recall@precision>={floor}").fit(train, gold)
    scores = ew_scores(train_gold, judge.predict(train), lexicon)
    assert scores.level(1, "p") >= floor
    assert judge.threshold_ > plain.threshold_
    assert scores.level(1, "r") < plain_scores.level(1, "r")


def test_raising_the_threshold_keeps_a_prefix_of_each_answer(real):
    """Predictions shrink monotonically with the threshold: each clip's answer at a higher
    threshold is a prefix of its answer at a lower one (never shorter than the floor)."""
    gold, clips, labels, vocab = real
    ballots = ballots_of(labels, vocab, clips)
    judge = Stacker(lexicon=LEXICON, min_labels=1).fit(ballots, gold)
    answers = []
    for threshold in np.linspace(0.0, 1.0, 11):
        judge.threshold_ = float(threshold)
        answers.append(judge.predict(ballots))
    for lower, higher in zip(answers, answers[1:]):
        for clip in clips:
            assert higher[clip] == lower[clip][: len(higher[clip])]
            assert len(higher[clip]) >= min(1, len(lower[clip]))
    totals = [sum(map(len, a.values())) for a in answers]
    assert totals[0] > totals[-1] == sum(1 for b in ballots if not b.is_empty())


def test_fitted_judges_beat_every_k_of_n_vote_on_held_out_clips(real, gold, lexicon):
    """Fitted on 100 gold clips, the learned judges score a higher EW-L1 F on the other 100 than
    any untrained k-of-n vote of the same members."""
    _, _, labels, vocab = real
    train, test, _ = _training_split(gold, labels, vocab, 100)
    held_out = {b.clip: gold[b.clip] for b in test}
    best_vote = max(ew_l1_f(held_out, KOfNVote(k=k).predict(test), lexicon) for k in (1, 2, 3))
    for judge in (WeightedVote(lexicon=LEXICON), Stacker(lexicon=LEXICON), CategoryJudge(lexicon=LEXICON)):
        assert ew_l1_f(held_out, judge.fit(train, gold).predict(test), lexicon) > best_vote + 1, type(judge).__name__
