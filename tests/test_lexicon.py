"""The lexicon loader on both shipped lexicon versions and on broken folders."""
from __future__ import annotations

import shutil

import pytest

from core.errors import InputError
from tests.support import DATA
from vocab.lexicon import load_lexicon


def test_wheels_and_mappings(lexicon_2025):
    assert lexicon_2025.map_m1("happy") == "happiness"  # the alphabetically first base word
    assert lexicon_2025.map_m2("happy") == "joy"
    assert lexicon_2025.map_wheel("furious", 1, 1) == "mad"
    assert lexicon_2025.map_wheel("anxiety", 1, 2) == "anxious"
    assert lexicon_2025.map_m1("not-a-word") is None
    assert len(lexicon_2025.metric_names()) == 12


def test_2026_format_fix():
    old, new = load_lexicon(DATA / "lexicon" / "mer2025"), load_lexicon(DATA / "lexicon" / "mer2026")
    assert "fearless" in old.format_mapping["fear"]
    assert "fearless" not in new.format_mapping["fear"]


def test_folder_without_format_csv(tmp_path):
    folder = tmp_path / "lex"
    shutil.copytree(DATA / "lexicon" / "mer2025", folder)
    (folder / "format.csv").unlink()
    with pytest.raises(InputError, match=r"format\.csv: lexicon file missing"):
        load_lexicon(folder)


def test_bad_format_header(tmp_path):
    folder = tmp_path / "lex"
    shutil.copytree(DATA / "lexicon" / "mer2025", folder)
    (folder / "format.csv").write_text("word,forms\nhappy,happy\n")
    with pytest.raises(InputError, match="expected a header 'name,format'"):
        load_lexicon(folder)
