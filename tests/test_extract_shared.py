"""Paths of the shared data used by the extraction tests (fails loudly when it is missing)."""
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
LEXICON = str(DATA / "lexicon" / "mer2025")
GOLD = DATA / "ovmerd" / "gold_dev.csv"
BASELINES = DATA / "ovmerd" / "members" / "ovmer_baselines"


def description_npz(model: str) -> Path:
    return BASELINES / model / "output-reason-7b-nosubtitle-addsub-eng.npz"


if not (DATA / "lexicon" / "mer2025" / "format.csv").is_file():
    raise RuntimeError(f"shared data not found at {DATA}: the extraction tests need ../shared/data")


def test_lexicon_forms_index_multi_word_and_curly_forms():
    """The form index that every extractor searches: multi-word and curly-apostrophe forms are found."""
    from members.extract.candidates import form_index
    from vocab.lexicon import load_lexicon

    index = form_index(frozenset(load_lexicon(LEXICON).format_mapping))
    assert index.forms[("at", "ease")] == "at ease"
    assert index.forms[("don't", "care")] == "don\u2019t care"
    assert index.longest >= 4
