"""The openset string format and name,openset CSV files, including their bad-input errors."""
from __future__ import annotations

import os

import pytest

import core.files
from core.errors import InputError
from core.labels import (
    MAX_NAME_CHARS,
    LabelCache,
    format_openset,
    parse_openset,
    parse_openset_lenient,
    read_clip_names,
    read_label_csv,
    write_label_csv,
)


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


# ---- malformed input: one InputError naming file, row and clip --------------------------------


def test_non_utf8_csv_names_the_row(tmp_path):
    path = tmp_path / "gold.csv"
    path.write_bytes(b'name,openset\na,[happy]\nb,"[caf\xe9]"\n')
    with pytest.raises(InputError, match=r"gold\.csv, row 3: not UTF-8 text in column 'openset'"):
        read_label_csv(path)
    names = tmp_path / "clips.csv"
    names.write_bytes(b"name\na\n\xff\xfe\n")
    with pytest.raises(InputError, match=r"clips\.csv, row 3: not UTF-8 text in column 'name'"):
        read_clip_names(names)


def test_field_over_the_csv_limit(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text('name,openset\na,[happy]\nb,"[' + "x" * 200_000 + ']"\n')
    with pytest.raises(InputError, match=r"big\.csv, row 3: not a readable CSV row \(field larger than field limit") as caught:
        read_label_csv(path)
    assert len(str(caught.value)) < 300


def test_error_messages_quote_only_an_excerpt(tmp_path):
    path = tmp_path / "bad.csv"
    sentence = "Based on the input, it appears " * 300
    path.write_text(f'name,openset\na,"{sentence}"\n')
    message = r"bad\.csv, row 2, clip a: unparsable openset \(not a bracketed list: «Based"
    with pytest.raises(InputError, match=message) as caught:
        read_label_csv(path)
    assert "characters)" in str(caught.value) and len(str(caught.value)) < 300


def test_overlong_clip_name(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("name,openset\n" + "n" * (MAX_NAME_CHARS + 1) + ",[x]\n")
    with pytest.raises(InputError, match=r"m\.csv, row 2: clip name longer than 200 characters"):
        read_label_csv(path)


@pytest.mark.parametrize("label", ["it's", "a,b", 'say "hi"', "two\nlines", "   ", ""])
def test_unwritable_label_names_the_clip(tmp_path, label):
    with pytest.raises(InputError, match=r"clip c2: label cannot be written in the openset format"):
        write_label_csv(tmp_path / "sub.csv", {"c1": ["ok"], "c2": ["fine", label]})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["a,b", 'a"b', "a\nb", " a", ""])
def test_unwritable_clip_name(tmp_path, name):
    with pytest.raises(InputError, match="the clip name cannot be written"):
        write_label_csv(tmp_path / "sub.csv", {name: ["happy"]})


@pytest.mark.parametrize(
    "text, expected",
    [
        ("[], Anxiety, Nervousness, Tension", ["anxiety", "nervousness", "tension"]),
        ("[],focused,attentive,professional", ["focused", "attentive", "professional"]),
        ("Based on the input, she is [happy", ["based on the input", "she is [happy"]),
        ("", []),
        ("['happy', 'sad']", ["happy", "sad"]),  # a well-formed list reads as parse_openset reads it
    ],
)
def test_parse_openset_lenient(text, expected):
    assert parse_openset_lenient(text) == expected


def test_label_cache_shares_one_string_per_label():
    cache = LabelCache()
    first, second = parse_openset("[Happy, sad]", cache), parse_openset("['happy', 'Sad ']", cache)
    assert first == second == ["happy", "sad"]
    assert first[0] is second[0] and first[1] is second[1]
