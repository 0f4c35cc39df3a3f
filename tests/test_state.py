"""core.state: the versioned state format, and version-1 states written by the original code still work.

tests/data/state_v1/ holds files written by commit d9d98f3 (before core/state.py):
- category/stacker/weighted.judge.json: `run_ensemble.py tune` with configs/ovmerd.yaml on
  gold_dev.csv (judges that issue 16 removed or changed: their states are refused);
- extractor.json: experiments-style fit of the learned extractor on Otter and mPLUG-Owl
  descriptions of the first 40 gold_dev clips (sorted).
A fit of the extractor today on the same data must give the very same numbers, and loading
the old file the very same extractions.
"""
import json
import os
from pathlib import Path

import pytest

from core.errors import InputError
from core.factory import build
from core.labels import read_label_csv
from core.state import FORMAT, VERSION, read_state, state_text, write_state
from members.extract.learned import LearnedExtractor
from members.readers import read_outputs

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("OVMER_DATA") or REPO.parent / "shared" / "data")
LEXICON = str(DATA / "lexicon" / "mer2025")
V1 = Path(__file__).resolve().parent / "data" / "state_v1"


# ---- the format ------------------------------------------------------------------------------
def test_state_round_trip_has_a_header_and_sorted_keys(tmp_path):
    path = tmp_path / "s.json"
    write_state(path, "judge.test", {"b": [1.5, 2], "a": {"y": 1, "x": 0}})
    text = path.read_text()
    assert text == state_text("judge.test", {"a": {"x": 0, "y": 1}, "b": [1.5, 2]}) and text.endswith("}\n")
    data = json.loads(text)
    assert (data["format"], data["version"], data["kind"]) == (FORMAT, VERSION, "judge.test")
    assert list(data) == sorted(data)
    assert read_state(path, "judge.test") == {"a": {"x": 0, "y": 1}, "b": [1.5, 2]}
    with pytest.raises(ValueError, match="may not set 'version'"):
        state_text("judge.test", {"version": 3})


@pytest.mark.parametrize(
    "text, message",
    [
        (None, "state file not found"),
        ("{not json", "not a JSON state file"),
        ("[1, 2]", "a JSON list, expected an object"),
        (json.dumps({"format": FORMAT, "version": 3, "kind": "judge.test"}), "version 3 is unknown"),
        (json.dumps({"format": FORMAT, "kind": "judge.test"}), "version None is unknown"),
        (
            json.dumps({"format": FORMAT, "version": VERSION, "kind": "judge.other"}),
            "state of a 'judge.other', expected 'judge.test'",
        ),
        (json.dumps({"coef": [1.0]}), "not a 'judge.test' state file"),
    ],
)
def test_every_bad_file_is_one_input_error_naming_it(tmp_path, text, message):
    path = tmp_path / "bad.json"
    if text is not None:
        path.write_text(text)
    with pytest.raises(InputError, match=message) as error:
        read_state(path, "judge.test")
    assert str(error.value).startswith(f"{path}: ")


def test_legacy_converters_errors_name_the_file(tmp_path):
    path = tmp_path / "old.json"
    path.write_text('{"old": 1}')

    def legacy(data):
        return {"converted": data["old"]} if data.get("old") == 2 else data["missing"]

    with pytest.raises(InputError, match="incomplete older 'judge.test' state") as error:
        read_state(path, "judge.test", legacy)
    assert str(path) in str(error.value)
    path.write_text('{"old": 2}')
    assert read_state(path, "judge.test", legacy) == {"converted": 2}


# ---- judges: states of the judges before issue 16 ---------------------------------------------
@pytest.mark.parametrize("name", ["category", "stacker", "weighted"])
def test_a_judge_state_from_before_the_size_prior_is_one_error(name):
    """The judges of version-1 states are gone or decide differently now: their files are refused
    with one line naming the file, never half-loaded."""
    category = build("judge", {"type": "category"}, {"lexicon": LEXICON})
    with pytest.raises(InputError, match=f"^{V1 / (name + '.judge.json')}: not a 'judge.category' state file"):
        category.load_state(V1 / f"{name}.judge.json")


@pytest.fixture(scope="module")
def gold():
    return read_label_csv(DATA / "ovmerd" / "gold_dev.csv")


# ---- the learned extractor -------------------------------------------------------------------
@pytest.fixture(scope="module")
def descriptions():
    clips = sorted(read_label_csv(DATA / "ovmerd" / "gold_dev.csv"))[:60]
    out = {}
    for model in ("Otter", "mPLUG-Owl"):
        path = DATA / "ovmerd" / "members" / "ovmer_baselines" / model / "output-reason-7b-nosubtitle-addsub-eng.npz"
        outputs = read_outputs(path, trust_pickle=True)
        out[model] = {clip: outputs[clip].description for clip in clips}
    return out


def test_version1_extractor_state_extracts_what_a_fit_today_extracts(descriptions, gold, tmp_path):
    old = json.loads((V1 / "extractor.json").read_text())
    assert old["format"] == "members.extract.learned/1"
    train = sorted(gold)[:40]
    fitted = LearnedExtractor(lexicon=LEXICON).fit(descriptions, {c: gold[c] for c in train})
    # The same fit up to the last bits: BLAS kernels differ by machine (OPENBLAS_CORETYPE, thread count).
    assert fitted.model_.coef_.tolist() == pytest.approx(old["coef"], rel=1e-9, abs=1e-12)
    assert fitted.model_.intercept_ == pytest.approx(old["intercept"], rel=1e-9, abs=1e-12)
    assert fitted.threshold_ == pytest.approx(old["threshold"], rel=1e-9, abs=1e-12)
    loaded = LearnedExtractor(lexicon=LEXICON, state=str(V1 / "extractor.json"))
    new_file = tmp_path / "extractor.json"
    fitted.save(new_file)
    data = json.loads(new_file.read_text())
    assert (data["format"], data["version"], data["kind"]) == (FORMAT, VERSION, "extractor.learned")
    reloaded = LearnedExtractor(lexicon=LEXICON, state=str(new_file))
    for member, texts in descriptions.items():
        expected = fitted.extract_many(texts, member)
        assert loaded.extract_many(texts, member) == expected == reloaded.extract_many(texts, member)
    assert any(len(words) > 1 for words in expected.values())


def test_bad_extractor_states_are_input_errors(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"format": "members.extract.learned/2"}))
    with pytest.raises(InputError, match="not a 'extractor.learned' state file"):
        LearnedExtractor(lexicon=LEXICON, state=str(path)).extract("He is sad.")
    old = json.loads((V1 / "extractor.json").read_text())
    old["coef"] = old["coef"][:-1]
    path.write_text(json.dumps(old))
    with pytest.raises(InputError, match="coefficients for"):
        LearnedExtractor(lexicon=LEXICON, state=str(path)).extract("He is sad.")
    path.write_text(state_text("judge.category", {}))
    with pytest.raises(InputError, match="state of a 'judge.category', expected 'extractor.learned'"):
        LearnedExtractor(lexicon=LEXICON, state=str(path)).extract("He is sad.")
