"""Shared fixtures over the real data (tests/support.py defines where it is). Missing data fails loudly."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import DATA, GOLD, LEXICON, data_missing

if data_missing():
    raise pytest.UsageError(data_missing())


@pytest.fixture(scope="session")
def data() -> Path:
    """The shared data root ($OVMER_DATA, else ../shared/data)."""
    return DATA


@pytest.fixture(scope="session")
def gold_path() -> Path:
    return GOLD


@pytest.fixture(scope="session")
def gold(gold_path) -> dict[str, list[str]]:
    """The 200 labelled OV-MERD dev clips."""
    from core.labels import read_label_csv

    return read_label_csv(gold_path)


@pytest.fixture(scope="session")
def lexicon_2025():
    from vocab.lexicon import load_lexicon

    return load_lexicon(LEXICON)
