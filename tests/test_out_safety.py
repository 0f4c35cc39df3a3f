"""Issue 17, item 1: `--out` never lands on anything the run reads or writes.

Each case builds a real run (a live member on generated videos, cached and extracting members
on real label files, a copied lexicon, a model folder, a checkout) and names one of its files,
or a link to it, as `--out`: the command must stop with one `error:` line naming both paths,
exit 1, before any member runs, and leave the file byte for byte as it was. The live member is
`Echo` (tests/live_support.py) or the model-free `echo` engine, standing in for model weights.
"""
from __future__ import annotations

import csv
import os
import shutil
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from ensemble.cli import main as cli
from members.readers import read_label_sets
from testkit.media import write_test_video
from tests.live_support import ANSWERED
from tests.support import DATA, baseline_file

CACHED = baseline_file("Video-ChatGPT")
ECHO = {"name": "echo", "type": "tests.live_support:Echo", "num_frames": 2, "progress": False}


@pytest.fixture()
def clips(tmp_path):
    """Two real OV-MERD clip names with generated videos, a manifest and a subtitle CSV."""
    names = sorted(read_label_sets(CACHED))[:2]
    videos = tmp_path / "videos"
    videos.mkdir()
    for index, name in enumerate(names):
        write_test_video(videos / f"{name}.mp4", seed=index)
    with open(tmp_path / "manifest.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "video"])
        writer.writerows([name, f"videos/{name}.mp4"] for name in names)
    with open(tmp_path / "subtitles.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([["name", "english"], *([name, "hello"] for name in names)])
    return tmp_path, names


def write_config(folder, members, **extra) -> str:
    path = folder / "config.yaml"
    path.write_text(OmegaConf.to_yaml(OmegaConf.create({
        "data_root": str(DATA), "members": members, "judge": {"type": "kofn", "k": 1},
        "cache_dir": str(folder / "cache"), **extra,
    })))
    return str(path)


def refused(capsys, args: list[str], victim, *named, flag: str = "--out") -> str:
    """Run the command; it must fail with one error line naming `--out` and the victim, and
    leave the victim as it was, with no member run."""
    before = victim.read_bytes()
    ANSWERED.clear()
    assert cli(args) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    last = lines[-1]
    assert last.startswith("error: ") and "Traceback" not in "".join(lines)
    out = args[args.index(flag) + 1]
    assert out in last and all(str(path) in last for path in named), last
    assert victim.read_bytes() == before
    assert not ANSWERED  # refused before any member ran
    return last


def test_a_video_listed_in_the_manifest(clips, capsys):
    folder, names = clips
    video = folder / "videos" / f"{names[0]}.mp4"
    config = write_config(folder, [ECHO])
    last = refused(capsys, ["run", "--config", config, "--clips", str(folder / "manifest.csv"), "--out", str(video)], video, video)
    assert f"clip {names[0]}: video" in last


def test_a_video_found_by_videos_dir(clips, capsys):
    folder, names = clips
    video = folder / "videos" / f"{names[1]}.mp4"
    config = write_config(folder, [ECHO])
    refused(capsys, ["run", "--config", config, "--videos", str(folder / "videos"),
                     "--subtitles", str(folder / "subtitles.csv"), "--out", str(video)], video, video)


def test_the_live_members_cache_keeps_its_computed_answers(clips, capsys, tmp_path):
    folder, _ = clips
    config = write_config(folder, [ECHO])
    manifest = str(folder / "manifest.csv")
    assert cli(["run", "--config", config, "--clips", manifest, "--out", str(tmp_path / "first.csv")]) == 0
    (cache,) = (folder / "cache" / "live").glob("*.jsonl")
    refused(capsys, ["run", "--config", config, "--clips", manifest, "--out", str(cache)], cache, cache)


def test_a_file_of_a_nested_member(clips, capsys):
    folder, _ = clips
    labels = folder / "labels.csv"
    labels.write_text("name,openset\n" + "".join(f"{n},\"{list(w)}\"\n" for n, w in sorted(read_label_sets(CACHED).items())))
    member = {"name": "wrapped", "type": "extracted", "member": {"type": "cached", "path": str(labels)}}
    config = write_config(folder, [member])
    last = refused(capsys, ["run", "--config", config, "--out", str(labels)], labels, labels)
    assert "member 'wrapped': member: path" in last


def test_the_extractors_state(clips, capsys):
    folder, _ = clips
    descriptions = folder / "descriptions.jsonl"
    descriptions.write_text('{"name": "a", "description": "She is happy."}\n')
    state = folder / "extractor.json"
    state.write_text('{"kind": "extractor.learned"}\n')
    member = {"name": "told", "type": "described", "path": str(descriptions), "extractor": {"type": "learned", "state": str(state)}}
    config = write_config(folder, [member])
    last = refused(capsys, ["run", "--config", config, "--out", str(state)], state, state)
    assert "extractor: state" in last
    # `extract` with the same extractor refuses it too.
    refused(capsys, ["extract", "--input", str(descriptions), "--out", str(state), "--data-root", str(DATA),
                     "type=learned", f"state={state}"], state, state)


def test_a_file_of_the_lexicon_folder(clips, capsys):
    folder, _ = clips
    lexicon = folder / "lexicon"
    shutil.copytree(DATA / "lexicon" / "mer2025", lexicon)  # a copy: the shared data is never a target
    victim = lexicon / "format.csv"
    config = write_config(folder, [{"name": "vc", "path": str(CACHED)}], lexicon=str(lexicon))
    last = refused(capsys, ["run", "--config", config, "--out", str(victim)], victim, lexicon)
    assert "a folder this run reads" in last


def test_a_file_under_model_path(clips, capsys):
    """The model-free echo engine runs in-process here; on the old code the run succeeded and
    replaced the model's config.json with the submission."""
    folder, _ = clips
    model = folder / "model"
    model.mkdir()
    victim = model / "config.json"
    victim.write_text('{"model_type": "qwen2_5_vl"}')
    member = {"name": "vlm", "type": "vlm", "family": "echo", "model_path": str(model), "backend": "inprocess",
              "num_frames": 2, "progress": False}
    config = write_config(folder, [member])
    refused(capsys, ["run", "--config", config, "--clips", str(folder / "manifest.csv"), "--out", str(victim)], victim, model)


def test_a_file_under_the_checkout(clips, capsys):
    """The fake AffectGPT checkout (testkit/fake_affectgpt) stands in for the real one and its
    weights; on the old code the run succeeded and replaced the checkout's README."""
    folder, _ = clips
    checkout = shutil.copytree(Path(__file__).parent.parent / "testkit" / "fake_affectgpt", folder / "AffectGPT")
    victim = checkout / "README.md"
    member = {"name": "agpt", "type": "affectgpt", "checkout": str(checkout), "python": sys.executable, "progress": False}
    config = write_config(folder, [member])
    refused(capsys, ["run", "--config", config, "--clips", str(folder / "manifest.csv"), "--out", str(victim)], victim, checkout)
    assert not (checkout / "calls.log").exists()  # the checkout's script never ran


def test_through_a_symbolic_link_and_a_hard_link(clips, capsys):
    folder, names = clips
    video = folder / "videos" / f"{names[0]}.mp4"
    config = write_config(folder, [ECHO])
    manifest = str(folder / "manifest.csv")
    link = folder / "submission.csv"
    link.symlink_to(video)
    refused(capsys, ["run", "--config", config, "--clips", manifest, "--out", str(link)], video, video)
    hard = folder / "hard.csv"
    os.link(video, hard)
    refused(capsys, ["run", "--config", config, "--clips", manifest, "--out", str(hard)], video, video)
    # A folder reached through a link is the folder: a new file there lies in the model folder.
    model = folder / "model"
    model.mkdir()
    (folder / "elsewhere").symlink_to(model)
    member = {"name": "vlm", "type": "vlm", "family": "echo", "model_path": str(model), "backend": "inprocess", "progress": False}
    config = write_config(folder, [member])
    assert cli(["run", "--config", config, "--clips", manifest, "--out", str(folder / "elsewhere" / "new.csv")]) == 1
    assert "a folder this run reads" in capsys.readouterr().err
    assert not (model / "new.csv").exists()


def test_tune_outputs_stay_off_inputs_and_each_other(tmp_path, capsys):
    from tests.support import GOLD

    member = tmp_path / "member.csv"
    shutil.copyfile(GOLD, member)
    config = write_config(tmp_path, [{"name": "m", "path": str(member)}], tune={"grid": {"kofn": {"k": [1]}}})
    refused(capsys, ["tune", "--config", config, "--gold", str(GOLD), "--out", str(tmp_path / "t.yaml"),
                     "--report", str(member), "--no-cache", "--no-loo"], member, member, flag="--report")
    out = tmp_path / "t.yaml"
    assert cli(["tune", "--config", config, "--gold", str(GOLD), "--out", str(out), "--state", str(out),
                "--no-cache", "--no-loo"]) == 1
    assert "a file this run writes (--out)" in capsys.readouterr().err
    assert not out.exists()


def test_a_new_file_beside_the_inputs_is_written(clips, tmp_path):
    """The rule refuses only what the run uses: a new file in the videos' folder is fine."""
    folder, names = clips
    config = write_config(folder, [ECHO])
    out = folder / "videos" / "submission.csv"
    assert cli(["run", "--config", config, "--clips", str(folder / "manifest.csv"), "--out", str(out)]) == 0
    assert set(read_label_sets(out)) == set(names)
