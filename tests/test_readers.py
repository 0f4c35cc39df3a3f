"""Member output readers on the real shared files and on small files written here."""
from __future__ import annotations

import json

import numpy as np
import pytest

from core.errors import InputError
from core.factory import build
from members.base import Clip, MemberOutput
from members.cached import CachedMember
from members.readers import read_label_sets, read_outputs
from tests.support import affectgpt_file, baseline_file


def test_label_npz():
    labels = read_label_sets(baseline_file("Chat-UniVi"))
    assert len(labels) == 332
    assert labels["sample_00000000"] == ["confusion", "helplessness"]
    assert len(read_label_sets(affectgpt_file(30))) == 532


def test_description_npz_needs_trust():
    path = baseline_file("Chat-UniVi", labels=False)
    with pytest.raises(InputError, match="trust_pickle"):
        read_outputs(path)
    outputs = read_outputs(path, trust_pickle=True)
    assert len(outputs) == 332
    assert outputs["sample_00000000"].description.startswith("In the video")
    assert outputs["sample_00000000"].labels is None
    with pytest.raises(InputError, match="descriptions, not labels"):
        read_label_sets(path, trust_pickle=True)


def test_jsonl(tmp_path):
    path = tmp_path / "m.jsonl"
    rows = [
        {"name": "a", "labels": ["Happy"]},
        {"name": "b", "openset": "[sad, tired]"},
        {"name": "c", "description": "She looks calm."},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    outputs = read_outputs(path)
    assert outputs["a"].labels == ["Happy"]
    assert outputs["b"].labels == ["sad", "tired"]
    assert outputs["c"].description == "She looks calm." and outputs["c"].labels is None


def test_bad_jsonl_row(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text('{"name": "a", "labels": ["x"]}\n{"labels": ["y"]}\n')
    with pytest.raises(InputError, match=r"m\.jsonl, row 2: bad JSONL record"):
        read_outputs(path)


def test_empty_and_unknown_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("name,openset\n")
    with pytest.raises(InputError, match="member output is empty"):
        read_outputs(empty)
    other = tmp_path / "x.txt"
    other.write_text("hi")
    with pytest.raises(InputError, match="unknown member output format"):
        read_outputs(other)
    npz = tmp_path / "x.npz"
    np.savez(npz, something=np.arange(3))
    with pytest.raises(InputError, match="expected filenames"):
        read_outputs(npz)


def test_bad_fileitem_names_the_clip_when_strict(tmp_path, caplog):
    """By default a malformed row is read as the toolkit reads it, with a warning; strict refuses it."""
    npz = tmp_path / "labels-openset.npz"
    np.savez(npz, filenames=np.array(["a", "b"]), fileitems=np.array(["[happy]", "happy"]))
    with pytest.raises(InputError, match=r"labels-openset\.npz, row 1, clip b: unparsable"):
        read_outputs(npz, strict=True)
    assert {k: v.labels for k, v in read_outputs(npz).items()} == {"a": ["happy"], "b": ["happy"]}
    assert "1 row(s) are not bracketed label lists (clips b)" in caplog.text


def test_cached_member_built_by_the_factory():
    member = build("member", {"name": "cu", "path": str(baseline_file("Chat-UniVi"))})  # `cached` is the default type
    assert isinstance(member, CachedMember)
    assert len(member.clip_names()) == 332
    assert member.predict([Clip("sample_00000000"), Clip("not_a_clip")]) == {
        "sample_00000000": MemberOutput(labels=["confusion", "helplessness"])
    }


def test_only_skips_unwanted_rows_before_parsing(tmp_path):
    """`only` drops other clips' rows unparsed in label npz, CSV and JSONL files."""
    npz = tmp_path / "labels-openset.npz"
    np.savez(npz, filenames=np.array(["a", "b", "c"]), fileitems=np.array(["[happy]", "broken", "[sad]"]))
    assert {k: v.labels for k, v in read_outputs(npz, only=["a", "c"]).items()} == {"a": ["happy"], "c": ["sad"]}
    csv_path = tmp_path / "m.csv"
    csv_path.write_text("name,openset\na,[happy]\nb,broken\n")
    assert {k: v.labels for k, v in read_outputs(csv_path, only=["a"]).items()} == {"a": ["happy"]}
    jsonl = tmp_path / "m.jsonl"
    jsonl.write_text('{"name": "a", "labels": ["x"]}\n{"name": "b", "openset": "broken"}\n')
    assert {k: v.labels for k, v in read_outputs(jsonl, only=["a"]).items()} == {"a": ["x"]}
    # Asking for a clip no row holds gives an empty result, not the "file is empty" error.
    assert read_outputs(csv_path, only=["zzz"]) == {}
    with pytest.raises(InputError, match="clip b: unparsable"):
        read_outputs(npz, only=["b"], strict=True)


def test_only_on_the_real_files_gives_the_same_rows_as_a_full_read():
    wanted = ["sample_00000000", "sample_00000007", "not_a_clip"]
    full = read_outputs(baseline_file("Chat-UniVi"))
    part = read_outputs(baseline_file("Chat-UniVi"), only=wanted)
    assert part == {c: full[c] for c in wanted if c in full} and len(part) == 2
    descriptions = read_outputs(baseline_file("Otter", labels=False), trust_pickle=True, only=wanted)
    assert set(descriptions) == {"sample_00000000", "sample_00000007"}
