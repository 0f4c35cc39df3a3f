"""Inputs as other tools write them (a UTF-8 byte-order mark from Excel), clips named twice, and the
lexicon download pin."""
from __future__ import annotations

import numpy as np
import pytest

from core.errors import InputError
from core.labels import read_clip_names, read_label_csv
from ensemble.commands.fetch_data import DEFAULT_SOURCE, MERTOOLS_COMMIT
from members.readers import read_outputs


def test_csv_with_byte_order_mark_reads_like_one_without(tmp_path):
    plain = tmp_path / "plain.csv"
    marked = tmp_path / "marked.csv"
    text = "name,openset\nsample_00000007,\"['happy', 'relieved']\"\nsample_00000008,[sad]\n"
    plain.write_text(text, encoding="utf-8")
    marked.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert read_label_csv(marked) == read_label_csv(plain) == {
        "sample_00000007": ["happy", "relieved"], "sample_00000008": ["sad"],
    }
    assert read_clip_names(marked) == ["sample_00000007", "sample_00000008"]


def test_jsonl_with_byte_order_mark(tmp_path):
    path = tmp_path / "member.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b'{"name": "a", "labels": ["calm"]}\n')
    assert read_outputs(path)["a"].labels == ["calm"]


def test_lexicon_download_pins_the_full_commit_id():
    assert len(MERTOOLS_COMMIT) == 40 and all(c in "0123456789abcdef" for c in MERTOOLS_COMMIT)
    assert MERTOOLS_COMMIT.startswith("89120b7") and DEFAULT_SOURCE.endswith("/" + MERTOOLS_COMMIT)


def test_a_clip_named_twice_is_an_error_in_every_format(tmp_path):
    """Which of two answers would count depends on row order: refuse, naming file, row and clip."""
    csv_path = tmp_path / "pred.csv"
    csv_path.write_text("name,openset\na,[happy]\nb,[sad]\na,[angry]\n")
    jsonl = tmp_path / "member.jsonl"
    jsonl.write_text('{"name": "a", "labels": ["happy"]}\n{"name": "a", "labels": ["sad"]}\n')
    npz = tmp_path / "member-openset.npz"
    np.savez(npz, filenames=np.array(["a", "b", "a"]), fileitems=np.array(["[happy]", "[sad]", "[angry]"]))
    for path, reader in ((csv_path, read_label_csv), (csv_path, read_clip_names), (jsonl, read_outputs), (npz, read_outputs)):
        with pytest.raises(InputError, match=r"clip a: clip named twice \(first on row"):
            reader(path)


def test_jsonl_name_must_be_a_real_name(tmp_path):
    path = tmp_path / "member.jsonl"
    path.write_text('{"name": null, "labels": ["happy"]}\n')
    with pytest.raises(InputError, match=r'row 1: "name" must be a non-empty string, got null'):
        read_outputs(path)
