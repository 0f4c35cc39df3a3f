"""The rule extractor on hand-written descriptions and on the real shared descriptions."""
import pytest

from members.extract.rules import RuleExtractor
from members.readers import read_outputs
from tests.support import LEXICON, description_npz


@pytest.fixture(scope="module")
def rules():
    return RuleExtractor(lexicon=LEXICON)


def test_takes_the_conclusion_over_the_scene(rules):
    text = (
        "In the video, the room is dark and the music sounds sad. The man raises his voice. "
        "In conclusion, it can be inferred that the man's emotional state is anger and frustration."
    )
    assert rules.extract(text) == ["anger", "frustration"]


def test_negation_and_hedged_negation_are_dropped(rules):
    text = "The woman shows no signs of anger. In conclusion, she is calm but not entirely happy."
    assert rules.extract(text) == ["calm"]


def test_negation_stops_at_a_comma(rules):
    assert rules.extract("In conclusion, he is not sad, he is relieved.") == ["relieved"]


def test_examples_in_a_list_follow_the_setting():
    text = "In conclusion, the man shows negative emotions such as anger and disappointment."
    assert RuleExtractor(lexicon=LEXICON, keep_examples=False).extract(text) == ["negative"]
    assert RuleExtractor(lexicon=LEXICON, keep_examples=True).extract(text) == ["negative", "anger", "disappointment"]


def test_subtitle_content_is_not_an_emotion(rules):
    assert rules.extract("The subtitle content states the plan. Overall, she is content.") == ["content"]


@pytest.mark.parametrize("text", [None, "", "   \n\t  "])
def test_empty_descriptions_give_no_words(rules, text):
    assert rules.extract(text) == []


def test_no_emotion_gives_no_words(rules):
    assert rules.extract("A man walks into a room, sits down at a table and reads a newspaper.") == []


def test_html_and_markdown_are_stripped(rules):
    html = "<div><p>In conclusion, the person is <b>happy</b>&nbsp;and <i>relaxed</i>.</p></div>"
    markdown = "## Answer\n\n**Conclusion:** the character's emotional state is *sad* and `worried`."
    assert rules.extract(html) == ["happy", "relaxed"]
    assert rules.extract(markdown) == ["sad", "worried"]
    assert rules.extract("<script>angry</script>") == ["angry"]  # tags go, their words stay


def test_a_50kb_description_is_read_up_to_its_conclusion(rules):
    filler = "The camera pans across the street while people walk by. " * 900
    text = filler + "In conclusion, the man is anxious."
    assert len(text) > 50_000
    assert rules.extract(text) == ["anxious"]


def test_chinese_descriptions_give_no_words(rules, caplog):
    assert rules.extract("视频中的男人看起来非常生气和失望。") == []
    assert "Chinese" in caplog.text
    # A mostly English text with a Chinese quote is still read.
    assert rules.extract("The subtitle says 我很好. In conclusion, she is happy.") == ["happy"]


def test_curly_apostrophes_match_lexicon_forms(rules):
    text = "In conclusion, the man says he don\u2019t care and is bored, though he doesn't care and is tired."
    assert rules.extract(text) == ["don\u2019t care", "bored", "tired"]


def test_every_real_description_extracts_to_lexicon_words():
    """All 332 Otter descriptions: words are lexicon forms and most clips get at least one."""
    from vocab.lexicon import load_lexicon

    forms = load_lexicon(LEXICON).format_mapping
    rules = RuleExtractor(lexicon=LEXICON)
    outputs = read_outputs(description_npz("Otter"), trust_pickle=True)
    labels = rules.extract_many({c: o.description for c, o in outputs.items()})
    assert len(labels) == 332
    assert all(word in forms for words in labels.values() for word in words)
    assert sum(bool(words) for words in labels.values()) > 300


def test_a_naive_scan_keeps_negated_words_and_a_bad_focus_is_an_error():
    text = "The man shows no anger. In conclusion, he is calm."
    naive = RuleExtractor(lexicon=LEXICON, focus="all", resolve_negation=False)
    assert naive.extract(text) == ["anger", "calm"]
    from core.errors import InputError

    with pytest.raises(InputError, match="focus must be"):
        RuleExtractor(lexicon=LEXICON, focus="middle").extract(text)


def test_lexicon_forms_index_multi_word_and_curly_forms():
    """The form index that every extractor searches: multi-word and curly-apostrophe forms are found."""
    from members.extract.candidates import form_index
    from vocab.lexicon import load_lexicon

    index = form_index(frozenset(load_lexicon(LEXICON).format_mapping))
    assert index.forms[("at", "ease")] == "at ease"
    assert index.forms[("don't", "care")] == "don\u2019t care"
    assert index.longest >= 4
