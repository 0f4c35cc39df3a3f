"""`convert`: upstream pickled description npz -> JSONL, read by a data-only unpickler (no code
runs, even for a hostile file); a converted config runs like the original with trust, and no
shipped config sets trust_pickle."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import yaml

from core.errors import InputError
from core.safepickle import load_npz
from ensemble.cli import main
from tests.support import DATA, REPO, baseline_file, description_npz


class Poison:
    """Pickled, this calls os.system(touch MARKER) when loaded."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def poisoned_npz(tmp_path: Path) -> tuple[Path, Path]:
    marker = tmp_path / "ran"
    path = tmp_path / "evil.npz"
    holder = np.empty((), dtype=object)
    holder[()] = {"clip": Poison(marker)}
    np.savez(path, name2reason=holder)
    return path, marker


def trusted_reference(path) -> dict:
    """What numpy's own (code-running) loader reads: only for the real, trusted shared files."""
    with np.load(path, allow_pickle=True) as data:
        return {str(k): str(v) for k, v in data["name2reason"].item().items()}


def test_data_only_unpickler_reads_real_description_files_exactly():
    for path in (description_npz("Otter"), description_npz("VideoChat2")):
        mine = load_npz(path)["name2reason"].item()
        assert {str(k): v for k, v in mine.items()} == trusted_reference(path)
    labels = load_npz(baseline_file("Otter"))
    with np.load(baseline_file("Otter")) as reference:
        assert all((labels[k] == reference[k]).all() for k in reference.files)


def test_a_hostile_pickle_is_refused_and_runs_nothing(tmp_path, capsys):
    path, marker = poisoned_npz(tmp_path)
    with pytest.raises(InputError, match=r"evil\.npz: array 'name2reason': pickle refers to (posix|os)\.system.*refused"):
        load_npz(path)
    out = tmp_path / "out.jsonl"
    assert main(["convert", "--input", str(path), "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "refused" in err[0]
    assert not marker.exists() and not out.exists()


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04garbage", b"not a zip at all"])
def test_corrupt_npz_is_one_error(tmp_path, capsys, content):
    path = tmp_path / "bad.npz"
    path.write_bytes(content)
    assert main(["convert", "--input", str(path), "--out", str(tmp_path / "o.jsonl")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and "bad.npz" in err[-1]


def test_convert_one_file_writes_sorted_jsonl_that_reads_without_trust(tmp_path):
    out = tmp_path / "otter.jsonl"
    assert main(["convert", "--input", str(description_npz("Otter")), "--out", str(out)]) == 0
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["name"] for r in records] == sorted(r["name"] for r in records)
    assert {r["name"]: r["description"] for r in records} == trusted_reference(description_npz("Otter"))
    labels_out = tmp_path / "labels.jsonl"
    assert main(["convert", "--input", str(baseline_file("Otter")), "--out", str(labels_out)]) == 0
    first = json.loads(labels_out.read_text(encoding="utf-8").splitlines()[0])
    assert set(first) == {"name", "labels"} and isinstance(first["labels"], list)


def test_converted_config_runs_like_the_original_with_trust(tmp_path):
    members = (
        "members=["
        f"{{name: Otter, type: described, path: {description_npz('Otter')}, extractor: {{type: rules}}}},"
        f"{{name: VideoChat2, type: described, path: {description_npz('VideoChat2')}, extractor: {{type: rules}}}},"
        f"{{name: Otter-labels, path: {baseline_file('Otter')}}}]"
    )
    config = tmp_path / "cfg.yaml"
    config.write_text(f"data_root: {DATA}\njudge: {{type: kofn, k: 2}}\n", encoding="utf-8")
    converted = tmp_path / "converted.yaml"
    assert main(["convert", "--config", str(config), "--out", str(converted), members]) == 0
    written = yaml.safe_load(converted.read_text(encoding="utf-8"))
    paths = [m["path"] for m in written["members"]]
    assert paths[0].endswith("converted/Otter.jsonl") and paths[1].endswith("converted/VideoChat2.jsonl")
    assert paths[2] == str(baseline_file("Otter")) and not any("trust_pickle" in m for m in written["members"])
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    assert main(["run", "--config", str(converted), "--out", str(a)]) == 0
    trusted = ["members.0.trust_pickle=true", "members.1.trust_pickle=true"]
    assert main(["run", "--config", str(config), "--out", str(b), members, *trusted]) == 0
    assert a.read_bytes() == b.read_bytes()


def test_convert_config_without_description_members_is_one_error(tmp_path, capsys):
    assert main(["convert", "--config", str(REPO / "configs" / "ovmerd.yaml"), "--out", str(tmp_path / "c.yaml")]) == 1
    assert "nothing to convert" in capsys.readouterr().err


def _sets_trust(node) -> bool:
    if isinstance(node, dict):
        return node.get("trust_pickle") is True or any(_sets_trust(v) for v in node.values())
    if isinstance(node, list):
        return any(_sets_trust(v) for v in node)
    return False


def test_no_shipped_config_trusts_pickles():
    shipped = sorted((REPO / "configs").glob("*.yaml"))
    assert shipped
    for path in shipped:
        assert not _sets_trust(yaml.safe_load(path.read_text(encoding="utf-8"))), path


def test_trust_pickles_grants_trust_to_members_that_take_it_for_one_command():
    from ensemble.config import load_config, trust_pickles

    members = (
        f"members=[{{name: d, type: described, path: {description_npz('Otter')}}},"
        f"{{name: c, path: {baseline_file('Otter')}}}]"
    )
    config = load_config(None, [members], data_root=str(DATA))
    assert trust_pickles(config) == ["d", "c"]
    assert config.members[0].trust_pickle is True and config.members[1].trust_pickle is True


def test_tune_trust_pickle_flag_applies_to_that_command_only(tmp_path, capsys):
    from tests.test_tune_command import write_setup

    members = [
        {"name": "Otter", "type": "described", "path": str(description_npz("Otter"))},
        {"name": "VideoChat2", "type": "described", "path": str(description_npz("VideoChat2"))},
    ]
    config, gold = write_setup(tmp_path, members, {"kofn": {"k": [1, 2]}})
    out = tmp_path / "tuned.yaml"
    argv = ["tune", "--config", str(config), "--gold", str(gold), "--out", str(out), "--no-cache", "--no-loo"]
    assert main(argv) == 1
    assert "trust_pickle" in capsys.readouterr().err.strip().splitlines()[-1] and not out.exists()
    assert main([*argv, "--trust-pickle"]) == 0
    assert not _sets_trust(yaml.safe_load(out.read_text(encoding="utf-8")))
