"""repeated_cv --exclude: the lockbox clips leave the gold before folds are drawn."""
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _module():
    spec = importlib.util.spec_from_file_location("repeated_cv", ROOT / "experiments" / "repeated_cv.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_lockbox_leaves_150_design_clips(gold):
    module = _module()
    kept = module.exclude_clips(gold, str(ROOT / "experiments" / "lockbox.txt"))
    lockbox = module.read_clip_list(ROOT / "experiments" / "lockbox.txt")
    assert len(lockbox) == 50 and len(gold) == 200
    assert len(kept) == 150 and not (set(kept) & lockbox)


def test_unknown_clip_is_an_error(tmp_path):
    module = _module()
    listed = tmp_path / "box.txt"
    listed.write_text("# comment\nclip_a  # kept out\n\nclip_x\n")
    assert module.read_clip_list(listed) == {"clip_a", "clip_x"}
    with pytest.raises(SystemExit, match="clip_x is not in the gold file"):
        module.exclude_clips({"clip_a": ["happy"], "clip_b": ["sad"]}, str(listed))
