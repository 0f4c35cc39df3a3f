"""vocab.normalize on the real WordNet and the real 2025 lexicon, plus a tiny in-code lexicon."""
from __future__ import annotations

import logging

import pytest

from tests.support import LEXICON_2025, write_tiny_lexicon
from vocab.lexicon import load_lexicon
from vocab.normalize import MAX_CHARS, Normalizer, clean
from vocab.wordnet import load_wordnet


@pytest.fixture(scope="module")
def wordnet():
    return load_wordnet()


@pytest.fixture(scope="module")
def real(wordnet):
    return Normalizer(load_lexicon(LEXICON_2025), wordnet)


@pytest.mark.parametrize(
    "raw, key, kind",
    [
        ("Happy", "happy", "word"),
        ("  JOYFUL \t", "joyful", "word"),
        ("a bit anxious", "anxious", "word"),
        ("slightly   anxious", "anxious", "word"),
        ("sense of relief", "relief", "word"),
        ("feeling of helplessness", "helplessness", "word"),
        ("self-deprecating", "self deprecating", "phrase"),
        ("looking forward to", "looking forward to", "phrase"),
        ("not happy", "unhappy", "word"),
        ("not angry", "not angry", "negated"),
        ("a bit not angry", "not angry", "negated"),
        ("happy!", "happy", "word"),
        ("double crossed", "double-crossed", "word"),
        ("Double-Crossed", "double-crossed", "word"),
        ("don’t care", "don’t care", "phrase"),
    ],
)
def test_real_lexicon_forms(real, raw, key, kind):
    result = real.normalize(raw)
    assert (result.key, result.kind) == (key, kind)


def test_bad_input_has_defined_results(real):
    assert real.normalize("").kind == "empty" and real.normalize("").key == ""
    assert real.normalize("?!...").kind == "empty"
    assert real.normalize("  - ").key == ""
    long_word = "x" * 200
    assert real.normalize(long_word).kind == "long" and real.normalize(long_word).key == long_word
    assert real.normalize("y" * MAX_CHARS).kind != "long" and real.normalize("y" * (MAX_CHARS + 1)).kind == "long"
    assert real.normalize("桌子").key == "桌子" and real.normalize("桌子").kind == "foreign"  # table
    assert real.normalize("开心").key == "happy" and real.normalize("开心").kind == "translated"  # vocab.bilingual
    assert clean("Café—Noir") == "cafe noir"


def test_foreign_words_logged_once(wordnet, caplog):
    normalizer = Normalizer(None, wordnet)
    with caplog.at_level(logging.INFO, logger="vocab.normalize"):
        for word in ["开心", "高兴", "悲伤", "开心"]:
            assert normalizer.normalize(word).kind == "foreign"
    assert sum("non-English" in record.message for record in caplog.records) == 1


def test_inflection_without_lexicon(wordnet):
    normalizer = Normalizer(None, wordnet)
    assert normalizer.normalize("worries").key == "worry"
    assert normalizer.normalize("angrier").key == "angry"
    assert normalizer.normalize("saddest").key == "sad"
    assert normalizer.normalize("Frustrations").key == "frustration"


def test_derivation_reaches_a_lexicon_form(wordnet, tmp_path):
    tiny = load_lexicon(write_tiny_lexicon(tmp_path / "lex"))
    normalizer = Normalizer(tiny, wordnet)
    assert normalizer.normalize("angrily").key == "angrily"  # a listed form stays itself
    assert normalizer.normalize("nervously").key == "nervous"  # pertainym
    assert normalizer.normalize("gladness").key == "glad"  # derivationally related
    assert normalizer.normalize("furiousness").key in {"furious", "furiousness"}
    assert normalizer.normalize("zzzqx").key == "zzzqx"
