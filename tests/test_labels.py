"""The openset string format and name,openset CSV files, including their bad-input errors."""
from __future__ import annotations

import pytest

from core.errors import InputError
from core.labels import format_openset, new_file_mode, parse_openset, read_label_csv, write_label_csv


@pytest.mark.parametrize(
    "text, expected",
    [
        ("['happy', 'relieved']", ["happy", "relieved"]),
        ("[happy, relieved]", ["happy", "relieved"]),
        ('["Happy" , " Relieved "]', ["happy", "relieved"]),
        ("[]", []),
        # The official evaluator splits on quotes too, so an apostrophe splits a label.
        ("['don't believe', 'doubt']", ["don", "t believe", "doubt"]),
    ],
)
def test_parse_openset(text, expected):
    assert parse_openset(text) == expected


@pytest.mark.parametrize("text", ["happy, sad", "", "['happy'", "{happy}"])
def test_parse_openset_rejects_non_lists(text):
    with pytest.raises(ValueError):
        parse_openset(text)


def test_format_round_trips():
    labels = ["happy", "a bit anxious"]
    assert format_openset(labels) == "['happy', 'a bit anxious']"
    assert parse_openset(format_openset(labels)) == labels
    with pytest.raises(ValueError):
        format_openset(["don't"])


def test_write_then_read_is_sorted_and_identical(tmp_path):
    predictions = {"b": ["sad"], "a": ["happy", "relieved"], "c": []}
    out = tmp_path / "sub.csv"
    write_label_csv(out, predictions)
    first = out.read_bytes()
    assert first.decode().splitlines()[:2] == ["name,openset", "a,\"['happy', 'relieved']\""]
    assert read_label_csv(out) == predictions
    write_label_csv(out, dict(reversed(list(predictions.items()))))
    assert out.read_bytes() == first


def test_written_file_is_readable_by_others(tmp_path):
    """Atomic writes go through a private temporary file; the result gets the ordinary mode."""
    out = tmp_path / "sub.csv"
    write_label_csv(out, {"a": ["happy"]})
    assert out.stat().st_mode & 0o777 == new_file_mode()


def test_failed_write_leaves_no_file(tmp_path):
    out = tmp_path / "sub.csv"
    with pytest.raises(ValueError):
        write_label_csv(out, {"a": ["ok"], "b": ["it's"]})
    assert list(tmp_path.iterdir()) == []


def test_missing_column_names_the_file(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("name,labels\na,[happy]\n")
    with pytest.raises(InputError, match=r"bad\.csv: missing column 'openset'"):
        read_label_csv(bad)


def test_unparsable_row_names_file_row_and_clip(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("name,openset\na,[happy]\nb,happy\n")
    with pytest.raises(InputError, match=r"bad\.csv, row 3, clip b: unparsable openset"):
        read_label_csv(bad)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_label_csv(tmp_path / "nope.csv")
