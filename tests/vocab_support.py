"""Shared helpers for the vocab tests: the data root and a tiny real lexicon folder built in code."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
LEXICON_2025 = DATA / "lexicon" / "mer2025"

# wheel word -> synonyms (one run), and the wheel each wheel word sits in (level1, level2, level3).
TINY_SYNONYMS = {
    "joy": ["happy", "joyful", "glad"],
    "anger": ["angry", "furious", "mad"],
    "fear": ["afraid", "anxious", "nervous"],
}
TINY_WHEEL = [("happy", "joy", "joy"), ("sad", "sad", "sad"), ("mad", "anger", "anger"), ("scared", "fear", "fear")]
TINY_FORMS = {"happy": ["happily", "happiness"], "angry": ["angrily"], "anxious": ["anxiously"], "joy": [],
              "anger": [], "fear": [], "joyful": [], "glad": [], "furious": [], "mad": [], "afraid": [], "nervous": []}


def require_data() -> None:
    if not DATA.is_dir():
        pytest.fail(f"shared data folder {DATA} is missing (the vocab tests read the real lexicon there)")


def write_tiny_lexicon(folder: Path) -> Path:
    """format.csv, synonym.xlsx and wheel1..5.xlsx in the official layout, a dozen words."""
    import openpyxl

    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "format.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "format"])
        for base, forms in TINY_FORMS.items():
            writer.writerow([base, ",".join(forms)])
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["word", "synonyms"] * 8)
    for word, synonyms in TINY_SYNONYMS.items():
        sheet.append([word, ", ".join(synonyms)] + ["", ""] * 7)
    book.save(folder / "synonym.xlsx")
    for k in range(1, 6):
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.append(["level1", "level2", "level3"])
        for row in TINY_WHEEL:
            sheet.append(list(row))
        book.save(folder / f"wheel{k}.xlsx")
    return folder
