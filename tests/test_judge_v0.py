"""Ballots and the k-of-n vote: cluster grouping, surface-word output, the non-empty floor."""
from __future__ import annotations

import pytest

from vocab.ballot import make_ballots
from judge.vote import KOfNVote
from vocab.clusters import LexiconVocabulary


@pytest.fixture(scope="module")
def vocabulary(data):
    return LexiconVocabulary(lexicon=str(data / "lexicon" / "mer2025")).fit()


def test_surface_word_is_the_most_used(vocabulary):
    labels = {
        "m1": {"c": ["happy", "angry"]},
        "m2": {"c": ["happiness", "Angry"]},
        "m3": {"c": ["happy"]},
    }
    (ballot,) = make_ballots(labels, vocabulary, ["c"])
    assert vocabulary.cluster("happy") == vocabulary.cluster("happiness")
    cluster = vocabulary.cluster("happy")
    assert ballot.n_votes(cluster) == 3
    assert ballot.surface_word(cluster) == "happy"  # 2 members said happy, 1 happiness
    assert KOfNVote(k=3).predict([ballot]) == {"c": ["happy"]}
    assert KOfNVote(k=2).predict([ballot]) == {"c": ["happy", "angry"]}


def test_never_empty_when_a_member_spoke(vocabulary):
    labels = {"m1": {"c": ["calm"], "d": []}, "m2": {"c": ["sad"], "d": []}}
    ballots = make_ballots(labels, vocabulary, ["c", "d"])
    predictions = KOfNVote(k=2).predict(ballots)
    assert predictions["c"] == ["calm"]  # one vote each: the floor keeps the first by (votes, name)
    assert predictions["d"] == []  # nobody said anything


def test_members_missing_a_clip_do_not_vote(vocabulary):
    labels = {"m1": {"c": ["sad"]}, "m2": {}}
    (ballot,) = make_ballots(labels, vocabulary, ["c"])
    assert ballot.members == ["m1"]


def test_cap_and_params(vocabulary):
    judge = KOfNVote(k=1, max_labels=1)
    labels = {"m1": {"c": ["sad", "angry", "calm"]}}
    assert len(judge.predict(make_ballots(labels, vocabulary, ["c"]))["c"]) == 1
    assert judge.get_params() == {"k": 1, "min_labels": 1, "max_labels": 1}
    with pytest.raises(ValueError):
        judge.set_params(nope=1)


def test_params_round_trip(data):
    """Parameters are the public constructor fields: rebuilding from get_params gives the same object."""
    vocabulary = LexiconVocabulary(lexicon=str(data / "lexicon" / "mer2025"))
    assert vocabulary.get_params() == {"lexicon": str(data / "lexicon" / "mer2025")}
    vocabulary.fit()
    assert "lexicon_" not in vocabulary.get_params()  # fitted state is not a parameter
    judge = KOfNVote(k=4, max_labels=2)
    assert KOfNVote(**judge.get_params()) == judge
