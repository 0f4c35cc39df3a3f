"""The default config (configs/ovmerd_views.yaml): views grouped by `view_of:`, a shipped judge state
that `run` uses with no gold, and a clear error when the member list no longer matches it."""
from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from core.errors import InputError
from core.labels import read_label_csv
from core.state import read_state
from judge.state import clips_digest
from ensemble.cli import main
from ensemble.config import DEFAULT_CONFIG, load_config
from ensemble.pipeline import member_models, prepare, shared_settings
from tests.support import DATA, REPO


def test_members_name_their_model_and_the_judge_gets_it():
    config = load_config(None, data_root=str(DATA))
    models = shared_settings(config)["models"]
    assert DEFAULT_CONFIG == REPO / "configs" / "ovmerd_views.yaml"
    assert models["Chat-UniVi-sub"] == models["Chat-UniVi-addsub"] == "Chat-UniVi"
    assert {m for n, m in models.items() if n.startswith("AffectGPT")} == {"AffectGPT"}
    assert len(set(models.values())) == 11 and len(models) == 32
    assert member_models([{"name": "x"}]) == {"x": "x"}  # default: a model of its own
    with pytest.raises(InputError, match=r"member #1 \('x'\): view_of must be a non-empty text"):
        member_models([{"name": "x", "view_of": 3}])


def test_shipped_state_matches_the_config_and_is_found_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config(None, data_root=str(DATA))
    state = read_state(config.judge.state, "judge.category")
    resolved = OmegaConf.to_container(config, resolve=True)
    assert state["view_members"] == sorted(m["name"] for m in resolved["members"])
    models = {m["name"]: m["view_of"] for m in resolved["members"]}
    assert state["models_of_views"] == {m: models[m] for m in state["models_of_views"]}
    for key, value in config.judge.items():
        if key not in ("type", "state"):
            assert state["params"][key] == value, key
    # Fitted on the 200 clips of gold_dev.csv (what `evaluate --state` compares against).
    gold = read_label_csv(DATA / "ovmerd" / "gold_dev.csv")
    assert state["fitted_clips"] == clips_digest(gold)


def test_main_command_writes_the_tuned_submission_without_gold(tmp_path, monkeypatch, capsys):
    """`run --out` with the default config, from another directory: every clip gets an answer
    from the shipped state (no gold is read: the gold file is not among the inputs)."""
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "submission.csv"
    assert main(["run", "--out", str(out), "--data-root", str(DATA)]) == 0
    answers = read_label_csv(out)
    assert len(answers) == 532
    # Empty only where no member named anything (samplenew3_00038791: all 7 AffectGPT checkpoints gave []).
    assert [c for c, words in answers.items() if not words] == ["samplenew3_00038791"]
    # A judged answer, not the union of what the members said: label sets gold could have
    # (gold_dev.csv: at most 9 labels, 3.4 on average), far fewer than the members' word groups.
    lengths = sorted(map(len, answers.values()))
    ballots = prepare(load_config(None, data_root=str(DATA))).ballots
    union = sum(len(b.votes) for b in ballots) / len(ballots)
    mean = sum(lengths) / len(lengths)
    assert lengths[-1] <= 10 and 3 <= mean <= 4.5 and mean < union / 3


def test_a_changed_member_list_asks_for_tune(tmp_path, capsys):
    """The default config less one member, with the shipped state: one error line, no output."""
    lines = DEFAULT_CONFIG.read_text().splitlines()
    lines = [line for line in lines if "name: AffectGPT-e60" not in line]
    lines = [line.replace("state: ovmerd_views.judge.json", f"state: {DEFAULT_CONFIG.parent / 'ovmerd_views.judge.json'}") for line in lines]
    config = tmp_path / "fewer.yaml"
    config.write_text("\n".join(lines) + "\n")
    out = tmp_path / "o.csv"
    assert main(["run", "--config", str(config), "--out", str(out), "--data-root", str(DATA)]) == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("error: ")
    assert "ovmerd_views.judge.json: view_members: fitted on 32 members" in last and "the config has 31" in last
    assert "run `tune` again" in last
    assert not out.exists()


@pytest.mark.slow
def test_tune_on_gold_reproduces_the_shipped_state(tmp_path):
    """`tune` of the default config on gold_dev.csv gives the shipped state (same views kept,
    same threshold, same coefficients to 1e-9): the shipped file is what the README says it is."""
    out, state = tmp_path / "tuned.yaml", tmp_path / "state.json"
    argv = ["tune", "--gold", str(DATA / "ovmerd" / "gold_dev.csv"), "--out", str(out), "--state", str(state),
            "--data-root", str(DATA), "--no-loo", "--no-cache", "--jobs", "1"]
    assert main(argv) == 0
    fresh = read_state(state, "judge.category")
    shipped = read_state(DEFAULT_CONFIG.parent / "ovmerd_views.judge.json", "judge.category")
    assert fresh["models_of_views"] == shipped["models_of_views"] and fresh["view_members"] == shipped["view_members"]
    assert (fresh["threshold"], fresh["gamma"]) == pytest.approx((shipped["threshold"], shipped["gamma"]))
    assert fresh["size_prior"] == pytest.approx(shipped["size_prior"]) and fresh["fitted_clips"] == shipped["fitted_clips"]
    assert fresh["model"]["coef"] == pytest.approx(shipped["model"]["coef"], abs=1e-9)
