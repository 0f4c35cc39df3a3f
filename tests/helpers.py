"""Paths to the real shared data and a way to run the command line as a user would."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("OVMER_DATA") or REPO.parent / "shared" / "data")

BASELINES = [
    "Chat-UniVi", "LLaMA-VID", "Otter", "Qwen-Audio", "SALMONN",
    "Video-ChatGPT", "Video-LLaVA", "VideoChat", "VideoChat2", "mPLUG-Owl",
]
AFFECTGPT = {
    30: "checkpoint_000030_loss_0.602", 35: "checkpoint_000035_loss_0.597", 40: "checkpoint_000040_loss_0.569",
    45: "checkpoint_000045_loss_0.551", 50: "checkpoint_000050_loss_0.527", 55: "checkpoint_000055_loss_0.493",
    60: "checkpoint_000060_loss_0.480",
}


def baseline_file(model: str, setting: str = "nosubtitle-addsub", labels: bool = True) -> Path:
    suffix = "-openset" if labels else ""
    return DATA / "ovmerd" / "members" / "ovmer_baselines" / model / f"output-reason-7b-{setting}-eng{suffix}.npz"


def affectgpt_file(epoch: int, labels: bool = True) -> Path:
    return DATA / "ovmerd" / "members" / "affectgpt" / f"{AFFECTGPT[epoch]}{'-openset' if labels else ''}.npz"


def run_cli(*args, env: dict | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess:
    """Run `python run_ensemble.py ARGS` as a user would; returns the finished process."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, str(REPO / "run_ensemble.py"), *map(str, args)],
        cwd=cwd, env=full_env, capture_output=True, text=True, timeout=600,
    )
