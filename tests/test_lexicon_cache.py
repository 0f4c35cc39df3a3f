"""The parsed lexicon is cached as JSON keyed by the files' content: the same tables come back,
a changed file is read again, and a damaged cache file is ignored (real lexicon; tiny lexicon in code)."""
from __future__ import annotations

from tests.support import LEXICON_2025, write_tiny_lexicon
from vocab import lexicon as lexicon_module


def fresh(folder):
    lexicon_module._load_lexicon.cache_clear()
    return lexicon_module.load_lexicon(folder)


def tables(lexicon):
    return lexicon.format_mapping, lexicon.raw_mapping, lexicon.wheel_maps


def test_cached_tables_equal_parsed_tables(tmp_path, monkeypatch):
    monkeypatch.setenv("OVMER_CACHE", str(tmp_path / "cache"))
    parsed = lexicon_module._parse_lexicon(LEXICON_2025)
    first = fresh(LEXICON_2025)  # parses and writes the cache
    assert len(list((tmp_path / "cache" / "lexicon").glob("*.json"))) == 1
    second = fresh(LEXICON_2025)  # from the cache
    assert tables(first) == tables(second) == tables(parsed)
    assert second.map_wheel("happy", 1, 1) == parsed.map_wheel("happy", 1, 1)


def test_changed_file_or_damaged_cache_reads_the_files_again(tmp_path, monkeypatch):
    monkeypatch.setenv("OVMER_CACHE", str(tmp_path / "cache"))
    folder = write_tiny_lexicon(tmp_path / "lexicon")
    assert fresh(folder).map_m1("happily") == "happy"
    with open(folder / "format.csv", "a", encoding="utf-8") as handle:
        handle.write("sad,sadly\n")
    assert fresh(folder).map_m1("sadly") == "sad"
    for cache in (tmp_path / "cache" / "lexicon").glob("*.json"):
        cache.write_text('{"format_mapping": 5}')
    assert fresh(folder).map_m1("sadly") == "sad"
    lexicon_module._load_lexicon.cache_clear()
