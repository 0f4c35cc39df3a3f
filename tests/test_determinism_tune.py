"""A tuned judge's state file is byte-identical whatever the hash seed.

Sums over sets of member names (coarse agreement, the category judge's reliable share and
first position) once followed the set's order, which follows PYTHONHASHSEED, and the fitted
coefficients differed in the last bits. Each case runs `tune` as a user would, in two
subprocesses with different hash seeds, on real member files and a slice of the real gold.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from core.labels import read_label_csv, write_label_csv
from tests.support import DATA, GOLD, run_cli

pytestmark = pytest.mark.slow

BASE = "${data_root}/ovmerd/members/ovmer_baselines"
MEMBERS = [
    {"name": name, "path": f"{BASE}/{name}/output-reason-7b-nosubtitle-addsub-eng-openset.npz"}
    for name in ("Video-ChatGPT", "mPLUG-Owl", "Chat-UniVi", "Qwen-Audio")
] + [{"name": "AffectGPT-e30", "path": "${data_root}/ovmerd/members/affectgpt/checkpoint_000030_loss_0.602-openset.npz"}]

# One candidate each, so the state written is that judge's.
GRIDS = {
    "category_l1_f": {"category": {"C": [0.3], "mappings": ["l1"], "utility": ["expected_f"]}},
    "category_all_pr": {"category": {"mappings": ["all"], "utility": ["expected_pr"]}},
}


def tune_state(tmp: Path, grid: dict, seed: str) -> bytes:
    gold = read_label_csv(GOLD)
    gold_path = tmp / "gold.csv"
    write_label_csv(gold_path, {c: gold[c] for c in sorted(gold)[:60]})
    config = {
        "data_root": str(DATA),
        "members": MEMBERS,
        "judge": {"type": "kofn", "k": 2},
        "tune": {"folds": 3, "seed": 0, "objective": "ew_l1_f", "n_jobs": 1, "grid": grid},
    }
    config_path = tmp / "config.yaml"
    config_path.write_text(OmegaConf.to_yaml(OmegaConf.create(config)))
    out = tmp / f"tuned-{seed}.yaml"
    done = run_cli("tune", "--config", config_path, "--gold", gold_path, "--out", out, "--no-cache", "--no-loo",
                   env={"PYTHONHASHSEED": seed})
    assert done.returncode == 0, done.stderr[-2000:]
    return Path(OmegaConf.load(out).judge.state).read_bytes()


@pytest.mark.parametrize("judge", sorted(GRIDS))
def test_tune_state_is_identical_across_hash_seeds(tmp_path, judge):
    first = tune_state(tmp_path, GRIDS[judge], "0")
    second = tune_state(tmp_path, GRIDS[judge], "1")
    assert first == second
