"""Ballots store labels-per-member and first positions flat; what judges read is unchanged
(real lexicon vocabulary, real member outputs)."""
from __future__ import annotations

import pytest

from core.labels import normalise_label
from members.readers import read_label_sets
from tests.support import LEXICON, affectgpt_file, baseline_file
from vocab.ballot import BallotMaker, ClipBallot
from vocab.clusters import LexiconVocabulary


def reference(clip, answers, vocabulary):
    """The ballot's dictionaries computed the plain way, label by label."""
    votes, positions, n_labels = {}, {}, {}
    for member, labels in answers.items():
        n_labels[member] = 0
        for label in labels:
            word = normalise_label(label)
            cluster = vocabulary.cluster(word) if word else ""
            if not cluster:
                continue
            votes.setdefault(cluster, {}).setdefault(member, []).append(vocabulary.surface(word))
            positions.setdefault(cluster, {}).setdefault(member, n_labels[member])
            n_labels[member] += 1
    return votes, positions, n_labels


@pytest.fixture(scope="module")
def answers():
    files = {"Video-ChatGPT": baseline_file("Video-ChatGPT"), "SALMONN-x": baseline_file("mPLUG-Owl"),
             "AffectGPT-e30": affectgpt_file(30)}
    labels = {name: read_label_sets(path) for name, path in files.items()}
    clips = sorted(set().union(*labels.values()))
    return {c: {m: by_clip[c] for m, by_clip in labels.items() if c in by_clip} for c in clips}


def test_ballots_equal_the_plain_computation(answers):
    vocabulary = LexiconVocabulary(lexicon=LEXICON).fit()
    make = BallotMaker(vocabulary)
    extra = {"x": {"m1": ["Happy", " happy ", "", "'sad'", "happy"], "m2": [], "m3": ["SAD", "angry"]}}
    for clip, by_member in {**answers, **extra}.items():
        ballot = make(clip, by_member)
        votes, positions, n_labels = reference(clip, by_member, vocabulary)
        assert (ballot.votes, ballot.positions, ballot.n_labels) == (votes, positions, n_labels)
        assert list(ballot.n_labels) == ballot.members == list(by_member)


def test_without_keeps_positions_and_counts(answers):
    make = BallotMaker(LexiconVocabulary(lexicon=LEXICON).fit())
    for clip, by_member in list(answers.items())[:200]:
        ballot = make(clip, by_member)
        for dropped in (["AffectGPT-e30"], ["Video-ChatGPT", "SALMONN-x"], []):
            kept = {m: labels for m, labels in by_member.items() if m not in dropped}
            smaller, rebuilt = ballot.without(dropped), make(clip, kept)
            assert smaller.members == rebuilt.members
            assert (smaller.votes, smaller.positions, smaller.n_labels) == (rebuilt.votes, rebuilt.positions, rebuilt.n_labels)


def test_ballot_built_by_hand_has_position_zero():
    ballot = ClipBallot(clip="c", members=["m1"], votes={"joy": {"m1": ["happy"]}})
    assert ballot.positions == {"joy": {"m1": 0}} and ballot.n_labels == {}
    assert ballot.without(["m2"]).positions == {"joy": {"m1": 0}}
