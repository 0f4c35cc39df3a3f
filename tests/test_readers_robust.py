"""Member readers on malformed, hostile and upstream-broken files: every failure is one InputError
naming file, row and clip; the malformed upstream npz rows read as the official toolkit reads them."""
from __future__ import annotations

import io
import json
import logging
import zipfile

import numpy as np
import pytest
from numpy.lib import format as npy_format

from core.errors import InputError
from core.factory import build
from core.labels import MAX_LABEL_CHARS, MAX_LABELS, parse_openset, parse_openset_lenient
from members.base import Clip
from members.cached import CachedMember
from members.npz import StringArray, open_npz
from members.readers import MAX_JSONL_LINE_BYTES, read_label_sets, read_outputs
from tests.support import BASELINE_DIR, GOLD, MER2024_PRED, run_cli

# The five upstream label files that hold rows the official extraction left malformed, and how many.
MALFORMED = {
    ("SALMONN", "nosubtitle"): 1,
    ("SALMONN", "subtitle"): 6,
    ("VideoChat", "nosubtitle"): 1,
    ("VideoChat", "subtitle"): 1,
    ("VideoChat2", "subtitle"): 1,
}


def _upstream(model: str, setting: str):
    return BASELINE_DIR / model / f"output-reason-7b-{setting}-eng-openset.npz"


def _reference(path) -> dict[str, list[str]]:
    """The labels np.load and the two parsers give row by row: the reading the streamed reader must match."""
    with np.load(path, allow_pickle=False) as data:
        rows = zip(data["filenames"].tolist(), data["fileitems"].tolist())
        result = {}
        for name, item in rows:
            try:
                result[name] = parse_openset(item)
            except ValueError:
                result[name] = parse_openset_lenient(item)
    return result


# ---- real upstream files -------------------------------------------------------------------------


@pytest.mark.parametrize("model, setting", sorted(MALFORMED))
def test_malformed_upstream_rows_are_read_with_one_warning(model, setting, caplog):
    path = _upstream(model, setting)
    with caplog.at_level(logging.WARNING, logger="members.readers"):
        labels = read_label_sets(path)
    assert len(labels) == 332
    assert labels == _reference(path)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert f"{MALFORMED[model, setting]} row(s) are not bracketed label lists" in warnings[0]
    assert str(path) in warnings[0]


def test_malformed_rows_parse_as_the_toolkit_does():
    salmonn = read_label_sets(_upstream("SALMONN", "nosubtitle"))
    assert salmonn["sample_00001288"] == ["anxiety", "nervousness", "tension"]  # "[], Anxiety, Nervousness, Tension"
    videochat = read_label_sets(_upstream("VideoChat", "subtitle"))
    assert videochat["sample_00001097"][-2:] == ["frustrated", "annoyed"]  # the tail of a sentence


@pytest.mark.parametrize("model, setting", sorted(MALFORMED))
def test_strict_refuses_malformed_upstream_rows(model, setting):
    with pytest.raises(InputError, match=r"-openset\.npz, row \d+, clip sample_\d+: unparsable fileitems entry"):
        read_outputs(_upstream(model, setting), strict=True)


def test_cached_member_strict_option():
    spec = {"name": "s", "path": str(_upstream("SALMONN", "nosubtitle"))}
    lenient = build("member", spec)
    assert isinstance(lenient, CachedMember) and not lenient.strict
    assert lenient.predict([Clip("sample_00001288")])["sample_00001288"].labels == ["anxiety", "nervousness", "tension"]
    strict = build("member", {**spec, "strict": True})
    with pytest.raises(InputError, match="clip sample_00001288"):
        strict.predict([Clip("sample_00001288")])
    assert strict.predict([Clip("sample_00000000")])["sample_00000000"].ok  # other rows are not parsed


def test_every_upstream_label_npz_streams_to_what_np_load_gives():
    paths = sorted(BASELINE_DIR.glob("*/*-openset.npz")) + sorted(BASELINE_DIR.parent.glob("affectgpt/*-openset.npz"))
    assert len(paths) == 37
    for path in paths:
        assert read_label_sets(path) == _reference(path), path


def test_gold_files_read_unchanged():
    gold = read_label_sets(GOLD)
    assert len(gold) == 200 and all(isinstance(v, list) for v in gold.values())
    assert len(read_label_sets(MER2024_PRED)) > 0


# ---- npz files that are not what they claim -------------------------------------------------------


def _npz(tmp_path, name="m-openset.npz", **arrays):
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


def test_zero_byte_npz(tmp_path):
    path = tmp_path / "m-openset.npz"
    path.write_bytes(b"")
    with pytest.raises(InputError, match=r"m-openset\.npz: not a readable npz file"):
        read_outputs(path)


def test_corrupt_compressed_npz(tmp_path):
    """Deflate data overwritten in the middle: zlib.error or a CRC failure, one InputError either way."""
    path = tmp_path / "m-openset.npz"
    np.savez_compressed(path, filenames=np.array([f"c{i}" for i in range(2000)]),
                        fileitems=np.array([f"[w{i % 7}, v{i % 5}]" for i in range(2000)]))
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 64] = bytes(range(64))
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"m-openset\.npz: "):
        read_outputs(path)


def test_truncated_npz(tmp_path):
    path = _npz(tmp_path, filenames=np.array(["a", "b"]), fileitems=np.array(["[x]", "[y]"]))
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(InputError, match="not a readable npz file"):
        read_outputs(path)


def test_npy_member_shorter_than_its_header(tmp_path):
    """A header claiming more rows than the data holds ends the read with an error, not a short answer."""
    path = tmp_path / "m-openset.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for key, values in (("filenames", ["a", "b", "c"]), ("fileitems", ["[x]", "[y]", "[z]"])):
            buffer = io.BytesIO()
            np.save(buffer, np.array(values))
            archive.writestr(f"{key}.npy", buffer.getvalue()[:-4])
    with pytest.raises(InputError, match=r"m-openset\.npz: not a readable npz file \(EOFError: array 'filenames' ends"):
        read_outputs(path)


@pytest.mark.parametrize(
    "items, message",
    [
        (np.array([{"a": 1}, None], dtype=object), "holds Python objects"),
        (np.array("[happy]"), r"shape \(\), expected one row per clip"),
        (np.array([["[a]"], ["[b]"]]), r"shape \(2, 1\)"),
        (np.array([1, 2]), "holds int64 values, expected strings"),
    ],
)
def test_arrays_of_the_wrong_kind(tmp_path, items, message):
    path = _npz(tmp_path, filenames=np.array(["a", "b"]), fileitems=items) if items.dtype != object else None
    if path is None:  # np.savez pickles object arrays; the reader must refuse without unpickling
        path = tmp_path / "m-openset.npz"
        np.savez(path, filenames=np.array(["a", "b"]), fileitems=items, allow_pickle=True)
    with pytest.raises(InputError, match=message):
        read_outputs(path)


def test_forged_header_asking_for_huge_rows(tmp_path):
    """A header claiming '<U100000' rows is refused before any row is read (no gigabyte buffers)."""
    path = tmp_path / "m-openset.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for key in ("filenames", "fileitems"):
            header = io.BytesIO()
            npy_format.write_array_header_1_0(header, {"descr": "<U100000", "fortran_order": False, "shape": (10**9,)})
            archive.writestr(f"{key}.npy", header.getvalue())
    with pytest.raises(InputError, match=r"array 'filenames' has rows 100000 characters wide, more than 65536"):
        read_outputs(path)


def test_bytes_arrays_are_utf8_and_bad_bytes_name_the_row(tmp_path):
    good = _npz(tmp_path, filenames=np.array([b"a", b"b"]), fileitems=np.array(["[café]".encode(), b"[sad]"]))
    assert read_label_sets(good) == {"a": ["café"], "b": ["sad"]}
    bad = _npz(tmp_path, "bad-openset.npz", filenames=np.array([b"a", b"b"]), fileitems=np.array([b"[x]", b"[\xff]"]))
    with pytest.raises(InputError, match=r"bad-openset\.npz, row 1, clip b: a label is not valid UTF-8"):
        read_outputs(bad)


def test_length_mismatch(tmp_path):
    path = _npz(tmp_path, filenames=np.array(["a", "b"]), fileitems=np.array(["[x]"]))
    with pytest.raises(InputError, match="2 filenames but 1 fileitems"):
        read_outputs(path)


def test_streaming_reads_across_chunks(tmp_path, monkeypatch):
    """Rows that straddle the chunk boundary come back whole and in order."""
    monkeypatch.setattr("members.npz.CHUNK_BYTES", 3 * 4 * 6)  # three rows of '<U6' per chunk
    names = [f"c{i:04d}" for i in range(10)]
    path = _npz(tmp_path, filenames=np.array(names), fileitems=np.array(["[x]"] * 10))
    with open_npz(path) as archive:
        with StringArray(archive, path, "filenames") as array:
            assert list(array) == names


# ---- bounds ------------------------------------------------------------------------------------------


def _label_files(tmp_path, openset: str) -> list:
    """The same one-clip label set as CSV, JSONL (openset and labels) and npz."""
    csv_path = tmp_path / "m.csv"
    csv_path.write_text(f'name,openset\nclip1,"{openset}"\n')
    jsonl = tmp_path / "m.jsonl"
    jsonl.write_text(json.dumps({"name": "clip1", "openset": openset}) + "\n")
    labels = tmp_path / "labels.jsonl"
    labels.write_text(json.dumps({"name": "clip1", "labels": parse_openset(openset)}) + "\n")
    npz = _npz(tmp_path, filenames=np.array(["clip1"]), fileitems=np.array([openset]))
    return [csv_path, jsonl, labels, npz]


def test_a_label_over_the_bound_names_file_row_and_clip(tmp_path):
    long = "x" * (MAX_LABEL_CHARS + 1)
    for path in _label_files(tmp_path, f"[happy, {long}]"):
        with pytest.raises(InputError, match=rf"{path.name}, row \d+, clip clip1: a label of 201 characters") as caught:
            read_outputs(path)
        assert long not in str(caught.value)  # only an excerpt is quoted
    for path in _label_files(tmp_path, f"[happy, {'x' * MAX_LABEL_CHARS}]"):
        assert read_outputs(path)["clip1"].labels[1] == "x" * MAX_LABEL_CHARS


def test_too_many_labels_names_file_row_and_clip(tmp_path):
    many = "[" + ", ".join(f"w{i}" for i in range(MAX_LABELS + 1)) + "]"
    for path in _label_files(tmp_path, many):
        with pytest.raises(InputError, match=rf"{path.name}, row \d+, clip clip1: 101 labels, more than the bound of 100"):
            read_outputs(path)
    enough = "[" + ", ".join(f"w{i}" for i in range(MAX_LABELS)) + "]"
    assert all(len(read_outputs(p)["clip1"].labels) == MAX_LABELS for p in _label_files(tmp_path, enough))


# ---- JSONL -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"name": "a", "openset": 5}', r'row 1, clip a: "openset" must be a string like .* got 5'),
        ('{"name": "a", "openset": {"x": 1}}', r'"openset" must be a string'),
        ('{"name": "a", "openset": [1, 2]}', "labels must be a list of strings"),
        ('{"name": "a", "labels": "happy"}', "labels must be a list of strings"),
        ('{"name": "a", "description": 5}', r'"description" must be a string'),
        ('[1, 2]', r"row 1: bad JSONL record \(a list, not an object\)"),
        ('"text"', r"row 1: bad JSONL record \(a str"),
        ('[' * 100_000, r"row 1: bad JSONL record"),
        ('{"name": "a", "labels": ["\\udc80"]}', "not valid UTF-8 text"),
        ('{"name": "' + "n" * 300 + '", "labels": []}', r"row 1: clip name longer than 200 characters"),
    ],
)
def test_bad_jsonl_values(tmp_path, line, message):
    path = tmp_path / "m.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(InputError, match=message):
        read_outputs(path)


def test_jsonl_openset_may_be_a_list(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text('{"name": "a", "openset": ["happy", "sad"]}\n')
    assert read_outputs(path)["a"].labels == ["happy", "sad"]


def test_non_utf8_jsonl_names_the_row(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_bytes(b'{"name": "a", "labels": ["x"]}\n{"name": "b", "labels": ["\xe9t\xe9"]}\n')
    with pytest.raises(InputError, match=r"m\.jsonl, row 2: not UTF-8 text \(byte 0xe9"):
        read_outputs(path)


def test_overlong_jsonl_line(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text('{"name": "a", "description": "' + "x" * MAX_JSONL_LINE_BYTES + '"}\n')
    with pytest.raises(InputError, match=r"m\.jsonl, row 1: line longer than"):
        read_outputs(path)


# ---- the command line ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_evaluate_reports_bad_files_in_one_line(tmp_path):
    """`evaluate` on a zero-byte npz prediction and on a non-UTF-8 gold: `error: ...`, exit 1, no traceback."""
    empty = tmp_path / "pred-openset.npz"
    empty.write_bytes(b"")
    done = run_cli("evaluate", "--gold", GOLD, "--pred", empty)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith(f"error: {empty}: not a readable npz file")
    gold = tmp_path / "gold.csv"
    gold.write_bytes(b"name,openset\nsample_00000000,[happy]\nsample_00000001,\"[caf\xe9]\"\n")
    done = run_cli("evaluate", "--gold", gold, "--pred", MER2024_PRED)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith(f"error: {gold}, row 3: not UTF-8 text in column 'openset'")
