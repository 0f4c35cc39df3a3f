"""`tune` then `run` end to end through the CLI (in process), on real member files and a slice of the real gold.

Every test here runs a full nested cross-validation: all are marked slow."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from core.labels import read_label_csv, write_label_csv
from ensemble.cli import main as cli
from members.readers import read_label_sets
from tests.support import DATA, GOLD, affectgpt_file, baseline_file

pytestmark = pytest.mark.slow

BASE = "${data_root}/ovmerd/members/ovmer_baselines"

N_GOLD = 45


def write_setup(tmp: Path, members: list[dict], grid: dict, judge: dict | None = None) -> tuple[Path, Path]:
    gold = read_label_csv(GOLD)
    clips = sorted(gold)[:N_GOLD]
    gold_path = tmp / "gold.csv"
    write_label_csv(gold_path, {c: gold[c] for c in clips})
    config = {
        "data_root": str(DATA),
        "members": members,
        "judge": judge or {"type": "kofn", "k": 2},
        "tune": {"folds": 3, "seed": 0, "objective": "ew_l1_f", "n_jobs": 1, "grid": grid},
        "cache_dir": str(tmp / "cache"),
    }
    path = tmp / "config.yaml"
    path.write_text(OmegaConf.to_yaml(OmegaConf.create(config)))
    return path, gold_path


def baseline(name: str) -> dict:
    return {"name": name, "path": f"{BASE}/{name}/output-reason-7b-nosubtitle-addsub-eng-openset.npz"}


AGPT = {"name": "AffectGPT-e30", "path": "${data_root}/ovmerd/members/affectgpt/checkpoint_000030_loss_0.602-openset.npz"}
GRID = {"kofn": {"k": [1, 2, 3]}, "category": {"mappings": ["l1", "all"]}}


def test_tune_writes_config_state_report_and_png_and_run_reproduces(tmp_path, capsys):
    config, gold = write_setup(tmp_path, [baseline("Video-ChatGPT"), baseline("mPLUG-Owl"), AGPT], GRID)
    out, report = tmp_path / "tuned.yaml", tmp_path / "report.json"
    assert cli(["tune", "--config", str(config), "--gold", str(gold), "--out", str(out), "--report", str(report)]) == 0
    data = json.loads(report.read_text())
    assert set(data["members"]) == {"Video-ChatGPT", "mPLUG-Owl", "AffectGPT-e30"}
    assert len(data["ensemble"]["fold_scores"]) == 3 and data["n_candidates"] == 5
    # The results table on stdout: nested-CV means with their spread, and label counts beside gold's.
    printed = capsys.readouterr().out
    cv = data["ensemble"]["cv"]["ew_l1_f"]
    assert "nested 3-fold CV on 45 gold clips" in printed and f"EW-L1 F {cv['mean']:5.2f} ± {cv['std']:4.2f}" in printed
    counts = data["label_counts"]
    assert counts["gold"]["histogram"] == [sum(len(w) == n for w in read_label_csv(gold).values())
                                           for n in range(counts["gold"]["max"] + 1)]
    assert sum(counts["held_out"]["histogram"]) == 45 and f"max {counts['held_out']['max']}" in printed
    for row in [data["ensemble"]["cv"], *data["members"].values()]:
        assert {"ew_l1_f", "ew_l1_p", "ew_l1_r", "m_avg"} <= set(row) and "std" in row["ew_l1_f"]
    assert set(data["leave_one_out"]) == set(data["members"])
    assert data["versus_best_member"]["member"] == "AffectGPT-e30" and len(data["versus_best_member"]["ew_l1_f"]) == 3
    assert (tmp_path / "report.png").read_bytes()[:4] == b"\x89PNG"
    assert data["pr_curve"]["points"]
    tuned = OmegaConf.load(out)
    assert tuned.judge.type == data["ensemble"]["final_params"]["type"]
    if tuned.judge.type != "kofn":
        assert Path(tuned.judge.state).is_file()
    submission = tmp_path / "sub.csv"
    assert cli(["run", "--config", str(out), "--out", str(submission)]) == 0
    files = (baseline_file("Video-ChatGPT"), baseline_file("mPLUG-Owl"), affectgpt_file(30))
    covered = set().union(*(read_label_sets(path) for path in files))
    assert set(read_label_csv(submission)) == covered  # every clip a member covers, not only the gold ones
    # Re-tuning reuses the cached fits and chooses the same.
    assert cli(["tune", "--config", str(config), "--gold", str(gold), "--out", str(tmp_path / "again.yaml"), "--no-loo"]) == 0
    assert OmegaConf.load(tmp_path / "again.yaml").judge.type == tuned.judge.type


def test_run_with_tuned_learned_judge_needs_no_gold(tmp_path):
    config, gold = write_setup(tmp_path, [baseline("Video-ChatGPT"), AGPT], {"category": {"C": [0.1]}})
    out = tmp_path / "tuned.yaml"
    assert cli(["tune", "--config", str(config), "--gold", str(gold), "--out", str(out), "--no-loo"]) == 0
    tuned = OmegaConf.load(out)
    # The tuned judge names no lexicon: the factory hands the run's `lexicon` down at `run` time.
    assert tuned.judge.type == "category" and "lexicon" not in tuned.judge
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    assert cli(["run", "--config", str(out), "--out", str(first)]) == 0
    assert cli(["run", "--config", str(out), "--out", str(second)]) == 0
    assert first.read_text() == second.read_text()


def test_missing_clips_and_empty_member_are_counted(tmp_path):
    agpt = read_label_sets(affectgpt_file(35))
    gold = sorted(read_label_csv(GOLD))[:N_GOLD]
    partial = tmp_path / "partial.csv"
    write_label_csv(partial, {c: agpt[c] for c in gold[:30]})
    empty = tmp_path / "empty.csv"
    write_label_csv(empty, {c: [] for c in agpt})
    members = [baseline("Video-ChatGPT"), AGPT, {"name": "partial", "path": str(partial)}, {"name": "mute", "path": str(empty)}]
    config, gold_path = write_setup(tmp_path, members, {"category": {"C": [0.3]}})
    report = tmp_path / "r.json"
    assert cli(["tune", "--config", str(config), "--gold", str(gold_path), "--out", str(tmp_path / "t.yaml"),
                "--report", str(report), "--no-cache"]) == 0
    data = json.loads(report.read_text())
    assert data["coverage"]["gold_clips_lacking"]["partial"] == N_GOLD - 30
    assert data["coverage"]["members_without_any_label"] == ["mute"]
    assert data["ensemble"]["final_judge"]["coefficients"]["vote:mute"] == 0.0
    assert data["leave_one_out"]["mute"]["ew_l1_f_contribution"] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize(
    "case, message",
    [
        ("twice", "named twice"),
        ("no_shared_clips", "shares no clip"),
        ("negative_gamma", "gamma must be a number >= 0"),
        ("bad_objective", "unknown objective"),
        ("mer2024_without_groupings", "needs a synonym grouper"),
        ("k_above_members", "k=3 but only 2 members vote"),
    ],
)
def test_bad_input_is_one_clear_error_and_no_output(tmp_path, capsys, case, message):
    members = [baseline("Video-ChatGPT"), AGPT]
    judge, extra = None, []
    grid = {"kofn": {"k": [1, 2]}}
    if case == "twice":
        members.append(dict(AGPT))
    if case == "negative_gamma":
        grid = {"category": {"gamma": [-1.0]}}
    if case == "k_above_members":
        grid = {"kofn": {"k": [1, 3]}}
    if case == "bad_objective":
        extra = ["--objective", "accuracy"]
    if case == "mer2024_without_groupings":
        extra = ["--objective", "mer2024_avg"]
    config, gold = write_setup(tmp_path, members, grid, judge)
    if case == "no_shared_clips":
        write_label_csv(gold, {"not_a_clip_1": ["happy"], "not_a_clip_2": ["sad"]})
    out = tmp_path / "tuned.yaml"
    assert cli(["tune", "--config", str(config), "--gold", str(gold), "--out", str(out), "--no-cache", *extra]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and message in err[-1]
    assert not out.exists()


def test_precision_floor_objective_is_met_on_training_folds(tmp_path):
    config, gold = write_setup(tmp_path, [baseline("Video-ChatGPT"), baseline("mPLUG-Owl"), AGPT], {"kofn": {"k": [1, 2, 3]}})
    report = tmp_path / "r.json"
    assert cli(["tune", "--config", str(config), "--gold", str(gold), "--out", str(tmp_path / "t.yaml"), "--report", str(report),
                "--objective", "recall@precision>=60", "--no-loo", "--no-cache"]) == 0
    data = json.loads(report.read_text())
    assert data["objective"] == "recall@precision>=60"
    # k = 1 (the union) has the best recall but misses the floor, so the choice is a stricter k.
    assert data["ensemble"]["final_params"]["k"] > 1
    assert OmegaConf.load(tmp_path / "t.yaml").tune.objective == "recall@precision>=60"


def test_mer2024_objective_with_the_local_grouper(tmp_path):
    """`tune --objective mer2024_avg --grouper local`: no groupings zip needed; the report scores
    every fold with the local grouper's MER2024 Avg and chooses by it."""
    config, gold = write_setup(tmp_path, [baseline("Video-ChatGPT"), baseline("mPLUG-Owl"), AGPT], {"kofn": {"k": [1, 2]}})
    report = tmp_path / "r.json"
    assert cli(["tune", "--config", str(config), "--gold", str(gold), "--out", str(tmp_path / "t.yaml"), "--report", str(report),
                "--objective", "mer2024_avg", "--grouper", "local", "--no-loo", "--no-cache"]) == 0
    data = json.loads(report.read_text())
    assert data["objective"] == "mer2024_avg"
    text = json.dumps(data["ensemble"])
    assert "mer2024_avg" in text
    assert OmegaConf.load(tmp_path / "t.yaml").tune.objective == "mer2024_avg"
