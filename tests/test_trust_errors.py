"""Silently wrong -> one clear error: judge parameters the members cannot meet, non-finite
numbers in a state file, predictions outside the gold (a counted warning), fetch-data into a
file, `--out` keeping its mode and writing through a link, no stale `.part` file, and error
lines that quote content only as a short marked excerpt."""
from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys

import pytest

from core.errors import InputError, brief, excerpt
from core.factory import build
from core.files import atomic_write_text, remove_stale_parts
from core.labels import read_label_csv, write_label_csv
from core.state import read_state, write_state
from ensemble.cli import main
from tests.support import DATA, GOLD, LEXICON, REPO, baseline_file

TWO = f"members=[{{name: a, path: {baseline_file('Otter')}}}, {{name: b, path: {baseline_file('mPLUG-Owl')}}}]"


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert err and err[-1].startswith("error: "), err
    assert not any("Traceback" in line for line in err)
    return err[-1]


def run(tmp_path, *overrides) -> int:
    return main(["run", "--config", str(REPO / "configs" / "ovmerd.yaml"), "--out", str(tmp_path / "out.csv"),
                 "--data-root", str(DATA), TWO, *overrides])


@pytest.mark.parametrize("value, message", [
    ("null", "k must be an integer >= 1, got None"),
    ("abc", "k must be an integer >= 1, got 'abc'"),
    ("0", "k must be an integer >= 1, got 0"),
    ("2.5", "k must be an integer >= 1, got 2.5"),
    ("3", "k=3 but only 2 members vote"),
])
def test_bad_k_is_one_error_line(tmp_path, capsys, value, message):
    assert run(tmp_path, f"judge.k={value}") == 1
    assert message in one_error_line(capsys)
    assert not (tmp_path / "out.csv").exists()


def test_k_equal_to_the_member_count_is_fine(tmp_path):
    assert run(tmp_path, "judge.k=2") == 0


@pytest.mark.parametrize("judge, value, message", [
    ("kofn", "-1", "max_labels must be an integer >= 0"),
    ("kofn", "abc", "max_labels must be an integer >= 0"),
    ("category", "-1", "max_labels must be an integer >= 0"),
    ("category", "abc", "max_labels must be an integer >= 0"),
    ("category", "null", "max_labels must be an integer >= 0"),
])
def test_bad_max_labels_is_one_error(judge, value, message):
    import yaml

    spec = {"type": judge, "max_labels": yaml.safe_load(value), "lexicon": LEXICON}
    if judge == "kofn":
        spec.pop("lexicon")
    with pytest.raises(InputError, match=message):
        build("judge", spec).fit([], {"x": ["happy"]})


def test_check_members_for_the_pipeline():
    judge = build("judge", {"type": "kofn", "k": 4})
    judge.check_members(["a", "b", "c", "d"])
    with pytest.raises(InputError, match="k=4 but only 3 members vote"):
        judge.check_members(["a", "b", "c"])
    build("judge", {"type": "category"}).check_members(["a"])  # not fitted: nothing to compare


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_number_in_a_state_file_names_file_and_key(tmp_path, bad):
    path = tmp_path / "judge.json"
    write_state(path, "judge.test", {"coef": [[0.5, 0.25]], "threshold_": 0.1})
    text = path.read_text().replace("0.25", bad)
    path.write_text(text)
    with pytest.raises(InputError, match=r"judge\.json: key 'coef\[0\]\[1\]' holds a NaN or infinite number"):
        read_state(path, "judge.test")


def test_evaluate_warns_how_many_predicted_clips_are_not_in_the_gold(tmp_path, caplog):
    gold = read_label_csv(GOLD)
    pred = {**gold, "not_a_gold_clip_1": ["happy"], "not_a_gold_clip_2": ["sad"]}
    path = tmp_path / "pred.csv"
    write_label_csv(path, pred)
    with caplog.at_level(logging.WARNING):
        assert main(["evaluate", "--gold", str(GOLD), "--pred", str(path), "--data-root", str(DATA), "--json"]) == 0
    assert "2 of its 202 clips are not in the gold file" in caplog.text and "not_a_gold_clip_1" in caplog.text


def test_fetch_data_into_a_file_is_one_error_line(tmp_path, capsys):
    file = tmp_path / "a_file"
    file.write_text("keep me")
    assert main(["fetch-data", "--dest", str(file), "--source", "file:///nonexistent"]) == 1
    assert "--dest is not a folder" in one_error_line(capsys)
    assert main(["fetch-data", "--dest", str(file / "sub"), "--source", "file:///nonexistent"]) == 1
    assert "is a file" in one_error_line(capsys)
    assert file.read_text() == "keep me"


def test_out_keeps_an_existing_files_mode_and_writes_through_a_link(tmp_path):
    out = tmp_path / "out.csv"
    out.write_text("old")
    os.chmod(out, 0o640)
    assert run(tmp_path, "judge.k=1") == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o640 and out.read_text().startswith("name,openset")
    os.chmod(out, 0o604)
    link = tmp_path / "link.csv"
    link.symlink_to(out)
    atomic_write_text(link, "through the link\n")
    assert link.is_symlink() and out.read_text() == "through the link\n"
    assert stat.S_IMODE(out.stat().st_mode) == 0o604


def test_stale_parts_of_dead_writers_are_removed_and_live_ones_kept(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=False, capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        target = tmp_path / "sub.csv"
        stale = tmp_path / f".sub.csv.{dead_pid}.abc123.part"
        live = tmp_path / f".sub.csv.{sleeper.pid}.def456.part"
        other = tmp_path / f".other.csv.{dead_pid}.abc123.part"
        for part in (stale, live, other):
            part.write_text("half a file")
        atomic_write_text(target, "whole\n")
        assert target.read_text() == "whole\n"
        assert not stale.exists() and live.exists() and other.exists()
        assert remove_stale_parts(tmp_path / "other.csv") == 1
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, "sub.csv"])
    finally:
        sleeper.kill()
        sleeper.wait()


def test_excerpt_and_brief_mark_what_they_cut():
    assert excerpt("short") == "«short»"
    assert excerpt("x" * 100) == "«" + "x" * 40 + "…» (100 characters)"
    assert "\n" not in excerpt("two\nlines")
    assert brief(ValueError("first\nsecond")) == "first"
    assert brief("y" * 500).endswith("… (message cut)") and len(brief("y" * 500)) < 200


def test_errors_do_not_echo_long_content(tmp_path, capsys):
    long = "z" * 5000
    assert run(tmp_path, f"judge.k={long}") == 1
    assert len(one_error_line(capsys)) < 400
    assert run(tmp_path, f"judge.{long}=1") == 1
    assert len(one_error_line(capsys)) < 400
    config = tmp_path / "bad.yaml"
    config.write_text("members: [" + "q" * 5000 + "\n  : : :\n")
    assert main(["run", "--config", str(config), "--out", str(tmp_path / "o.csv"), "--data-root", str(DATA)]) == 1
    assert len(one_error_line(capsys)) < 400
    assert run(tmp_path, f"judge.type={long}") == 1
    assert len(one_error_line(capsys)) < 400
    state = tmp_path / "s.json"
    state.write_text(json.dumps({"format": "ovmer-state", "version": 2, "kind": "k", "w": 1})[:-1] + "q" * 5000)
    with pytest.raises(InputError) as error:
        read_state(state, "k")
    assert len(str(error.value)) < 400
