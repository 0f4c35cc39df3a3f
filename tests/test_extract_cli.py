"""The `extract` subcommand and the described member, on JSONL files and a real description npz."""
import argparse
import json

import pytest

from core.errors import InputError
from core.labels import read_label_csv
from ensemble.commands import extract as command
from members.base import Clip
from members.extract.member import ExtractingMember
from tests.support import LEXICON, description_npz


def run(tmp_path, source, *overrides, trust_pickle=False):
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    out = tmp_path / "labels.csv"
    argv = ["--input", str(source), "--out", str(out)] + (["--trust-pickle"] if trust_pickle else [])
    assert command.main(parser.parse_args(argv), [f"lexicon={LEXICON}", *overrides]) == 0
    return read_label_csv(out)


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_every_clip_gets_a_row_even_without_emotion(tmp_path):
    source = write_jsonl(tmp_path / "d.jsonl", [
        {"name": "a", "description": "In conclusion, the man is angry and not happy."},
        {"name": "b", "description": "A table stands in a room."},
        {"name": "c", "description": ""},
    ])
    assert run(tmp_path, source) == {"a": ["angry"], "b": [], "c": []}


def test_overrides_reach_the_extractor(tmp_path):
    source = write_jsonl(tmp_path / "d.jsonl", [
        {"name": "a", "description": "In conclusion, he shows negative emotions such as anger."},
    ])
    assert run(tmp_path, source)["a"] == ["negative", "anger"]
    assert run(tmp_path, source, "extractor.keep_examples=false")["a"] == ["negative"]


def test_real_description_npz(tmp_path):
    labels = run(tmp_path, description_npz("VideoChat2"), trust_pickle=True)
    assert len(labels) == 332


def test_pickled_input_needs_trust_and_leaves_no_output(tmp_path):
    with pytest.raises(InputError, match="trust_pickle"):
        run(tmp_path, description_npz("VideoChat2"))
    assert not (tmp_path / "labels.csv").exists()


def test_bad_inputs_are_clear_errors(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        run(tmp_path, tmp_path / "missing.jsonl")
    labels_only = write_jsonl(tmp_path / "l.jsonl", [{"name": "a", "labels": ["happy"]}])
    with pytest.raises(InputError, match="not descriptions"):
        run(tmp_path, labels_only)
    source = write_jsonl(tmp_path / "d.jsonl", [{"name": "a", "description": "He is sad."}])
    with pytest.raises(InputError, match="unknown extractor type 'magic'"):
        run(tmp_path, source, "type=magic")
    with pytest.raises(InputError, match=r"extractor: unknown parameter .no_such_setting. \(known: .*n_focus"):
        run(tmp_path, source, "no_such_setting=1")
    with pytest.raises(InputError, match="not fitted"):
        run(tmp_path, source, "type=learned")
    assert not (tmp_path / "labels.csv").exists()


def test_described_member_answers_with_extracted_labels(tmp_path):
    source = write_jsonl(tmp_path / "d.jsonl", [
        {"name": "a", "description": "Overall, she is relaxed and happy."},
        {"name": "b", "labels": ["sad"]},
    ])
    member = ExtractingMember(name="m", path=str(source), extractor={"type": "rules", "lexicon": LEXICON})
    outputs = member.predict([Clip("a"), Clip("b"), Clip("unknown")])
    assert outputs["a"].labels == ["relaxed", "happy"] and outputs["a"].description.startswith("Overall")
    assert outputs["b"].labels == ["sad"]
    assert set(outputs) == {"a", "b"} and member.clip_names() == ["a", "b"]
