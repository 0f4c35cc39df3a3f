"""AffectGPTMember against a fake AffectGPT checkout (testkit/fake_affectgpt).

The fake `inference_sample.py` stands in for the real script and its model weights (a 7B LLM
with CLIP and HuBERT encoders on a GPU), which cannot exist here: it takes the same flags, runs
as a real subprocess with this Python, and prints a response derived from its inputs (the wav's
length, the epoch, the user message). Videos are real clips encoded by write_test_video.
"""
from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import pytest

from core.errors import InputError
from core.factory import build
from members.base import Clip
from members.live.affectgpt import AffectGPTMember, response_text, state_labels
from testkit.media import write_test_video

FAKE = Path(__file__).parent.parent / "testkit" / "fake_affectgpt"
TARGET = "members.live.affectgpt:AffectGPTMember"


@pytest.fixture()
def checkout(tmp_path) -> Path:
    """A writable copy of the fake checkout (the fake logs each call to calls.log in it)."""
    return Path(shutil.copytree(FAKE, tmp_path / "AffectGPT", ignore=shutil.ignore_patterns("calls.log")))


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("videos")
    return {
        "long": write_test_video(folder / "long.mp4", seconds=1.5, seed=1),
        "short": write_test_video(folder / "short.avi", seconds=0.5, seed=2),
        "silent": write_test_video(folder / "silent.mp4", seconds=1.0, audio=False),
    }


def member(root: Path, tmp_path: Path, **params) -> AffectGPTMember:
    params = {"name": "affectgpt", "checkout": str(root), "python": sys.executable,
              "cache_dir": str(tmp_path / "cache"), "progress": False, **params}
    model = AffectGPTMember(**params)
    model.setup()
    return model


def calls(checkout: Path) -> list[str]:
    log = checkout / "calls.log"
    return log.read_text().split() if log.is_file() else []


def test_labels_come_from_the_emotional_state_sentence(checkout, tmp_path, videos):
    model = member(checkout, tmp_path)
    out = model.predict([Clip("a", videos["long"], subtitle="I won!"), Clip("b", videos["short"])])
    assert out["a"].ok and out["a"].labels == ["happy", "relaxed", "epoch30"]
    assert out["a"].description == "The character's emotional state is happy, relaxed, and epoch30."
    assert out["b"].labels == ["calm", "epoch30"]  # the fake hears a 0.5 s wav: the audio reached it
    assert out["a"].elapsed > 0


def test_command_line_is_the_documented_interface(checkout, tmp_path, videos):
    from members.live.base import Request

    model = member(checkout, tmp_path, epoch=45, use_subtitle=False)
    argv = model.command(Request(Clip("a", videos["long"], subtitle="hi"), prompt="", audio=str(tmp_path / "a.wav")))
    assert argv[:3] == [shutil.which(sys.executable), "inference_sample.py", "--zeroshot"]
    flags = dict(zip(argv[3::2], argv[4::2]))
    assert flags == {
        "--video_path": str(videos["long"].resolve()),
        "--audio_path": str((tmp_path / "a.wav").resolve()),
        "--subtitle": "",
        "--cfg-path": "train_configs/mercaptionplus_outputhybird_bestsetup_bestfusion_frame_lz.yaml",
        "--options": "inference.test_epoch=45",
    }


def test_description_mode_passes_the_user_message_epoch_and_gpu(checkout, tmp_path, videos):
    model = member(checkout, tmp_path, mode="description", epoch=45, gpu=3)
    out = model.predict([Clip("a", videos["long"], subtitle="Hello")])["a"]
    assert out.ok and out.labels is None
    assert out.description.startswith("In the text, the person says 'Hello'.")
    assert "epoch 45, device 3" in out.description
    assert "###" not in out.description and "Human" not in out.description


def test_a_failing_clip_fails_alone_with_the_end_of_stderr(checkout, tmp_path, videos):
    model = member(checkout, tmp_path)
    clips = [
        Clip("crash", videos["long"], subtitle="CRASH now"),
        Clip("silent", videos["silent"]),
        Clip("novideo"),
        Clip("gone", tmp_path / "gone.mp4"),
        Clip("fine", videos["short"]),
    ]
    out = model.predict(clips)
    assert "exited with status 1" in out["crash"].error and "CUDA out of memory" in out["crash"].error
    assert "Traceback" in out["crash"].error and len(out["crash"].error) < 600
    assert "no audio track" in out["silent"].error
    assert "novideo" in out["novideo"].error
    assert "gone.mp4" in out["gone"].error
    assert out["fine"].ok and out["fine"].labels == ["calm", "epoch30"]
    assert calls(checkout) == ["long.mp4", "short.avi"]  # media failures never start the script


def test_finished_clips_come_from_the_cache_and_only_answer_changing_parameters_rerun(checkout, tmp_path, videos):
    clips = [Clip("a", videos["long"]), Clip("b", videos["short"])]
    member(checkout, tmp_path).predict(clips)
    assert len(calls(checkout)) == 2
    again = member(checkout, tmp_path, gpu=1, timeout=99, python=sys.executable).predict(clips)
    assert len(calls(checkout)) == 2 and again["a"].labels == ["happy", "relaxed", "epoch30"]
    member(checkout, tmp_path, epoch=35).predict(clips)
    assert len(calls(checkout)) == 4


def test_a_clip_past_its_timeout_is_killed_and_fails(checkout, tmp_path, videos):
    model = member(checkout, tmp_path, timeout=1)
    began = time.monotonic()
    out = model.predict([Clip("slow", videos["long"], subtitle="SLOW"), Clip("ok", videos["short"])])
    assert time.monotonic() - began < 30  # the fake would sleep 60 s
    assert "more than 1 s" in out["slow"].error
    assert out["ok"].ok


def test_repository_root_is_accepted_as_the_checkout(tmp_path, videos):
    root = tmp_path / "repo"
    shutil.copytree(FAKE, root / "AffectGPT")
    out = member(root, tmp_path).predict([Clip("a", videos["short"])])
    assert out["a"].labels == ["calm", "epoch30"]


@pytest.mark.parametrize("change, message", [
    (lambda c: {"checkout": str(c.parent / "nowhere")}, "checkout .*nowhere not found"),
    (lambda c: {"script": "missing.py"}, "has no missing.py"),
    (lambda c: {"config": "no_such_config"}, r"config .*train_configs/no_such_config\.yaml not found"),
    (lambda c: {"python": str(c / "no-python")}, "interpreter .*no-python' not found"),
])
def test_setup_refuses_a_broken_checkout_with_one_clear_error(checkout, tmp_path, change, message):
    params = change(checkout)
    with pytest.raises(InputError, match=message):
        member(Path(params.pop("checkout", checkout)), tmp_path, **params)


@pytest.mark.parametrize("params, message", [
    ({"mode": "chat"}, "mode must be one of labels, description"),
    ({"timeout": 0}, "timeout must be a positive"),
    ({"use_audio": False}, "needs the audio track"),
    ({}, "checkout"),
])
def test_bad_parameters_are_one_error_through_the_factory(params, message):
    spec = {"type": TARGET, "name": "ag", **({"checkout": "x"} if params else {}), **params}
    with pytest.raises(InputError, match=message):
        build("member", spec, label="member 'ag'")


def test_response_text():
    assert response_text("Loading\n###Human: q ###Assistant: The character's emotional state is sad.###\n") == \
        "The character's emotional state is sad."
    assert response_text("Initializing Chat\nloaded\n\nIn the text, she smiles.\n\n") == "In the text, she smiles."
    assert response_text("") == ""


def test_state_labels():
    assert state_labels("The character's emotional state is happy, relaxed, and satisfied.") == \
        ["happy", "relaxed", "satisfied"]
    assert state_labels("The emotional states of the character are Anxious; nervous or worried") == \
        ["anxious", "nervous", "worried"]
    assert state_labels("She seems calm. Her emotional state might be a bit nervous.") == ["a bit nervous"]
    assert state_labels("She smiles at the camera.") is None
