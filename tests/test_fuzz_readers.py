"""Property tests (hypothesis) for every label parser: openset strings, label CSV, JSONL and npz
label files. Whatever the input, a reader returns labels or raises InputError (the lenient npz
path may log its documented warning); valid label sets survive write -> read unchanged."""
from __future__ import annotations

import csv
import io
import json
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import InputError
from core.labels import (
    MAX_LABEL_CHARS,
    format_openset,
    normalise_label,
    parse_openset,
    parse_openset_lenient,
    read_clip_names,
    read_label_csv,
    write_label_csv,
)
from members.readers import read_label_sets, read_outputs

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _read_or_input_error(read, path) -> None:
    """Call the reader: any result is fine, InputError is fine, any other exception fails the test."""
    try:
        read(path)
    except InputError:
        pass


def _in_temp(name: str, content: bytes, read) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        _read_or_input_error(read, path)


# ---- openset strings ---------------------------------------------------------------------------------

# Text that looks like label lists more often than plain random text does.
openset_like = st.one_of(
    st.text(),
    st.lists(st.text(st.sampled_from("ab '\",[] \t")), max_size=8).map("".join),
    st.builds(lambda body: f"[{body}]", st.text()),
)


@FUZZ
@given(openset_like)
def test_parse_openset_returns_labels_or_value_error(text):
    try:
        labels = parse_openset(text)
    except ValueError:
        return
    assert all(isinstance(label, str) and label and label == normalise_label(label) for label in labels)


@FUZZ
@given(openset_like)
def test_lenient_parse_never_fails_and_agrees_on_lists(text):
    labels = parse_openset_lenient(text)
    assert all(isinstance(label, str) and label for label in labels)
    try:
        strict = parse_openset(text)
    except ValueError:
        return
    assert labels == [label for label in strict if label.strip("[]")]


# ---- files: arbitrary bytes and near-valid content -----------------------------------------------------

csv_like = st.one_of(
    st.binary(max_size=300),
    st.builds(lambda rows: ("name,openset\n" + rows).encode("utf-8", "surrogatepass"), st.text(max_size=300)),
    st.builds(lambda head, rows: b"name,openset\n" + head + rows, st.binary(max_size=20),
              st.text(st.sampled_from('ab,"[]\'\n\r x'), max_size=200).map(str.encode)),
)


@FUZZ
@given(csv_like, st.sampled_from([131072, 8]))
def test_label_csv_never_raises_anything_but_input_error(content, field_limit):
    """Also with a field limit of 8 characters, so that short inputs reach the csv module's own errors."""
    old = csv.field_size_limit(field_limit)
    try:
        _in_temp("m.csv", content, read_label_csv)
        _in_temp("m.csv", content, read_clip_names)
        _in_temp("m.csv", content, read_outputs)
    finally:
        csv.field_size_limit(old)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)
jsonl_record = st.fixed_dictionaries(
    {},
    optional={"name": json_values | st.text(max_size=10), "labels": json_values | st.lists(st.text(max_size=10)),
              "openset": json_values | openset_like, "description": json_values},
)
jsonl_like = st.one_of(
    st.binary(max_size=300),
    st.lists(jsonl_record | json_values, max_size=5).map(lambda records: "\n".join(map(json.dumps, records)).encode()),
    st.integers(1, 20_000).map(lambda depth: b"[" * depth + b"]" * depth),  # nesting deeper than the parser's stack
)


@FUZZ
@given(jsonl_like)
def test_jsonl_never_raises_anything_but_input_error(content):
    _in_temp("m.jsonl", content, read_outputs)


def _npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


VALID_NPZ = _npz_bytes(filenames=np.array(["a", "b", "c"]), fileitems=np.array(["[happy, sad]", "[]", "['calm']"]))
arrays = st.one_of(
    st.lists(openset_like.filter(lambda t: "\x00" not in t), max_size=4).map(np.array),
    st.sampled_from([np.array("x"), np.array([[1, 2]]), np.array([1.5]), np.array([b"[\xff]"]),
                     np.array([None], dtype=object), np.array([], dtype="<U1")]),
)


@FUZZ
@given(st.data())
def test_npz_never_raises_anything_but_input_error(data):
    kind = data.draw(st.sampled_from(["bytes", "mutated", "truncated", "arrays"]))
    if kind == "bytes":
        content = data.draw(st.binary(max_size=300))
    elif kind == "mutated":  # a valid file with a few bytes overwritten
        content = bytearray(VALID_NPZ)
        for _ in range(data.draw(st.integers(1, 4))):
            content[data.draw(st.integers(0, len(content) - 1))] = data.draw(st.integers(0, 255))
        content = bytes(content)
    elif kind == "truncated":
        content = VALID_NPZ[: data.draw(st.integers(0, len(VALID_NPZ) - 1))]
    else:
        names = data.draw(arrays)
        content = _npz_bytes(filenames=names, fileitems=data.draw(arrays))
    _in_temp("m-openset.npz", content, read_outputs)
    _in_temp("m-openset.npz", content, lambda path: read_outputs(path, strict=True))


def test_npz_member_that_is_not_npy():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("filenames.npy", b"not an array")
        archive.writestr("fileitems.npy", b"\x93NUMPY")
    _in_temp("m-openset.npz", buffer.getvalue(), read_outputs)


# ---- round trips -----------------------------------------------------------------------------------------

# Labels as the readers give them back: normalised, and free of what the openset syntax uses.
label = (
    st.text(st.characters(exclude_categories=("Cs",), exclude_characters="'\",\r\n\x00"), min_size=1, max_size=30)
    .map(normalise_label)
    .filter(lambda w: w and normalise_label(w) == w and w.strip("[]") and len(w) <= MAX_LABEL_CHARS)
)
name = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\",\r\n\x00"), min_size=1, max_size=20).filter(
    lambda n: n == n.strip() and n
)
label_sets = st.dictionaries(name, st.lists(label, max_size=6), min_size=1, max_size=6)


@FUZZ
@given(label_sets)
def test_label_csv_round_trip(predictions):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sub.csv"
        write_label_csv(path, predictions)
        assert read_label_csv(path) == predictions
        assert read_label_sets(path) == predictions


@FUZZ
@given(label_sets)
def test_npz_and_jsonl_round_trip(predictions):
    with tempfile.TemporaryDirectory() as folder:
        npz = Path(folder) / "m-openset.npz"
        names = list(predictions)
        np.savez(npz, filenames=np.array(names), fileitems=np.array([format_openset(predictions[n]) for n in names]))
        assert read_label_sets(npz, strict=True) == predictions
        jsonl = Path(folder) / "m.jsonl"
        jsonl.write_text("".join(json.dumps({"name": n, "labels": v}) + "\n" for n, v in predictions.items()))
        assert read_label_sets(jsonl) == predictions
