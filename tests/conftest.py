"""Shared fixtures: the real data in ../shared/data (or $OVMER_DATA). Missing data fails loudly."""
from __future__ import annotations

from pathlib import Path

import pytest

from helpers import DATA

if not (DATA / "ovmerd" / "gold_dev.csv").is_file():
    raise pytest.UsageError(f"test data not found at {DATA}: put shared/ beside the checkout or set OVMER_DATA")


@pytest.fixture(scope="session")
def data() -> Path:
    return DATA


@pytest.fixture(scope="session")
def gold_path() -> Path:
    return DATA / "ovmerd" / "gold_dev.csv"


@pytest.fixture(scope="session")
def lexicon_2025():
    from vocab.lexicon import load_lexicon

    return load_lexicon(DATA / "lexicon" / "mer2025")
