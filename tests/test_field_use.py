"""Field use of the command line, run as a user runs it (subprocesses): the entry points and
their names, --version, -q, help, progress lines in a log file, config typos found before any
member runs, the Codalab npz, the MER2026 config, tune --clips, and a wheel installed elsewhere.

The fast tests at the top check the pieces in-process; the subprocess ones are marked slow.
"""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from core.errors import InputError
from core.labels import read_label_csv, write_label_npz
from core.settings import default_cache_dir
from ensemble import __version__
from ensemble.cli import prog_name
from ensemble.config import load_config
from ensemble.pipeline import ready_judge
from members.readers import read_label_sets
from tests.support import DATA, GOLD, REPO, run_cli


def python_m(*args, cwd: Path = REPO, env: dict | None = None, pythonpath: Path = REPO) -> subprocess.CompletedProcess:
    """`python -m ensemble ARGS` with the given import root first on the path."""
    full_env = {**os.environ, "OVMER_DATA": str(DATA), "PYTHONPATH": str(pythonpath), **(env or {})}
    return subprocess.run([sys.executable, "-m", "ensemble", *map(str, args)], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=600)


def one_error_line(process) -> str:
    assert process.returncode == 1, process.stderr
    errors = [line for line in process.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in process.stderr, process.stderr
    return errors[0]


# ---- in-process -------------------------------------------------------------------------------

def test_prog_name_is_what_the_user_typed():
    assert prog_name("/venv/bin/run-ensemble") == "run-ensemble"
    assert prog_name("/repo/ensemble/__main__.py") == "python -m ensemble"
    assert prog_name("run_ensemble.py") == "run_ensemble.py"


def test_default_cache_is_the_user_cache_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("OVMER_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "ovmer-ensemble"
    monkeypatch.setenv("OVMER_CACHE", str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine"


def test_openset_npz_round_trip(tmp_path):
    """The Codalab form as upstream writes it: compressed, two 1-D unicode arrays, items
    '[a, b]'; read back by the project's own reader, and by numpy with pickles refused."""
    predictions = {"sample_2": ["happy", "relieved"], "sample_1": [], "sample_3": ["worried"]}
    path = tmp_path / "sub-openset.npz"
    write_label_npz(path, predictions)
    assert read_label_sets(path) == predictions
    with np.load(path, allow_pickle=False) as arrays:
        assert sorted(arrays.files) == ["fileitems", "filenames"]
        assert arrays["filenames"].dtype.kind == arrays["fileitems"].dtype.kind == "U"
        assert arrays["filenames"].tolist() == ["sample_1", "sample_2", "sample_3"]
        assert arrays["fileitems"].tolist() == ["[]", "[happy, relieved]", "[worried]"]
    with zipfile.ZipFile(path) as archive:
        assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_DEFLATED}


def test_openset_npz_refuses_what_it_cannot_carry(tmp_path):
    path = tmp_path / "sub-openset.npz"
    with pytest.raises(InputError, match="clip b: label cannot be written"):
        write_label_npz(path, {"a": ["happy"], "b": ["happy, sad"]})
    assert list(tmp_path.iterdir()) == []


def test_mer2026_config_reads_the_mer2026_lexicon():
    config = load_config(REPO / "configs" / "mer2026.yaml", data_root=str(DATA))
    resolved = OmegaConf.to_container(config, resolve=True)
    assert resolved["lexicon"] == f"{DATA}/lexicon/mer2026"
    assert Path(resolved["judge"]["state"]) == REPO / "configs" / "mer2026.judge.json"
    default = OmegaConf.load(REPO / "configs" / "ovmerd_views.yaml")
    assert [m["name"] for m in resolved["members"]] == [m.name for m in default.members]
    ready_judge(config, [m.name for m in config.members])  # its own state, fitted on these members


# ---- subprocesses -----------------------------------------------------------------------------

@pytest.mark.slow
def test_version_help_and_names():
    for process, prog in ((python_m("--version"), "python -m ensemble"), (run_cli("--version"), "run_ensemble.py")):
        assert process.returncode == 0 and process.stdout.strip() == f"{prog} {__version__}", process.stderr
    help_text = python_m("run", "--help").stdout
    assert help_text.startswith("usage: python -m ensemble run") and "[key=value ...]" in help_text.split("\n\n")[0]
    for shown in ("key=value", "judge.k=2", "OVMER_DATA", "OVMER_CACHE", "OVMER_PROGRESS_INTERVAL", "--allow-missing",
                  "-q, --quiet", "openset-npz"):
        assert shown in help_text, shown
    assert "--clips" in python_m("tune", "--help").stdout


@pytest.mark.slow
def test_progress_lines_reach_a_log_file_and_quiet_silences_them(tmp_path):
    """stderr is a pipe here, as under nohup or slurm: no bar, `N/M` lines through logging."""
    out = tmp_path / "sub.csv"
    loud = python_m("run", "--out", out, env={"OVMER_PROGRESS_INTERVAL": "0"})
    assert loud.returncode == 0, loud.stderr
    lines = loud.stderr.splitlines()
    assert "INFO core.progress: members: 1/32 members" in "\n".join(lines)
    assert any(line.startswith("INFO core.progress: members: 32/32 members, ") and "ETA" in line for line in lines)
    assert "\r" not in loud.stderr
    quiet = python_m("-q", "run", "--out", out, env={"OVMER_PROGRESS_INTERVAL": "0"})
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
    assert python_m("run", "-q", "--out", out).stderr == ""


@pytest.mark.slow
@pytest.mark.parametrize("override, message", [
    ("judge.kk=3", "unknown parameter 'kk'"),
    ("vocab.type=wordnett", "wordnett"),
    ("judge={type: category, state: /nonexistent/state.json}", "/nonexistent/state.json: state file not found"),
])
def test_a_config_typo_fails_before_any_member_runs(tmp_path, override, message):
    """A live member whose server is down (127.0.0.1:9): had it run first, the error would be
    that it cannot reach the server; the config's mistake is reported instead."""
    path = tmp_path / "live.yaml"
    path.write_text(OmegaConf.to_yaml(OmegaConf.create({
        "data_root": str(DATA), "cache_dir": str(tmp_path / "cache"), "judge": {"type": "kofn", "k": 1},
        "members": [{"name": "served", "type": "openai", "url": "http://127.0.0.1:9", "model": "m", "retries": 0}],
    })))
    manifest = tmp_path / "clips.csv"
    manifest.write_text("name,video\nclip_a,a.mp4\n")
    out = tmp_path / "out.csv"
    process = python_m("run", "--config", path, "--clips", manifest, "--out", out, override)
    line = one_error_line(process)
    assert message in line and "cannot reach" not in process.stderr, process.stderr
    assert not out.exists()


@pytest.mark.slow
def test_run_writes_the_codalab_npz(tmp_path):
    csv_out, npz_out, named = tmp_path / "sub.csv", tmp_path / "sub-openset.npz", tmp_path / "other.bin"
    assert python_m("run", "--out", csv_out).returncode == 0
    assert python_m("run", "--out", npz_out).returncode == 0
    process = python_m("run", "--out", named, "--format", "openset-npz")
    assert process.returncode == 0 and "takes files named *-openset.npz" in process.stderr
    assert read_label_sets(npz_out) == read_label_csv(csv_out) == read_label_sets(named.rename(tmp_path / "x.npz"))
    assert len(read_label_csv(csv_out)) == 532


@pytest.mark.slow
def test_the_mer2026_config_runs(tmp_path):
    out = tmp_path / "sub.csv"
    process = python_m("run", "--config", REPO / "configs" / "mer2026.yaml", "--out", out)
    assert process.returncode == 0, process.stderr
    assert len(read_label_csv(out)) == 532


@pytest.mark.slow
def test_tune_takes_the_clips_to_use(tmp_path):
    """tune --clips: only the manifest's clips are prepared, so only its gold clips are tuned on."""
    gold = sorted(read_label_csv(GOLD))
    manifest = tmp_path / "clips.csv"
    with open(manifest, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name"])
        for name in gold[:100]:
            writer.writerow([name])
    config = OmegaConf.load(REPO / "configs" / "ovmerd.yaml")
    config.tune.grid = {"kofn": {"k": [2, 3]}}
    config_path = tmp_path / "c.yaml"
    OmegaConf.save(config, config_path)
    report = tmp_path / "report.json"
    process = python_m("tune", "--config", config_path, "--gold", GOLD, "--clips", manifest, "--out", tmp_path / "t.yaml",
                       "--report", report, "--no-cache", "--no-loo", env={"OVMER_PROGRESS_INTERVAL": "0"})
    assert process.returncode == 0, process.stderr
    assert json.loads(report.read_text())["n_clips"] == 100
    assert "INFO core.progress: nested CV: " in process.stderr and "PR curve: 5/5 folds" in process.stderr


@pytest.mark.slow
def test_an_installed_wheel_runs_from_any_directory(tmp_path):
    """Build the wheel, install it alone into a folder, and run it from an unrelated directory
    with the shared environment's libraries: the packaged config and judge state are found, the
    cache goes to the user cache folder (XDG_CACHE_HOME here), nothing is written beside the
    installed packages, and the console script calls itself run-ensemble."""
    wheels, target, work = tmp_path / "wheels", tmp_path / "site", tmp_path / "work"
    work.mkdir()
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(REPO)],
                   check=True, capture_output=True, timeout=300, cwd=tmp_path)
    (wheel,) = wheels.glob("ovmer_ensemble-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    for config in (REPO / "configs").iterdir():
        if config.suffix == ".yaml" or config.name.endswith(".judge.json"):
            assert f"configs/{config.name}" in names
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)], check=True, capture_output=True,
                   timeout=300)
    installed = set(target.iterdir())
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg"), "OVMER_CACHE": ""}
    process = python_m("run", "--out", "sub-openset.npz", cwd=work, env=env, pythonpath=target)
    assert process.returncode == 0, process.stderr
    assert len(read_label_sets(work / "sub-openset.npz")) == 532
    assert (tmp_path / "xdg" / "ovmer-ensemble" / "lexicon").is_dir()
    assert set(target.iterdir()) == installed and not (target / ".cache").exists()
    script = subprocess.run([str(target / "bin" / "run-ensemble"), "--version"], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(target)}, cwd=work, timeout=60)
    assert script.stdout.strip() == f"run-ensemble {__version__}", script.stderr
