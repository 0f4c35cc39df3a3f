"""Test support (not a test module): tiny random-weight model folders and short videos, built under
a folder that all test modules of a session share (the builders are idempotent, so the modules that
declare fixtures over these functions share one build)."""
from __future__ import annotations

from pathlib import Path

from testkit import models as tiny_models
from testkit.media import write_test_video


def build_tiny_models(root: Path) -> dict[str, Path]:
    """{'qwen': Qwen2.5-VL, 'internvl': InternVL3-hf, 'remote': a remote-code Qwen2.5-VL subclass}."""
    root = Path(root) / "tiny-models"
    return {
        "qwen": tiny_models.tiny_qwen2_5_vl(root / "qwen2_5_vl"),
        "internvl": tiny_models.tiny_internvl(root / "internvl"),
        "remote": tiny_models.tiny_remote_code(root / "remote"),
    }


def write_videos(root: Path) -> dict[str, Path]:
    """Three 1-second clips with audio (different seeds) and one without an audio track."""
    root = Path(root) / "videos"
    made = {f"clip{i}": root / f"clip{i}.mp4" for i in range(3)}
    for index, path in enumerate(made.values()):
        if not path.is_file():
            write_test_video(path, seed=index)
    silent = root / "silent.mp4"
    if not silent.is_file():
        write_test_video(silent, audio=False, seed=7)
    return {**made, "silent": silent}
