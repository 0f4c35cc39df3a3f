"""Test support (not a test module): the ONE definition of the shared data root, paths of the
real member files, a tiny real lexicon folder built in code, and the command line as a subprocess.

The data root is $OVMER_DATA when set, else ../shared/data beside the checkout (the repository's
own default). tests/conftest.py refuses to start when it holds no data.
"""
from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("OVMER_DATA") or REPO.parent / "shared" / "data").resolve()

LEXICON_2025 = DATA / "lexicon" / "mer2025"
LEXICON = str(LEXICON_2025)
GOLD = DATA / "ovmerd" / "gold_dev.csv"
BASELINE_DIR = DATA / "ovmerd" / "members" / "ovmer_baselines"
AFFECTGPT_DIR = DATA / "ovmerd" / "members" / "affectgpt"
MER2024_PRED = DATA / "mer2024_ov" / "predict-openset.csv"
MER2024_GROUPINGS = DATA / "mer2024_ov" / "openset-synonym-dev.zip"

BASELINES = [
    "Chat-UniVi", "LLaMA-VID", "Otter", "Qwen-Audio", "SALMONN",
    "Video-ChatGPT", "Video-LLaVA", "VideoChat", "VideoChat2", "mPLUG-Owl",
]
AFFECTGPT = {
    30: "checkpoint_000030_loss_0.602", 35: "checkpoint_000035_loss_0.597", 40: "checkpoint_000040_loss_0.569",
    45: "checkpoint_000045_loss_0.551", 50: "checkpoint_000050_loss_0.527", 55: "checkpoint_000055_loss_0.493",
    60: "checkpoint_000060_loss_0.480",
}


def data_missing() -> str | None:
    """Why the shared data cannot be used, or None when it is there."""
    if not GOLD.is_file() or not (LEXICON_2025 / "format.csv").is_file():
        return f"test data not found at {DATA}: put shared/ beside the checkout or set OVMER_DATA"
    return None


def baseline_file(model: str, setting: str = "nosubtitle-addsub", labels: bool = True) -> Path:
    """A real OV-MER baseline output: the label npz (labels=True) or the description npz."""
    suffix = "-openset" if labels else ""
    return BASELINE_DIR / model / f"output-reason-7b-{setting}-eng{suffix}.npz"


def description_npz(model: str) -> Path:
    return baseline_file(model, labels=False)


def affectgpt_file(epoch: int, labels: bool = True) -> Path:
    return AFFECTGPT_DIR / f"{AFFECTGPT[epoch]}{'-openset' if labels else ''}.npz"


def run_cli(*args, env: dict | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess:
    """Run `python run_ensemble.py ARGS` as a user would; returns the finished process.

    OVMER_DATA is set to the tests' data root unless `env` says otherwise, so the subprocess
    reads the same data as the test that started it.
    """
    full_env = {**os.environ, "OVMER_DATA": str(DATA), **(env or {})}
    return subprocess.run(
        [sys.executable, str(REPO / "run_ensemble.py"), *map(str, args)],
        cwd=cwd, env=full_env, capture_output=True, text=True, timeout=600,
    )


# ---- a tiny lexicon folder in the official layout -------------------------------------------
# wheel word -> synonyms (one run), and the wheel each wheel word sits in (level1, level2, level3).
TINY_SYNONYMS = {
    "joy": ["happy", "joyful", "glad"],
    "anger": ["angry", "furious", "mad"],
    "fear": ["afraid", "anxious", "nervous"],
}
TINY_WHEEL = [("happy", "joy", "joy"), ("sad", "sad", "sad"), ("mad", "anger", "anger"), ("scared", "fear", "fear")]
TINY_FORMS = {"happy": ["happily", "happiness"], "angry": ["angrily"], "anxious": ["anxiously"], "joy": [],
              "anger": [], "fear": [], "joyful": [], "glad": [], "furious": [], "mad": [], "afraid": [], "nervous": []}


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


def lockbox_clips() -> set[str]:
    """The 50 dev clips of issue 16's lockbox (experiments/lockbox.txt): no test scores them."""
    lines = (REPO / "experiments" / "lockbox.txt").read_text().splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}
