"""Test support (not a test module): tiny random-weight model folders and short videos, built once
per test session under pytest's base temp folder (the builders are idempotent, so both test
modules that import these fixtures share one build)."""
from __future__ import annotations

from pathlib import Path

import pytest

from members import synthetic
from members.media import write_test_video


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    """{'qwen': Qwen2.5-VL, 'internvl': InternVL3-hf, 'remote': a remote-code Qwen2.5-VL subclass}."""
    root = tmp_path_factory.getbasetemp() / "tiny-models"
    return {
        "qwen": synthetic.tiny_qwen2_5_vl(root / "qwen2_5_vl"),
        "internvl": synthetic.tiny_internvl(root / "internvl"),
        "remote": synthetic.tiny_remote_code(root / "remote"),
    }


@pytest.fixture(scope="session")
def videos(tmp_path_factory) -> dict[str, Path]:
    """Three 1-second clips with audio (different seeds) and one without an audio track."""
    root = tmp_path_factory.getbasetemp() / "videos"
    made = {f"clip{i}": root / f"clip{i}.mp4" for i in range(3)}
    for index, (name, path) in enumerate(made.items()):
        if not path.is_file():
            write_test_video(path, seed=index)
    silent = root / "silent.mp4"
    if not silent.is_file():
        write_test_video(silent, audio=False, seed=7)
    return {**made, "silent": silent}
