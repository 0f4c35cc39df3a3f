"""Config loading: data-root precedence, overrides, interpolation kept for saving."""
from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from core.errors import InputError
from ensemble.config import load_config, save_config
from tests.support import DATA, REPO


def test_data_root_precedence(monkeypatch, tmp_path):
    monkeypatch.delenv("OVMER_DATA", raising=False)
    other = tmp_path / "other"
    other.mkdir()
    assert load_config(None, data_root=str(DATA)).data_root == str(DATA)
    monkeypatch.setenv("OVMER_DATA", str(other))
    assert load_config(None).data_root == str(other)
    assert load_config(None, data_root=str(DATA)).data_root == str(DATA)  # the flag beats the variable
    assert load_config(None, [f"data_root={DATA}"]).data_root == str(DATA)


def test_members_follow_the_data_root(monkeypatch):
    monkeypatch.setenv("OVMER_DATA", str(DATA))
    config = load_config(REPO / "configs" / "ovmerd.yaml", ["judge.k=5"])
    assert config.judge.k == 5
    assert config.members[0].path.startswith(str(DATA))


def test_saved_config_keeps_interpolations(tmp_path):
    config = load_config(None, data_root=str(DATA))
    path = tmp_path / "c.yaml"
    save_config(config, path)
    raw = OmegaConf.load(path)
    assert OmegaConf.to_container(raw)["lexicon"] == "${data_root}/lexicon/mer2025"


def test_unknown_top_level_key(tmp_path):
    with pytest.raises(InputError, match="override 'nonsense_key=1': Key 'nonsense_key' not in"):
        load_config(None, ["nonsense_key=1"], data_root=str(DATA))


def test_overrides_reach_list_items_and_parse_types():
    config = load_config(None, ["members.1.path=/x.npz", "judge.k=4", "tune.grid.k=[1,2]"], data_root=str(DATA))
    assert config.members[1].path == "/x.npz"
    assert config.judge.k == 4
    assert list(config.tune.grid.k) == [1, 2]


def test_mapping_override_replaces_the_node():
    config = load_config(None, ["tune.grid={kofn: {k: [2, 3]}}"], data_root=str(DATA))
    assert OmegaConf.to_container(config.tune.grid) == {"kofn": {"k": [2, 3]}}
