"""Judges over views of one model (judge/views.py), on real member outputs and the real lexicon."""
from __future__ import annotations

import json

import pytest

from core.errors import InputError
from judge.category import CategoryJudge
from judge.fastscore import WordMaps
from judge.objective import Objective
from judge.views import ViewCategory, ViewStacker, pool_views, select_views
from members.readers import read_label_sets
from tests.support import LEXICON, affectgpt_file, baseline_file
from vocab.ballot import make_ballot
from vocab.clusters import LexiconVocabulary
from vocab.lexicon import load_lexicon

CATEGORY = {"lexicon": LEXICON, "C": 0.3, "mappings": "all", "utility": "expected_f"}


@pytest.fixture(scope="module")
def real(gold):
    """80 gold clips; labels of two baseline settings of Video-ChatGPT, one of mPLUG-Owl, AffectGPT e30 and e60."""
    clips = sorted(gold)[:80]
    files = {
        "VC-addsub": baseline_file("Video-ChatGPT"), "VC-sub": baseline_file("Video-ChatGPT", "subtitle"),
        "mPLUG-Owl": baseline_file("mPLUG-Owl"), "A-e30": affectgpt_file(30), "A-e60": affectgpt_file(60),
    }
    labels = {name: read_label_sets(path) for name, path in files.items()}
    models = {"VC-addsub": "Video-ChatGPT", "VC-sub": "Video-ChatGPT", "A-e30": "AffectGPT", "A-e60": "AffectGPT"}
    vocab = LexiconVocabulary(lexicon=LEXICON).fit()
    return {c: gold[c] for c in clips}, clips, labels, models, vocab


def ballots_of(labels, vocab, clips):
    return [make_ballot(c, {m: by_clip[c] for m, by_clip in labels.items() if c in by_clip}, vocab) for c in clips]


def test_pooling_counts_the_share_of_a_models_views(real):
    """Three views of model A (two name joy) and one of B: A votes with share 2/3; a quorum above drops it."""
    _, _, _, _, vocab = real
    ballot = make_ballot("c", {"a1": ["happy", "sad"], "a2": ["sad", "happy"], "a3": ["angry"], "b": ["happy"]}, vocab)
    models = {"a1": "A", "a2": "A", "a3": "A"}
    pooled = pool_views(ballot, models, None, 0.0)
    happy = vocab.cluster("happy")
    assert pooled.members == ["A", "b"]
    assert pooled.shares[happy] == {"A": pytest.approx(2 / 3), "b": 1.0}
    assert pooled.positions[happy]["A"] == 0  # a1 named it first
    assert sorted(pooled.votes[happy]["A"]) == ["happy", "happy"]
    strict = pool_views(ballot, models, None, 0.7)
    assert "A" not in strict.votes[happy] and "A" not in strict.votes.get(vocab.cluster("angry"), {})
    only_a3 = pool_views(ballot, models, {"a3", "b"}, 0.0)
    assert only_a3.shares[vocab.cluster("angry")] == {"A": 1.0}
    assert "A" not in only_a3.votes[happy]


def test_identical_views_of_one_model_change_nothing(real):
    """Pooling is the model of the evidence: three copies of a member, grouped as one model,
    give the same answers as the member alone (with independent voters they would not)."""
    gold, clips, labels, _, vocab = real
    single = {m: labels[m] for m in ("VC-addsub", "mPLUG-Owl", "A-e30")}
    copies = {**single, "A-e30-copy1": labels["A-e30"], "A-e30-copy2": labels["A-e30"]}
    grouped = {"A-e30": "AffectGPT", "A-e30-copy1": "AffectGPT", "A-e30-copy2": "AffectGPT"}
    plain = ViewCategory(**CATEGORY, models={"A-e30": "AffectGPT"}).fit(ballots_of(single, vocab, clips), gold)
    pooled = ViewCategory(**CATEGORY, models=grouped).fit(ballots_of(copies, vocab, clips), gold)
    expected = plain.predict(ballots_of(single, vocab, clips))
    assert pooled.predict(ballots_of(copies, vocab, clips)) == expected
    flat = CategoryJudge(**CATEGORY).fit(ballots_of(copies, vocab, clips), gold)
    assert flat.predict(ballots_of(copies, vocab, clips)) != expected


def test_view_selection_keeps_the_better_view(real):
    """Chosen on the training clips: a view repeating gold beats one that names the same wrong word everywhere."""
    gold, clips, _, _, vocab = real
    labels = {"good": {c: list(gold[c]) for c in clips}, "bad": {c: ["bored"] for c in clips}}
    ballots = ballots_of(labels, vocab, clips)
    maps = WordMaps(load_lexicon(LEXICON))
    models = {"good": "M", "bad": "M"}
    assert select_views(ballots, gold, models, maps, 1, Objective.parse("ew_l1_f")) == {"good"}
    assert select_views(ballots, gold, models, maps, 0, Objective.parse("ew_l1_f")) == {"good", "bad"}
    assert select_views(ballots, gold, models, maps, 0, Objective.parse("ew_l1_f"), margin=5.0) == {"good"}
    assert select_views(ballots, gold, models, maps, 0, Objective.parse("ew_l1_f"), margin=100.0) == {"good", "bad"}
    judge = ViewCategory(**CATEGORY, models=models, views_per_model=1).fit(ballots, gold)
    assert judge.kept_views_ == {"good"}
    assert not any("bored" in words for words in judge.predict(ballots).values())


@pytest.mark.parametrize("kind", [ViewCategory, ViewStacker])
def test_state_round_trips_and_a_changed_member_list_is_refused(real, tmp_path, kind):
    gold, clips, labels, models, vocab = real
    ballots = ballots_of(labels, vocab, clips)
    params = CATEGORY if kind is ViewCategory else {"lexicon": LEXICON, "C": 0.1}
    judge = kind(**params, models=models, views_per_model=1).fit(ballots, gold)
    path = tmp_path / "views.json"
    judge.save_state(path)
    data = json.loads(path.read_text())
    assert data["kind"] == f"judge.{judge.kind}" and data["view_members"] == sorted(labels)
    loaded = kind(**params, models=models, state=str(path))
    loaded.check_members(len(labels))  # loads the state; the count matches
    assert loaded.predict(ballots) == judge.predict(ballots)
    with pytest.raises(InputError, match=r"fitted on 5 members \(state .*views\.json\), the config has 6.*run `tune` again"):
        kind(**params, state=str(path)).check_members(6)
    renamed = {("VC-subtitle" if m == "VC-sub" else m): v for m, v in labels.items()}
    with pytest.raises(InputError, match=r"member 'VC-subtitle' is not among the members it was fitted on.*run `tune` again"):
        kind(**params, state=str(path)).predict(ballots_of(renamed, vocab, clips))
    with pytest.raises(InputError, match=r"groups member 'VC-sub' under another model.*run `tune` again"):
        kind(**params, models={**models, "VC-sub": "other"}, state=str(path)).predict(ballots)


@pytest.mark.parametrize("bad, message", [({"quorum": 1.5}, "quorum"), ({"views_per_model": -1}, "views_per_model"),
                                          ({"models": ["a"]}, "models must map"), ({"view_margin": -1}, "view_margin"),
                                          ({"words_by": "judges"}, "words_by")])
def test_bad_view_parameters_are_refused(real, bad, message):
    gold, clips, labels, _, vocab = real
    with pytest.raises(InputError, match=message):
        ViewCategory(**CATEGORY, **bad).fit(ballots_of(labels, vocab, clips[:10]), gold)


def test_share_features_reach_the_fitted_model(real):
    """Views that disagree give fractional vote features: the fit with shares differs from the
    0/1 fit (a batched fitting path that read votes off the ballots would make them equal)."""
    gold, clips, labels, models, vocab = real
    ballots = ballots_of(labels, vocab, clips)
    shares = ViewCategory(**CATEGORY, models=models).fit(ballots, gold)
    binary = ViewCategory(**CATEGORY, models=models, shares=False).fit(ballots, gold)
    assert shares.coefficients()["vote:AffectGPT"] != pytest.approx(binary.coefficients()["vote:AffectGPT"])
    assert shares.feature_names_ == binary.feature_names_


class _ClipByClipViewCategory(ViewCategory):
    """The same judge forced onto its clip-by-clip paths (_candidates, _matrix, _choose)."""

    batched = False


@pytest.mark.parametrize("params", [
    {"utility": "expected_pr"},
    {"utility": "expected_pr", "views_per_model": 1, "quorum": 0.5},
    {"utility": "expected_pr", "shares": False},
    {"utility": "expected_f", "mappings": "l1"},
])
def test_batched_view_judge_equals_clip_by_clip(real, params):
    """Fitted all at once (share-of-views features added to the batch's matrix) and clip by
    clip, the state file is the same to the last bit, and so are the answers."""
    gold, clips, labels, models, vocab = real
    ballots = ballots_of(labels, vocab, sorted(set().union(*labels.values()))[:300])
    spec = {**CATEGORY, **params, "models": models}
    batched = ViewCategory(**spec).fit(ballots, gold)
    one_by_one = _ClipByClipViewCategory(**spec).fit(ballots, gold)
    assert batched.batched and not one_by_one.batched
    assert json.dumps(batched.to_state(), sort_keys=True) == json.dumps(one_by_one.to_state(), sort_keys=True)
    assert batched.predict(ballots) == one_by_one.predict(ballots)
