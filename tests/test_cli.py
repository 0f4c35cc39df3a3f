"""The command line end to end, run as a user runs it (a subprocess per call): all marked slow."""
from __future__ import annotations

import json
import shutil

import pytest
from omegaconf import OmegaConf

from core.labels import read_label_csv
from members.readers import read_label_sets
from tests.support import DATA, GOLD, LEXICON, REPO, baseline_file, run_cli
from tests.support import MER2024_GROUPINGS as GROUPINGS
from tests.support import MER2024_PRED as PRED

pytestmark = pytest.mark.slow


def _one_error_line(process) -> str:
    assert process.returncode == 1, process.stderr
    errors = [line for line in process.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, process.stderr
    assert process.stdout == ""
    return errors[0]


def test_evaluate_json_contract():
    process = run_cli("evaluate", "--gold", GOLD, "--pred", PRED, "--lexicon", LEXICON, "--groupings", GROUPINGS, "--json")
    assert process.returncode == 0, process.stderr
    result = json.loads(process.stdout)
    assert set(result["ew"]) == {"m_avg", "l1_f", "l1_p", "l1_r", "l2_f", "per_metric"}
    assert len(result["ew"]["per_metric"]) == 12
    assert result["mer2024"]["avg"] == pytest.approx(0.521917, abs=1e-6)


def test_evaluate_member_file_and_overrides():
    """A member label file is a valid prediction; key=value overrides reach the evaluate config."""
    process = run_cli("evaluate", "--gold", GOLD, "--pred", baseline_file("Chat-UniVi"), "--json", f"lexicon={LEXICON}")
    assert process.returncode == 0, process.stderr
    result = json.loads(process.stdout)
    assert result["ew"]["l1_f"] == pytest.approx(53.99, abs=0.01)
    assert "mer2024" not in result
    bad = run_cli("evaluate", "--gold", GOLD, "--pred", PRED, "lexicon=/nonexistent/lexicon")
    assert "lexicon folder not found" in _one_error_line(bad)


def test_tune_run_evaluate(tmp_path):
    """tune -> run -> evaluate on gold_dev.csv (a k-of-n grid keeps it quick; tests/test_tune_command.py covers the strategies)."""
    config = OmegaConf.load(REPO / "configs" / "ovmerd.yaml")
    config.tune.grid = {"kofn": {"k": [2, 3, 4]}}
    config_path, tuned, report = tmp_path / "c.yaml", tmp_path / "tuned.yaml", tmp_path / "report.json"
    OmegaConf.save(config, config_path)
    process = run_cli("tune", "--config", config_path, "--gold", GOLD, "--out", tuned, "--report", report, "--no-cache", "--no-loo")
    assert process.returncode == 0, process.stderr
    judge = OmegaConf.load(tuned).judge
    cv = json.loads(report.read_text())
    # The final k is the candidate with the best plain cross-validated EW-L1 F (first on ties).
    ranked = cv["candidates_plain_cv"]
    assert [c["params"]["k"] for c in ranked] == [2, 3, 4] and len({c["ew_l1_f"] for c in ranked}) == 3
    assert judge.type == "kofn" and judge.k == max(ranked, key=lambda c: c["ew_l1_f"])["params"]["k"]
    assert cv["n_clips"] == 200 and len(cv["ensemble"]["fold_params"]) == 5
    assert set(cv["members"]) >= {"Chat-UniVi", "AffectGPT-e30"}

    submission = tmp_path / "sub.csv"
    process = run_cli("run", "--config", tuned, "--out", submission)
    assert process.returncode == 0, process.stderr
    rows = read_label_csv(submission)
    assert len(rows) == 532  # every clip a member covers (AffectGPT covers OV-MERD+)
    spoken = {}  # clip -> did any member say anything
    for member in OmegaConf.load(REPO / "configs" / "ovmerd.yaml").members:
        path = member.path.replace("${data_root}", str(DATA))
        for clip, labels in read_label_sets(path).items():
            spoken[clip] = spoken.get(clip, False) or bool(labels)
    assert {clip: bool(labels) for clip, labels in rows.items()} == spoken
    assert submission.read_text().splitlines()[1].startswith('sample_00000000,"[\'')

    process = run_cli("evaluate", "--gold", GOLD, "--pred", submission, "--json")
    assert process.returncode == 0, process.stderr
    assert json.loads(process.stdout)["ew"]["l1_f"] > 60


def test_run_with_env_data_root_and_override(tmp_path):
    """$OVMER_DATA sets the data root; a judge override (a 1-of-n union) changes the answer."""
    out_union, out_default = tmp_path / "u.csv", tmp_path / "d.csv"
    env = {"OVMER_DATA": str(DATA)}
    assert run_cli("run", "--out", out_union, "judge={type: kofn, k: 1}", env=env, cwd=tmp_path).returncode == 0
    assert run_cli("run", "--out", out_default, env=env, cwd=tmp_path).returncode == 0
    union, default = read_label_csv(out_union), read_label_csv(out_default)
    assert sum(map(len, union.values())) > sum(map(len, default.values()))


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "--config", "nope.yaml"], "nope.yaml: config file not found"),
        (["run", "--data-root", "/nonexistent"], "data root '/nonexistent' not found"),
        (["run", "judge.nope=1"], "judge: unknown parameter 'nope'"),
        (["run", "bogus"], "unrecognised argument 'bogus'"),
        (["run", "judge.type=nope"], "unknown judge type 'nope'"),
        (["evaluate", "--gold", GOLD], "evaluate needs --pred"),
    ],
)
def test_bad_input_gives_one_error_line_and_no_output(tmp_path, args, message):
    out = tmp_path / "sub.csv"
    if args[0] == "run":
        args = args + ["--out", out]
    line = _one_error_line(run_cli(*args))
    assert message in line
    assert not out.exists()


def test_member_named_twice(tmp_path):
    config = OmegaConf.load(REPO / "configs" / "ovmerd.yaml")
    config.members.append(config.members[0])
    path = tmp_path / "twice.yaml"
    OmegaConf.save(config, path)
    line = _one_error_line(run_cli("run", "--config", path, "--out", tmp_path / "o.csv", "--data-root", DATA))
    assert "member 'Chat-UniVi' is named twice" in line


def test_unparsable_prediction_names_file_and_row(tmp_path):
    pred = tmp_path / "pred.csv"
    shutil.copy(PRED, pred)
    lines = pred.read_text().splitlines()
    lines[5] = lines[5].split(",")[0] + ",happy"
    pred.write_text("\n".join(lines) + "\n")
    line = _one_error_line(run_cli("evaluate", "--gold", GOLD, "--pred", pred))
    assert "pred.csv, row 6" in line and "unparsable openset" in line


def test_unknown_clips_are_an_error(tmp_path):
    pred = tmp_path / "pred.csv"
    pred.write_text("name,openset\nnot_a_clip,[happy]\n")
    line = _one_error_line(run_cli("evaluate", "--gold", GOLD, "--pred", pred))
    assert "shares no clip with the gold file" in line


def test_evaluate_with_local_grouper(tmp_path):
    """`--grouper local` computes the MER2024 metric with no cached groupings (on 5 clips)."""
    gold = {k: v for k, v in list(read_label_csv(GOLD).items())[:5]}
    gold_path, pred_path = tmp_path / "gold.csv", tmp_path / "pred.csv"
    from core.labels import write_label_csv

    write_label_csv(gold_path, gold)
    write_label_csv(pred_path, {k: v for k, v in read_label_csv(PRED).items() if k in gold})
    process = run_cli("evaluate", "--gold", gold_path, "--pred", pred_path, "--grouper", "local", "--json")
    assert process.returncode == 0, process.stderr
    local = json.loads(process.stdout)["mer2024"]
    process = run_cli("evaluate", "--gold", gold_path, "--pred", pred_path, "--grouper", "identity", "--json")
    assert process.returncode == 0, process.stderr
    identity = json.loads(process.stdout)["mer2024"]
    # Grouping synonyms finds matches that exact words miss (0.32 against 0.08 on these clips).
    assert local["avg"] > identity["avg"] + 0.1


def test_run_from_descriptions(tmp_path):
    """Members of `type: described` extract labels from their descriptions inside `run`; the
    shipped config's pickled description files are converted to JSONL first, as the README says."""
    out = tmp_path / "sub.csv"
    converted = tmp_path / "described.yaml"
    process = run_cli("convert", "--config", REPO / "configs" / "ovmerd_described.yaml", "--out", converted)
    assert process.returncode == 0, process.stderr
    process = run_cli("run", "--config", converted, "--out", out)
    assert process.returncode == 0, process.stderr
    process = run_cli("evaluate", "--gold", GOLD, "--pred", out, "--json")
    assert json.loads(process.stdout)["ew"]["l1_f"] > 60


def test_described_member_without_trust_is_refused(tmp_path):
    out = tmp_path / "sub.csv"
    line = _one_error_line(
        run_cli("run", "--config", REPO / "configs" / "ovmerd_described.yaml", "--out", out)
    )
    assert "trust_pickle" in line and not out.exists()
