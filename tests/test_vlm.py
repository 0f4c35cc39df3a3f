"""members.live.vlm: vision-language members on generated videos, through LiveMember.predict (so
frame sampling, the per-clip cache, per-clip errors and answer parsing run too), in-process and in
a worker process; the worker dying, hanging and being restarted; the trust and model-folder checks."""
from __future__ import annotations

import importlib.util
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from core.errors import InputError
from core.factory import build
from members.base import Clip
from members.live.vlm import (
    EmotionQwenMember,
    InternVLMember,
    QwenVLMember,
    VisionLanguageMember,
    WorkerClient,
)
from tests.vlm_models import build_tiny_models, write_videos


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    return build_tiny_models(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="session")
def videos(tmp_path_factory):
    return write_videos(tmp_path_factory.getbasetemp())


def _clips(videos, *names: str, subtitle: str | None = None) -> list[Clip]:
    return [Clip(name=name, video=videos[name], subtitle=subtitle) for name in names]


def _member(cls=QwenVLMember, **kwargs):
    defaults = dict(name="vlm", device="cpu", num_frames=2, max_new_tokens=8, progress=False)
    return cls(**{**defaults, **kwargs})


def _echo(**kwargs) -> VisionLanguageMember:
    """A worker-backed member on the model-free echo engine (the worker imports no torch: fast)."""
    settings = dict(family="echo", model_path="", backend="worker", timeout=20)
    return _member(VisionLanguageMember, **{**settings, **kwargs})


# ---- in-process -----------------------------------------------------------------------------------
def test_inprocess_predict_parses_and_caches(tiny_models, videos, tmp_path):
    clips = _clips(videos, "clip0", "clip1") + [Clip(name="broken", video=tmp_path / "missing.mp4")]
    member = _member(model_path=str(tiny_models["qwen"]), cache_dir=str(tmp_path / "cache"))
    try:
        outputs = member.predict(clips)
    finally:
        member.close()
    assert outputs["clip0"].ok and outputs["clip0"].description and outputs["clip0"].elapsed > 0
    assert outputs["clip1"].ok
    assert not outputs["broken"].ok and "video not found" in outputs["broken"].error
    # A second member with the same parameters answers from the cache: its model is never loaded.
    again = _member(model_path=str(tiny_models["qwen"]), cache_dir=str(tmp_path / "cache"), backend="worker",
                    python="/nonexistent/python")
    cached = again.predict(clips[:2])
    assert again._client is None and again._engine is None
    assert {name: out.description for name, out in cached.items()} == \
        {name: outputs[name].description for name in ("clip0", "clip1")}


@pytest.mark.parametrize("cls,key", [(QwenVLMember, "qwen"), (InternVLMember, "internvl")])
def test_batch_of_two_same_as_one_at_a_time(tiny_models, videos, cls, key):
    clips = _clips(videos, "clip0", "clip1", "clip2", subtitle="I am fine")
    answers = []
    for batch_size in (1, 2):
        member = _member(cls, model_path=str(tiny_models[key]), batch_size=batch_size, max_new_tokens=6)
        try:
            outputs = member.predict(clips)
        finally:
            member.close()
        assert all(out.ok for out in outputs.values()), outputs
        answers.append({name: (out.description, out.labels) for name, out in outputs.items()})
    assert answers[0] == answers[1]
    assert len({description for description, _ in answers[0].values()}) > 1  # the clips' frames matter


def test_emotion_qwen_needs_trust(tiny_models):
    member = _member(EmotionQwenMember, model_path=str(tiny_models["remote"]))
    with pytest.raises(InputError) as error:
        member.setup()
    message = str(error.value)
    assert message.startswith("member 'vlm': ") and "trust_remote_code: true" in message
    assert "members.N.trust_remote_code=true" in message


def test_emotion_qwen_runs_when_trusted(tiny_models, videos):
    defaults = EmotionQwenMember(name="e", model_path="m")
    assert (defaults.family, defaults.fps, defaults.num_frames) == ("emotion_qwen", 1.0, 16)
    member = _member(EmotionQwenMember, model_path=str(tiny_models["remote"]), trust_remote_code=True)
    try:
        outputs = member.predict(_clips(videos, "clip0"))
    finally:
        member.close()
    assert outputs["clip0"].ok and outputs["clip0"].description


def test_trust_gate_in_the_worker_too(tiny_models):
    """The worker refuses the remote-code folder before importing torch or any model code."""
    member = _member(EmotionQwenMember, model_path=str(tiny_models["remote"]), backend="worker", timeout=30)
    with pytest.raises(InputError, match=r"member 'vlm': .*auto_map.*trust_remote_code: true"):
        member.setup()
    member.close()


@pytest.mark.parametrize("backend", ["inprocess", "worker"])
def test_not_a_model_folder(tmp_path, backend):
    member = _member(model_path=str(tmp_path), backend=backend)
    with pytest.raises(InputError, match=r"member 'vlm': .* not a model folder \(no config.json\)"):
        member.setup()
    member.close()


def test_parameters_are_checked():
    for bad in (dict(backend="ray"), dict(device="tpu"), dict(family="llava"), dict(timeout=0), dict(use_audio=True)):
        with pytest.raises(ValueError):
            _member(model_path="m", **bad)
    with pytest.raises(ValueError, match="model_path is required"):
        _member(model_path="")
    with pytest.raises(ValueError, match="unknown engine"):
        _member(InternVLMember, model_path="m", engine="vllm")


def test_built_by_the_factory_with_the_shared_cache_dir(tmp_path):
    spec = {"type": "members.live.vlm:EmotionQwenMember", "name": "eq", "model_path": "m", "backend": "worker"}
    member = build("member", spec, {"cache_dir": str(tmp_path), "lexicon": "unused"}, label="members.0")
    assert isinstance(member, EmotionQwenMember) and member.cache_dir == str(tmp_path)
    with pytest.raises(InputError, match="members.0: trust_remote_code must be true or false, got 'yes'"):
        build("member", {**spec, "trust_remote_code": "yes"}, label="members.0")
    with pytest.raises(InputError, match="members.0: unknown backend 'gpu'"):
        build("member", {**spec, "backend": "gpu"}, label="members.0")


def test_cache_key_ignores_where_the_model_runs(tiny_models):
    base = _member(model_path="m").cache_params()
    assert _member(model_path="m", backend="worker", python="/x/python", device="cuda", timeout=5,
                   trust_remote_code=True).cache_params() == base
    assert _member(model_path="other").cache_params() != base
    assert _member(model_path="m", dtype="bfloat16").cache_params() != base


def test_internvl_lmdeploy_engine(tiny_models):
    member = _member(InternVLMember, model_path=str(tiny_models["internvl"]), engine="lmdeploy")
    assert member.family == "internvl_lmdeploy"
    if importlib.util.find_spec("lmdeploy") is not None:
        pytest.skip("lmdeploy is installed here")
    with pytest.raises(InputError, match="pip install lmdeploy"):
        member.setup()


# ---- the worker backend ---------------------------------------------------------------------------
@pytest.mark.slow
def test_worker_backend_answers_as_inprocess(tiny_models, videos, tmp_path):
    """A real worker process running the tiny Qwen2.5-VL (slow: the worker imports torch)."""
    clips = _clips(videos, "clip0", "clip1", subtitle="hello")
    answers = []
    for backend in ("inprocess", "worker"):
        member = _member(model_path=str(tiny_models["qwen"]), backend=backend, batch_size=2, timeout=120)
        try:
            outputs = member.predict(clips)
        finally:
            member.close()
        assert all(out.ok for out in outputs.values()), outputs
        answers.append({name: out.description for name, out in outputs.items()})
    assert answers[0] == answers[1]


@pytest.mark.slow
def test_remote_code_in_the_worker_when_trusted(tiny_models, videos):
    """The remote-code checkpoint loads in a worker process once trusted (slow: imports torch)."""
    member = _member(EmotionQwenMember, model_path=str(tiny_models["remote"]), backend="worker",
                     trust_remote_code=True, num_frames=2, timeout=120)
    try:
        outputs = member.predict(_clips(videos, "clip0"))
        assert member._client.info["model"] == "TinyRemoteModel"
    finally:
        member.close()
    assert outputs["clip0"].ok and outputs["clip0"].description


def test_worker_dead_between_batches_is_restarted(videos):
    member = _echo()
    member.setup()
    first = member._client.process.pid
    os.kill(first, signal.SIGKILL)
    member._client.process.wait()
    try:
        outputs = member.predict(_clips(videos, "clip0"))
        assert member._client.process.pid != first
    finally:
        member.close()
    assert outputs["clip0"].ok and outputs["clip0"].description.startswith("I saw 2 frames")
    assert outputs["clip0"].labels == ["neutral"]


def test_worker_killed_mid_run_fails_that_clip_then_recovers(videos):
    """SIGKILL while the worker is answering (it sleeps on the first clip): that clip gets the
    error, the next clip is answered by a restarted worker."""
    member = _echo(batch_size=1, engine_options={"delay": 60, "delay_on": "SLOW"})
    killed: list[int] = []

    def kill_when_busy():
        while member._client is None or member._client.process is None:
            time.sleep(0.05)
        time.sleep(0.5)
        killed.append(member._client.process.pid)
        os.kill(killed[0], signal.SIGKILL)

    thread = threading.Thread(target=kill_when_busy, daemon=True)
    thread.start()
    clips = [Clip(name="slow", video=videos["clip0"], subtitle="SLOW"), Clip(name="next", video=videos["clip1"])]
    try:
        outputs = member.predict(clips)
        assert member._client.process.pid != killed[0]
    finally:
        member.close()
    assert "the worker died while answering a batch of 1 (exit status -9)" in outputs["slow"].error
    assert outputs["next"].ok


def test_worker_dies_mid_batch_only_the_culprit_fails(videos):
    """The worker exits while answering a batch of 2; the batch is retried clip by clip, so only the
    clip that kills it fails, and the worker is restarted each time."""
    member = _echo(batch_size=2, engine_options={"crash_on": "POISON"})
    clips = [Clip(name="bad", video=videos["clip0"], subtitle="POISON"), Clip(name="good", video=videos["clip1"])]
    try:
        outputs = member.predict(clips)
        pids = member._client.process.pid
    finally:
        member.close()
    assert "died while answering a batch of 1" in outputs["bad"].error and "exit status 3" in outputs["bad"].error
    assert outputs["good"].ok
    assert pids


def test_worker_hangs_then_times_out(videos):
    member = _echo(timeout=1.5, engine_options={"delay": 60, "delay_on": "SLOW"})
    clips = [Clip(name="slow", video=videos["clip0"], subtitle="SLOW"), Clip(name="quick", video=videos["clip1"])]
    try:
        outputs = member.predict(clips)
    finally:
        member.close()
    assert "gave no answer within 1.5 s" in outputs["slow"].error
    assert outputs["quick"].ok


def test_worker_with_a_python_that_does_not_exist(videos):
    member = _echo(python="/nonexistent/bin/python")
    with pytest.raises(InputError, match="cannot start the worker"):
        member.setup()


def test_worker_client_close_ends_the_process():
    client = WorkerClient({"family": "echo"}, timeout=20, label="t")
    info = client.start()
    process = client.process
    assert info == {"protocol": 1, "family": "echo"} and client.alive()
    client.close()
    assert process.poll() == 0 and not client.alive()


def test_audio_reaches_the_engine_and_missing_audio_fails_one_clip(videos, tmp_path):
    member = _echo(use_audio=True, cache_dir=str(tmp_path))
    try:
        outputs = member.predict(_clips(videos, "clip0", "silent"))
    finally:
        member.close()
    assert "and an audio track" in outputs["clip0"].description
    assert not outputs["silent"].ok and "no audio track" in outputs["silent"].error
    assert any(Path(tmp_path, "audio").glob("*.wav"))
