"""vocab.wordnet: the nltk WordNet folder built from Debian's files, with no download."""
from __future__ import annotations

import pytest

from core.errors import InputError
from vocab.wordnet import DEBIAN_WORDNET, LEXNAMES, load_wordnet, main, prepare_wordnet


def test_lexnames_are_the_45_wordnet_files_in_order():
    assert len(LEXNAMES) == 45
    assert LEXNAMES[0] == ("adj.all", 3) and LEXNAMES[12] == ("noun.feeling", 1)
    assert LEXNAMES[37] == ("verb.emotion", 2) and LEXNAMES[44] == ("adj.ppl", 3)


def test_prepare_copies_files_and_reader_works(tmp_path):
    target = prepare_wordnet(tmp_path)
    assert target == tmp_path / "nltk_data" / "corpora" / "wordnet"
    lines = (target / "lexnames").read_text().splitlines()
    assert [int(line.split()[0]) for line in lines] == list(range(45))
    assert not (target / "data.noun").is_symlink()
    assert (target / "data.noun").stat().st_size == (DEBIAN_WORDNET / "data.noun").stat().st_size
    # Idempotent: a second call changes nothing and still succeeds.
    assert prepare_wordnet(tmp_path) == target
    reader = load_wordnet(str(tmp_path))
    assert "happiness.n.01" in [s.name() for s in reader.synsets("happiness")]
    assert [s.lexname() for s in reader.synsets("happiness")] == ["noun.state", "noun.feeling"]
    assert reader.synset("dog.n.01").lexname() == "noun.animal"
    assert reader.morphy("worries", "n") == "worry"


def test_missing_debian_wordnet_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(InputError, match="apt-get install wordnet-base wordnet-sense-index"):
        prepare_wordnet(tmp_path / "cache", source=tmp_path / "nowhere")
    assert main(["--prepare", "--cache-dir", str(tmp_path / "cache"), "--source", str(tmp_path / "nowhere")]) == 1
    assert "apt-get install" in capsys.readouterr().err
