"""The openset string format and name,openset CSV files, including their bad-input errors."""
from __future__ import annotations

import os

import pytest

import core.files
from core.errors import InputError
from core.labels import format_openset, parse_openset, read_clip_names, read_label_csv, write_label_csv


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


@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_file_gets_the_mode_the_umask_gives(tmp_path, umask, expected):
    """Atomic writes go through a private (0600) temporary file; the result gets what an ordinary
    new file gets under the umask, not the temporary file's 0600."""
    old = os.umask(umask)
    try:
        out = tmp_path / "sub.csv"
        write_label_csv(out, {"a": ["happy"]})
        plain = tmp_path / "plain.txt"
        with open(plain, "w") as handle:  # what open() gives under the same umask
            handle.write("x")
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == expected == plain.stat().st_mode & 0o777


def test_unwritable_labels_are_refused_before_anything_is_written(tmp_path):
    out = tmp_path / "sub.csv"
    with pytest.raises(ValueError, match="cannot be written"):
        write_label_csv(out, {"a": ["ok"], "b": ["it's"]})
    assert list(tmp_path.iterdir()) == []


def _break_replace(monkeypatch):
    def refuse(src, dst):
        raise OSError(28, "No space left on device (simulated)")

    monkeypatch.setattr(core.files.os, "replace", refuse)


@pytest.mark.parametrize("failure", ["replace", "encode"])
def test_failed_write_leaves_no_file_and_no_temporary(tmp_path, monkeypatch, failure):
    """The write itself fails (os.replace refused, as on a full disk, or an unencodable character
    after the first 100 kB): neither the target nor a `.part` file remains."""
    out = tmp_path / "sub.csv"
    if failure == "replace":
        _break_replace(monkeypatch)
        with pytest.raises(OSError, match="simulated"):
            write_label_csv(out, {"a": ["happy"]})
    else:
        text = "name,openset\n" + "x" * 100_000 + "\ud800\n"
        with pytest.raises(UnicodeEncodeError):
            core.files.atomic_write_text(out, text)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("failure", ["replace", "encode"])
def test_failed_write_leaves_the_existing_file_untouched(tmp_path, monkeypatch, failure):
    out = tmp_path / "sub.csv"
    write_label_csv(out, {"old": ["sad"]})
    before = out.read_bytes()
    if failure == "replace":
        _break_replace(monkeypatch)
        with pytest.raises(OSError):
            write_label_csv(out, {"new": ["happy"]})
    else:
        with pytest.raises(UnicodeEncodeError):
            core.files.atomic_write_text(out, "name,openset\nnew,\"['\udcff']\"\n")
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["sub.csv"]


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


def test_clip_names_from_any_csv_with_a_name_column(tmp_path):
    """`run --clips` reads a name-only CSV, or any CSV with a `name` column, in file order."""
    names_only = tmp_path / "clips.csv"
    names_only.write_text("name\nb\na\n")
    assert read_clip_names(names_only) == ["b", "a"]
    wider = tmp_path / "sub.csv"
    wider.write_text("score,name,openset\n1,c,[happy]\n2,a,not a list\n")
    assert read_clip_names(wider) == ["c", "a"]  # other columns are not parsed


@pytest.mark.parametrize(
    "text, message",
    [
        ("clip\na\n", "missing column 'name'"),
        ("name\n", "no clip names"),
        ("name\na\n\"\"\n", r"clips\.csv, row 3: empty clip name"),
        ("name\nb\na\nb\n", r"clips\.csv, row 4, clip b: clip named twice \(first on row 2\)"),
    ],
)
def test_clip_names_bad_files(tmp_path, text, message):
    path = tmp_path / "clips.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        read_clip_names(path)


def test_read_only_skips_other_rows_unparsed(tmp_path):
    """`only` skips rows of unwanted clips before parsing them: a broken row elsewhere is no error."""
    path = tmp_path / "labels.csv"
    path.write_text("name,openset\na,[happy]\nb,not a list\nc,[sad]\n")
    assert read_label_csv(path, only=["a", "c", "z"]) == {"a": ["happy"], "c": ["sad"]}
    with pytest.raises(InputError, match="row 3, clip b"):
        read_label_csv(path, only=["b"])
