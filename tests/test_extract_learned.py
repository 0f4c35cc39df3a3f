"""The learned extractor, fitted on a slice of the real dev data; its state round-trips through JSON."""
import json

import numpy as np
import pytest

from core.errors import InputError
from core.labels import read_label_csv
from core.metrics import ew_scores
from members.extract.learned import LearnedExtractor
from members.readers import read_outputs
from tests.support import GOLD, LEXICON, description_npz
from vocab.lexicon import load_lexicon

MODELS = ("Otter", "mPLUG-Owl")


@pytest.fixture(scope="module")
def training():
    """Descriptions of two real members for the first 80 gold clips, and the gold of the first 60."""
    gold = read_label_csv(GOLD)
    train = sorted(gold)[:60]
    descriptions = {}
    for model in MODELS:
        outputs = read_outputs(description_npz(model), trust_pickle=True)
        descriptions[model] = {clip: outputs[clip].description for clip in sorted(gold)[:80]}
    return descriptions, {clip: gold[clip] for clip in train}


@pytest.fixture(scope="module")
def fitted(training):
    descriptions, gold = training
    return LearnedExtractor(lexicon=LEXICON).fit(descriptions, gold)


def test_fit_learns_that_the_conclusion_matters(fitted):
    weights = dict(zip(fitted.feature_names_, fitted.model_.coef_))
    assert weights["log_from_end"] < 0  # words far from the end are less likely the answer
    assert weights["wheels_mapped"] > 0  # words the wheels do not know never score


def training_objective(extractor, training, objective):
    """Mean over members of the objective of the extractor's answers on the training clips."""
    descriptions, gold = training
    lexicon = load_lexicon(LEXICON)
    values = []
    for member, texts in descriptions.items():
        predictions = extractor.extract_many({c: t for c, t in texts.items() if c in gold}, member)
        scores = ew_scores(gold, predictions, lexicon)
        values.append(scores.m_avg if objective == "m_avg" else scores.level(1))
    return float(np.mean(values))


@pytest.mark.parametrize("objective", ["m_avg", "ew_l1_f"])
def test_threshold_maximises_the_training_objective(training, objective):
    """Recomputed here through extract() and the official metric: the chosen probability cut beats
    every other cut on a 0.05 grid from 0.05 to 0.95 (also outside the range fit searches), and the
    objective matters (each choice scores worse under the other objective's cut)."""
    descriptions, gold = training
    extractor = LearnedExtractor(lexicon=LEXICON, objective=objective).fit(descriptions, gold)
    best = training_objective(extractor, training, objective)
    values = {}
    for threshold in np.round(np.arange(0.05, 0.951, 0.05), 2):
        extractor.threshold_ = float(threshold)
        values[float(threshold)] = training_objective(extractor, training, objective)
    assert best >= max(values.values()) - 1e-9
    assert best - min(values.values()) > 2  # the cut matters on these clips


def test_the_two_objectives_choose_different_cuts(training):
    descriptions, gold = training
    by_m_avg = LearnedExtractor(lexicon=LEXICON, objective="m_avg").fit(descriptions, gold)
    by_l1 = LearnedExtractor(lexicon=LEXICON, objective="ew_l1_f").fit(descriptions, gold)
    assert by_m_avg.threshold_ != pytest.approx(by_l1.threshold_)
    assert training_objective(by_l1, training, "ew_l1_f") > training_objective(by_m_avg, training, "ew_l1_f")
    assert training_objective(by_m_avg, training, "m_avg") > training_objective(by_l1, training, "m_avg")
    with pytest.raises(InputError, match="objective must be one of ew_l1_f, m_avg, got 'l1_f'"):
        LearnedExtractor(lexicon=LEXICON, objective="l1_f").fit(descriptions, gold)


def test_state_round_trips_through_json(fitted, training, tmp_path):
    descriptions, gold = training
    path = tmp_path / "state.json"
    fitted.save(path)
    saved = json.loads(path.read_text())
    assert (saved["format"], saved["kind"]) == ("ovmer-state", "extractor.learned")  # plain JSON, no pickle
    loaded = LearnedExtractor(lexicon=LEXICON, state=str(path))
    held_out = {clip: text for clip, text in descriptions["Otter"].items() if clip not in gold}
    answers = loaded.extract_many(held_out, "Otter")
    assert answers == fitted.extract_many(held_out, "Otter") and sum(map(len, answers.values())) > 20
    assert loaded.threshold_ == fitted.threshold_


def test_words_come_from_the_text_and_a_named_emotion_is_never_lost(fitted):
    text = "The man looks around. In conclusion, he is anxious and worried, not angry."
    words = fitted.extract(text, "Otter")
    assert words and set(words) <= {"anxious", "worried"}
    assert fitted.extract("", "Otter") == [] and fitted.extract("A chair.", "Otter") == []
    assert fitted.extract("In conclusion, she is happy.", "a member never seen in fit") == ["happy"]


def test_bad_state_files_are_clear_errors(tmp_path):
    path = tmp_path / "state.json"
    path.write_text('{"format": "something else"}')
    with pytest.raises(InputError, match="not a 'extractor.learned' state file"):
        LearnedExtractor(lexicon=LEXICON, state=str(path)).extract("He is sad.")
    with pytest.raises(InputError, match="needs descriptions and gold"):
        LearnedExtractor(lexicon=LEXICON).fit({}, {})
