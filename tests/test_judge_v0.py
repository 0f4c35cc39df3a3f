"""Ballots and the k-of-n vote: cluster grouping, surface-word output, the non-empty floor."""
from __future__ import annotations

import pytest

from judge.vote import KOfNVote
from vocab.ballot import make_ballot
from vocab.clusters import LexiconVocabulary


@pytest.fixture(scope="module")
def vocabulary(data):
    return LexiconVocabulary(lexicon=str(data / "lexicon" / "mer2025")).fit()


def test_surface_word_is_the_most_used(vocabulary):
    ballot = make_ballot("c", {"m1": ["happy", "angry"], "m2": ["happiness", "Angry"], "m3": ["happy"]}, vocabulary)
    assert vocabulary.cluster("happy") == vocabulary.cluster("happiness")
    cluster = vocabulary.cluster("happy")
    assert ballot.n_votes(cluster) == 3
    assert ballot.surface_word(cluster) == "happy"  # 2 members said happy, 1 happiness
    assert KOfNVote(k=3).predict([ballot]) == {"c": ["happy"]}
    assert KOfNVote(k=2).predict([ballot]) == {"c": ["happy", "angry"]}


def test_never_empty_when_a_member_spoke(vocabulary):
    ballots = [make_ballot("c", {"m1": ["calm"], "m2": ["sad"]}, vocabulary), make_ballot("d", {"m1": [], "m2": []}, vocabulary)]
    predictions = KOfNVote(k=2).predict(ballots)
    assert predictions["c"] == ["calm"]  # one vote each: the floor keeps the first by (votes, name)
    assert predictions["d"] == []  # nobody said anything


def test_ballot_keeps_member_order_positions_and_skips_empty_words(vocabulary):
    """Only the members given vote; positions count each member's kept words from 0."""
    ballot = make_ballot("c", {"m2": ["", "  ", "sad", "angry"], "m1": ["angry"]}, vocabulary)
    assert ballot.members == ["m2", "m1"]
    sad, angry = vocabulary.cluster("sad"), vocabulary.cluster("angry")
    assert ballot.votes == {sad: {"m2": ["sad"]}, angry: {"m2": ["angry"], "m1": ["angry"]}}
    assert ballot.positions[angry] == {"m2": 1, "m1": 0}
    assert ballot.n_labels == {"m2": 2, "m1": 1}
    dropped = ballot.without(["m2"])
    assert dropped.members == ["m1"] and dropped.votes == {angry: {"m1": ["angry"]}} and dropped.n_labels == {"m1": 1}


def test_cap_and_params(vocabulary):
    judge = KOfNVote(k=1, max_labels=1)
    assert len(judge.predict([make_ballot("c", {"m1": ["sad", "angry", "calm"]}, vocabulary)])["c"]) == 1
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
