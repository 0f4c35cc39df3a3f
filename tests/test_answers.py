"""members.answers.parse_answer, the one parser of live members' and the llm extractor's answers,
on answers in the shapes served models give: markdown, Chinese lists, 情绪/情感 lines, bare lists."""
from __future__ import annotations

import pytest

from members.answers import parse_answer, split_labels
from members.live import prompts


@pytest.mark.parametrize("text, labels", [
    # English label lines, with and without markdown
    ("She smiles.\nEmotions: Happy, relieved and proud.", ["happy", "relieved", "proud"]),
    ("**Emotions:** [anxious; 'tense']", ["anxious", "tense"]),
    ("**Emotions:** *happy*, _calm_", ["happy", "calm"]),
    ("She smiles.\n**Emotions:**\n- happy\n- relieved\n\nOverall a good day.", ["happy", "relieved"]),
    ("She frowns.\n## Emotions\n* annoyed\n* tired", ["annoyed", "tired"]),
    ("Emotion state: `worried`", ["worried"]),
    ("Emotions: anxious (slightly), self-conscious", ["anxious", "self-conscious"]),
    ("Emotions: ", []),
    # Chinese
    ("她在笑。\n情绪：开心，惊讶、放松", ["开心", "惊讶", "放松"]),
    ("情感: 开心和惊讶；平和", ["开心", "惊讶", "平和"]),
    ("情绪：平和和放松", ["平和", "放松"]),          # the 和 of 平和 is not a separator
    ("情绪：心平气和与开心", ["心平气和", "开心"]),
    ("情绪: 焦虑以及紧张", ["焦虑", "紧张"]),
    ("**情绪**：委屈", ["委屈"]),
    ("【开心，放松】", ["开心", "放松"]),
    # other forms
    ("The character's emotional state is [happy, relaxed].", ["happy", "relaxed"]),
    ("The character's emotional state is happy, relaxed, satisfied.", ["happy", "relaxed", "satisfied"]),
    ("*relieved*", ["relieved"]),
    ("happy, relieved", ["happy", "relieved"]),
    ("开心，惊讶、放松", ["开心", "惊讶", "放松"]),
    ("1. happy\n2. sad", ["happy", "sad"]),
    ("Happy.", ["happy"]),
    # no labels: a description only
    ("She looks at the floor.", None),
    ("She smiles.", None),
    ("She is happy and relieved.", None),
    ("The emotions of the person are mixed.", None),
    ("Emotions\nShe smiles a lot today.", None),
    ("", None),
])
def test_parse_answer(text, labels):
    description, found = parse_answer(text)
    assert found == labels
    assert description or not text


def test_description_is_the_text_before_the_label_line():
    description, labels = parse_answer("**Clues:** she smiles\nand laughs.\n\n**Emotions:** happy")
    assert description == "**Clues:** she smiles and laughs." and labels == ["happy"]


def test_full_width_forms_fold():
    assert split_labels("ｈａｐｐｙ，ｓａｄ；calm") == ["happy", "sad", "calm"]


def test_live_members_and_prompts_use_the_same_parser():
    assert prompts.parse_answer is parse_answer
