"""OpenAIMember end to end: generated videos, real frame sampling, a real server on 127.0.0.1.

The server is testkit.serve with an answer function written here: no model weights exist
on this machine, so the "model" is a function that checks what it was sent (the frames, the
prompt, the audio) and answers in the format the open-vocabulary prompt asks for. Everything
else (sampling, encoding, HTTP, retries, per-clip cache, per-clip errors) runs for real.
"""
from __future__ import annotations

import json
import os
import threading
import time

import pytest

from core.errors import InputError
from core.factory import build
from members.base import Clip
from members.live.openai import OpenAIMember
from testkit.serve import messages_to_request, start_engine_server, start_server
from testkit.media import write_test_video


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("videos")
    return [write_test_video(folder / f"clip{i}.mp4", seconds=1.0, seed=i) for i in range(3)]


def clips_of(videos, subtitles=("She laughs.", "Fine.", "Okay.")):
    return [Clip(name=f"clip{i}", video=path, subtitle=text) for i, (path, text) in enumerate(zip(videos, subtitles))]


class Model:
    """The answer function: records each request (decoded back) and answers by the subtitle."""

    def __init__(self, fail_on: str = "", slow_on: str = "", delay: float = 1.0):
        self.requests: list[dict] = []
        self.fail_on = fail_on
        self.slow_on = slow_on
        self.delay = delay
        self.lock = threading.Lock()

    def __call__(self, messages):
        request = messages_to_request(messages)
        with self.lock:
            self.requests.append(request)
        if self.fail_on and self.fail_on in request["prompt"]:
            raise RuntimeError("CUDA error: device-side assert")
        if self.slow_on and self.slow_on in request["prompt"]:
            time.sleep(self.delay)
        mood = "happy, amused" if "laughs" in request["prompt"] else "neutral"
        return f"She looks at the camera; {len(request['images'])} frames.\nEmotions: {mood}"


def member(url, tmp_path, **options):
    settings = {"name": "served", "url": url, "model": "local", "num_frames": 4, "cache_dir": str(tmp_path),
                "timeout": 5.0, "retries": 1, "backoff": 0.01, "progress": False, **options}
    return OpenAIMember(**settings)


def test_predict_sends_the_frames_as_images_and_parses_labels(videos, tmp_path):
    model = Model()
    with start_server(model) as server:
        served = member(server.url, tmp_path)
        served.setup()
        outputs = served.predict(clips_of(videos))
        served.close()
    assert sorted(outputs) == ["clip0", "clip1", "clip2"]
    assert all(output.ok for output in outputs.values())
    assert outputs["clip0"].labels == ["happy", "amused"] and outputs["clip1"].labels == ["neutral"]
    assert "4 frames" in outputs["clip2"].description
    assert len(model.requests) == 3
    for request in model.requests:
        assert len(request["images"]) == 4 and request["images"][0].size == (64, 48)
        assert "Subtitle of this clip:" in request["prompt"] and request["max_new_tokens"] == 256


def test_finished_clips_are_cached_and_not_sent_again(videos, tmp_path):
    model = Model()
    with start_server(model) as server:
        first = member(server.url, tmp_path).predict(clips_of(videos))
    files = list((tmp_path / "live").glob("OpenAIMember-*.jsonl"))
    assert len(files) == 1 and len(files[0].read_text().splitlines()) == 3
    # the server is gone, and another endpoint and concurrency do not change the cache key
    again = member("http://127.0.0.1:9", tmp_path, concurrency=2, check_server=False).predict(clips_of(videos))
    assert {k: v.labels for k, v in again.items()} == {k: v.labels for k, v in first.items()}
    assert len(model.requests) == 3


def test_cache_key_leaves_out_where_and_how_hard_but_keeps_what_changes_answers(tmp_path):
    base = member("http://a:1", tmp_path)
    params = base.cache_params()
    for runtime in ("url", "endpoints", "api_key", "concurrency", "timeout", "retries", "backoff", "check_server"):
        assert runtime not in params
    assert params["model"] == "local" and params["image_format"] == "jpeg" and params["send_video"] is False
    same = member("http://b:2", tmp_path, endpoints=["http://c:3"], api_key="k", concurrency=3, retries=0)
    assert same.clip_cache().path == base.clip_cache().path
    assert member("http://a:1", tmp_path, image_format="png").clip_cache().path != base.clip_cache().path
    assert member("http://a:1", tmp_path, model="other").clip_cache().path != base.clip_cache().path


def test_a_failing_clip_does_not_stop_the_others(videos, tmp_path):
    model = Model(fail_on="Fine.")
    clips = clips_of(videos) + [Clip(name="missing", video=tmp_path / "nope.mp4")]
    with start_server(model) as server:
        outputs = member(server.url, tmp_path).predict(clips)
    assert outputs["clip0"].ok and outputs["clip2"].ok
    assert not outputs["clip1"].ok and "HTTP 500" in outputs["clip1"].error and "device-side assert" in outputs["clip1"].error
    assert "after 2 attempts" in outputs["clip1"].error
    assert not outputs["missing"].ok and "nope.mp4" in outputs["missing"].error
    lines = [json.loads(line) for line in next((tmp_path / "live").glob("*.jsonl")).read_text().splitlines()]
    assert sorted(line["clip"] for line in lines) == ["clip0", "clip2"]  # failures are not cached, so redone


def test_a_clip_slower_than_the_timeout_is_that_clips_error(videos, tmp_path):
    model = Model(slow_on="Okay.", delay=1.0)
    with start_server(model) as server:
        outputs = member(server.url, tmp_path, timeout=0.3, retries=1).predict(clips_of(videos))
    assert outputs["clip0"].ok and outputs["clip1"].ok
    assert "within 0.3 s" in outputs["clip2"].error and "after 2 attempts" in outputs["clip2"].error


def test_a_batch_runs_concurrently(videos, tmp_path):
    peak = {"now": 0, "max": 0}
    lock = threading.Lock()

    def answer_fn(messages):
        with lock:
            peak["now"] += 1
            peak["max"] = max(peak["max"], peak["now"])
        time.sleep(0.2)
        with lock:
            peak["now"] -= 1
        return "Emotions: calm"

    with start_server(answer_fn) as server:
        served = member(server.url, tmp_path, concurrency=3)
        assert served.batch_size == 3  # batch_size 0 means: as many clips as requests in flight
        outputs = served.predict(clips_of(videos))
    assert all(output.labels == ["calm"] for output in outputs.values())
    assert peak["max"] >= 2  # the three requests of one batch overlapped (3 unless the machine stalls)


def test_two_endpoints_one_down(videos, tmp_path):
    model = Model()
    with start_server(model) as server:
        served = member("http://127.0.0.1:9", tmp_path, endpoints=[server.url], retries=1)
        served.setup()  # one live endpoint is enough
        outputs = served.predict(clips_of(videos))
    assert all(output.ok for output in outputs.values()) and len(model.requests) == 3


def test_setup_with_the_server_down_is_one_clear_error(tmp_path):
    served = member("http://127.0.0.1:9", tmp_path)
    with pytest.raises(InputError, match=r"^member '\S+': http://127.0.0.1:9/v1/models: cannot reach the server"):
        served.setup()
    with start_server(Model(), model="something-else") as server:
        with pytest.raises(InputError, match=r"^member '\S+': .*does not serve model 'local'"):
            member(server.url, tmp_path).setup()


def test_send_video_sends_the_file_and_no_frames(videos, tmp_path):
    model = Model()
    seen = []

    def answer_fn(messages):
        seen.append([part["type"] for part in messages[0]["content"]])
        return model(messages)

    with start_server(answer_fn) as server:
        outputs = member(server.url, tmp_path, send_video=True).predict(clips_of(videos)[:1])
    assert seen == [["video_url", "text"]]
    assert len(model.requests[0]["images"]) == 8  # the server sampled the video itself (8 frames)
    assert outputs["clip0"].labels == ["happy", "amused"]


def test_audio_goes_as_input_audio(videos, tmp_path):
    model = Model()
    with start_server(model) as server:
        outputs = member(server.url, tmp_path, use_audio=True, num_frames=2).predict(clips_of(videos)[:1])
    assert outputs["clip0"].ok
    request = model.requests[0]
    assert len(request["images"]) == 2 and "voice" in request["prompt"]
    with open(request["audio"], "rb") as handle:
        assert handle.read(4) == b"RIFF"
    os.unlink(request["audio"])  # messages_to_request leaves the decoded audio to its caller


def test_png_frames_and_an_engine_server(videos, tmp_path):
    batches = []

    def generate(requests):
        batches.append(len(requests))
        return [f"{len(r['images'])} frames\nEmotions: surprised" for r in requests]

    with start_engine_server(generate, model="local", max_batch=8, wait=0.3) as server:
        served = member(server.url, tmp_path, image_format="png", num_frames=3, concurrency=3)
        served.setup()
        outputs = served.predict(clips_of(videos))
    assert all(output.labels == ["surprised"] and "3 frames" in output.description for output in outputs.values())
    assert sum(batches) == 3


def test_frame_text_numbers_the_frames_before_the_prompt(videos, tmp_path):
    model = Model()
    with start_server(model) as server:
        member(server.url, tmp_path, num_frames=2, frame_text="Frame{index}: <IMAGE_TOKEN>\n").predict(clips_of(videos)[:1])
    assert model.requests[0]["prompt"].startswith("Frame1: <IMAGE_TOKEN>\nFrame2: <IMAGE_TOKEN>\nSubtitle of this clip:")


@pytest.mark.parametrize("options, message", [
    ({"image_format": "gif"}, "image_format"),
    ({"model": ""}, "model"),
    ({"url": ""}, "no endpoint"),
    ({"url": "localhost:8000"}, "not an http"),
])
def test_bad_parameters(tmp_path, options, message):
    options = {"url": "http://a:1", **options}
    with pytest.raises(ValueError, match=message):  # InputError is a ValueError: the factory names the member
        member(options.pop("url"), tmp_path, **options)


def test_built_by_the_factory_from_a_config_section(tmp_path):
    spec = {"type": "members.live.openai:OpenAIMember", "name": "served", "model": "m", "endpoints": ["http://a:1", "http://b:2"]}
    built = build("member", spec, {"cache_dir": str(tmp_path), "lexicon": "unused"}, label="member 'served'")
    assert built.cache_dir == str(tmp_path) and len(built.client().urls) == 2
    with pytest.raises(InputError, match=r"member 'served': chat client: endpoint 'localhost:1' is not"):
        build("member", {**spec, "endpoints": ["localhost:1"]}, label="member 'served'")
