"""Throughput (issue 19): members on different resources run at once, a served member streams
its requests through a bounded window, and results reach the cache as they arrive.

The servers are real HTTP servers on 127.0.0.1 (testkit.serve) whose "model" is a function
written here (no weights exist on this machine). The members holding a GPU are `Held`, a real
Member whose predict records when it runs (no GPU here either). No test measures speed: each
checks an order of events that the old one-after-another / batch-barrier code cannot produce,
with a bounded wait so that a regression fails instead of hanging.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import ClassVar

import pytest

from core.errors import InputError
from ensemble.pipeline import collect_outputs
from members.base import Clip, Member, MemberOutput
from members.live.openai import OpenAIMember
from testkit.serve import messages_to_request, start_server
from testkit.media import write_test_video
from tests.live_support import Echo

WAIT = 10.0  # seconds a test waits for an event that the code under test must bring about


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("videos")
    return [write_test_video(folder / f"clip{i}.mp4", seconds=1.0, seed=i) for i in range(4)]


def clips_of(videos, count=4):
    return [Clip(name=f"clip{i}", video=videos[i % len(videos)], subtitle=f"line {i}") for i in range(count)]


def served(name, url, tmp_path, **options):
    settings = {"name": name, "url": url, "model": "local", "num_frames": 2, "cache_dir": str(tmp_path),
                "timeout": 20.0, "retries": 0, "progress": False, **options}
    return OpenAIMember(**settings)


def subtitle_of(messages) -> str:
    return messages_to_request(messages)["prompt"].split("line ")[1].split()[0].strip(".\"'")


# ---- members on different resources run at once ------------------------------------------------
@dataclass(kw_only=True)
class Held(Member):
    """A member on one resource: its predict waits (bounded) for `meets`, a member expected to run
    at the same time, and records its start and end; labels are its own name."""

    resource: str = ""
    meets: str = ""
    fail: bool = False
    log: ClassVar[list] = []
    running: ClassVar[dict] = {}

    def resources(self) -> frozenset[str]:
        return frozenset({self.resource}) if self.resource else frozenset()

    def setup(self) -> None:
        Held.log.append(("setup", self.name))

    def close(self) -> None:
        Held.log.append(("close", self.name))

    def predict(self, clips):
        Held.log.append(("predict", self.name))
        Held.running.setdefault(self.name, threading.Event()).set()
        if self.fail:
            raise InputError(f"member '{self.name}': its server is down")
        if self.meets:
            met = Held.running.setdefault(self.meets, threading.Event()).wait(WAIT)
            Held.log.append(("met" if met else "alone", self.name))
        return {clip.name: MemberOutput(labels=[self.name]) for clip in clips}


@pytest.fixture(autouse=True)
def fresh_log():
    Held.log.clear()
    Held.running.clear()


def test_members_on_different_gpus_run_at_once_and_on_one_gpu_in_turn():
    members = [Held(name="a", resource="gpu:0", meets="b"), Held(name="b", resource="gpu:1", meets="a"),
               Held(name="c", resource="gpu:0")]
    labels, failures = collect_outputs(members, ["x", "y"])
    assert ("met", "a") in Held.log and ("met", "b") in Held.log  # neither waited for the other to end
    # c shares a's GPU: it is set up only after a closed
    assert Held.log.index(("setup", "c")) > Held.log.index(("close", "a"))
    assert labels == {"x": {"a": ["a"], "b": ["b"], "c": ["c"]}, "y": {"a": ["a"], "b": ["b"], "c": ["c"]}}
    assert failures == {}


def test_labels_keep_the_members_order_whatever_finishes_first():
    # the stored member (no resource) is read first, the GPU member finishes last: order as configured
    members = [Held(name="gpu", resource="gpu:0"), Held(name="stored")]
    labels, _ = collect_outputs(members, ["x"])
    assert list(labels["x"]) == ["gpu", "stored"]


def test_a_failing_member_stops_the_others_and_its_error_is_raised():
    members = [Held(name="ok", resource="gpu:0"), Held(name="bad", resource="gpu:1", fail=True),
               Held(name="later", resource="gpu:1")]
    with pytest.raises(InputError, match="member 'bad': its server is down"):
        collect_outputs(members, ["x"])
    assert ("setup", "later") not in Held.log  # nothing starts after a failure
    assert ("close", "ok") in Held.log and ("close", "bad") in Held.log  # every started member closed


def test_served_members_declare_their_endpoints_and_the_two_stage_server(tmp_path):
    one = served("one", "http://127.0.0.1:9001", tmp_path)
    both = served("both", "http://127.0.0.1:9002", tmp_path, two_stage={"url": "http://127.0.0.1:9001", "model": "m"})
    assert one.resources() == {"server:http://127.0.0.1:9001/v1/chat/completions"}
    assert both.resources() == {"server:http://127.0.0.1:9002/v1/chat/completions",
                                "server:http://127.0.0.1:9001/v1/chat/completions"}


def test_two_served_members_on_two_servers_overlap(videos, tmp_path):
    """Server A holds its first request until server B has been asked something: members run
    one after another would leave it waiting (and the clip would fail)."""
    asked_b = threading.Event()

    def model_a(messages):
        assert asked_b.wait(WAIT), "server B was never asked while A worked"
        return "Emotions: happy"

    def model_b(messages):
        asked_b.set()
        return "Emotions: sad"

    with start_server(model_a) as a, start_server(model_b) as b:
        members = [served("A", a.url, tmp_path, concurrency=1), served("B", b.url, tmp_path, concurrency=1)]
        labels, failures = collect_outputs(members, clips_of(videos, 2))
    assert failures == {}
    assert labels["clip0"] == {"A": ["happy"], "B": ["sad"]}


# ---- the streaming window ----------------------------------------------------------------------
def test_a_slow_request_does_not_hold_up_the_next_clips(videos, tmp_path):
    """concurrency 2, four clips: clip0's answer waits until clip3 has been asked and clip1's
    answer is in the cache. With batches as barriers clip3 would only go out after clip0 ended."""
    asked: list[str] = []
    lock = threading.Lock()
    # where the server is does not change the cache: the same path as the member below
    cache_path = served("streamer", "http://127.0.0.1:9", tmp_path, concurrency=2).clip_cache().path

    def cached() -> str:
        return cache_path.read_text(encoding="utf-8") if cache_path.exists() else ""

    def model(messages):
        clip = subtitle_of(messages)
        with lock:
            asked.append(clip)
        if clip == "0":
            deadline = time.monotonic() + WAIT
            while not ("3" in asked and '"clip1"' in cached()) and time.monotonic() < deadline:
                time.sleep(0.01)
            return "Emotions: happy" if "3" in asked and '"clip1"' in cached() else "Emotions: stuck"
        return "Emotions: calm"

    with start_server(model) as server:
        member = served("streamer", server.url, tmp_path, concurrency=2)
        out = member.predict(clips_of(videos, 4))
    assert out["clip0"].labels == ["happy"]
    assert all(out[f"clip{i}"].labels == ["calm"] for i in (1, 2, 3))
    assert sorted(asked) == ["0", "1", "2", "3"]


def test_the_window_bounds_requests_in_flight(videos, tmp_path):
    """At most `concurrency` requests reach the server at once, and the window is used in full."""
    state = {"now": 0, "most": 0}
    lock = threading.Lock()

    def model(messages):
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(0.2)
        with lock:
            state["now"] -= 1
        return "Emotions: calm"

    with start_server(model) as server:
        member = served("bounded", server.url, tmp_path, concurrency=3, prepare_workers=2)
        out = member.predict(clips_of(videos, 9))
    assert all(o.ok for o in out.values()) and len(out) == 9
    assert state["most"] == 3


def test_in_process_models_take_batches_and_the_next_batch_is_decoded_meanwhile(videos):
    """Batches of 2: the first batch's answer waits (bounded) until clip2, of the next batch, has
    been prepared; decoding only after the batch ended would leave it waiting."""

    @dataclass(kw_only=True)
    class Overlapping(Echo):
        prepared: list = field(default_factory=list, init=False)
        overlapped: bool = field(default=False, init=False)

        def prepare(self, clip):
            request = super().prepare(clip)
            self.prepared.append(clip.name)
            return request

        def answer(self, requests):
            if requests[0].clip.name == "clip0":
                deadline = time.monotonic() + WAIT
                while "clip2" not in self.prepared and time.monotonic() < deadline:
                    time.sleep(0.01)
                self.overlapped = "clip2" in self.prepared
            return super().answer(requests)

    member = Overlapping(name="echo", batch_size=2, num_frames=1, progress=False)
    out = member.predict(clips_of(videos, 5))
    assert member.overlapped
    assert member.calls == [["clip0", "clip1"], ["clip2", "clip3"], ["clip4"]]
    assert all(o.ok for o in out.values()) and len(out) == 5


def test_cancel_stops_sending_and_what_was_answered_is_returned(videos):
    class Stopping(Echo):
        def answer(self, requests):
            self.cancel()  # as the pipeline does when another member fails
            return super().answer(requests)

    stopping = Stopping(name="stop", batch_size=2, num_frames=1, progress=False)
    out = stopping.predict(clips_of(videos, 5))
    assert stopping.calls == [["clip0", "clip1"]] and set(out) == {"clip0", "clip1"}


def test_models_declare_their_device_and_a_wrapper_adds_its_extractor_server(tmp_path):
    from members.extract.member import ExtractingMember
    from members.live.affectgpt import AffectGPTMember
    from members.live.vlm import VisionLanguageMember

    def vlm(device):
        return VisionLanguageMember(name="v", family="echo", model_path="", device=device).resources()

    assert vlm("cuda:1") == {"gpu:1"} and vlm("cuda") == {"gpu:0"} and vlm("auto") == {"gpu:0"}
    assert vlm("cpu") == {"cpu"}
    assert AffectGPTMember(name="a", checkout=str(tmp_path), gpu=2).resources() == {"gpu:2"}
    wrapped = ExtractingMember(name="w", member={"type": "openai", "url": "http://127.0.0.1:9001", "model": "m"},
                               extractor={"type": "llm", "url": "http://127.0.0.1:9003"})
    assert wrapped.resources() == {"server:http://127.0.0.1:9001/v1/chat/completions",
                                   "server:http://127.0.0.1:9003/v1/chat/completions"}
    stored = ExtractingMember(name="s", path=str(tmp_path / "d.jsonl"), extractor={"type": "rules"})
    assert stored.resources() == frozenset()
