"""Inputs as other tools write them: a UTF-8 byte-order mark (Excel's CSV export) before the header."""
from __future__ import annotations

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
