"""The learned extractor, fitted on a slice of the real dev data; its state round-trips through JSON."""
import json

import pytest

from core.errors import InputError
from core.labels import read_label_csv
from members.extract.learned import LearnedExtractor
from members.readers import read_outputs
from tests.test_extract_shared import GOLD, LEXICON, description_npz

MODELS = ("Otter", "mPLUG-Owl")


@pytest.fixture(scope="module")
def data():
    gold = read_label_csv(GOLD)
    train = sorted(gold)[:60]
    descriptions = {}
    for model in MODELS:
        outputs = read_outputs(description_npz(model), trust_pickle=True)
        descriptions[model] = {clip: outputs[clip].description for clip in sorted(gold)[:80]}
    return descriptions, {clip: gold[clip] for clip in train}


@pytest.fixture(scope="module")
def fitted(data):
    descriptions, gold = data
    return LearnedExtractor(lexicon=LEXICON).fit(descriptions, gold)


def test_fit_learns_that_the_conclusion_matters(fitted):
    weights = dict(zip(fitted.feature_names_, fitted.coef_))
    assert weights["log_from_end"] < 0  # words far from the end are less likely the answer
    assert weights["wheels_mapped"] > 0  # words the wheels do not know never score
    assert 0.2 <= fitted.threshold_ <= 0.7


def test_state_round_trips_through_json(fitted, data, tmp_path):
    descriptions, _ = data
    path = tmp_path / "state.json"
    fitted.save(path)
    assert json.loads(path.read_text())["format"] == "members.extract.learned/1"
    loaded = LearnedExtractor(lexicon=LEXICON, state=str(path))
    held_out = {clip: text for clip, text in descriptions["Otter"].items()}
    assert loaded.extract_many(held_out, "Otter") == fitted.extract_many(held_out, "Otter")


def test_words_come_from_the_text_and_a_named_emotion_is_never_lost(fitted):
    text = "The man looks around. In conclusion, he is anxious and worried, not angry."
    words = fitted.extract(text, "Otter")
    assert words and set(words) <= {"anxious", "worried"}
    assert fitted.extract("", "Otter") == [] and fitted.extract("A chair.", "Otter") == []
    assert fitted.extract("In conclusion, she is happy.", "a member never seen in fit") == ["happy"]


def test_bad_state_files_are_clear_errors(tmp_path):
    path = tmp_path / "state.json"
    path.write_text('{"format": "something else"}')
    with pytest.raises(InputError, match="not a learned-extractor state file"):
        LearnedExtractor(lexicon=LEXICON, state=str(path)).extract("He is sad.")
    with pytest.raises(InputError, match="needs descriptions and gold"):
        LearnedExtractor(lexicon=LEXICON).fit({}, {})
