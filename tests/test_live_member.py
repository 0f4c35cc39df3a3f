"""The live-member base (members.live.base): media in, parsed answers out, per-clip cache and errors.

`Echo` (tests/live_support.py) is a real LiveMember whose "model" is arithmetic on the media,
standing in for model weights that cannot exist here.
"""
from __future__ import annotations

import json

import pytest

from members.base import Clip
from members.live.cache import ClipCache
from members.live.prompts import OPEN_VOCABULARY, fill, parse_answer
from testkit.serve import start_server
from testkit.media import write_test_video
from tests.live_support import Echo


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("videos")
    made = {f"c{i}": write_test_video(folder / f"c{i}.mp4", seed=i) for i in range(4)}
    made["mute"] = write_test_video(folder / "mute.mp4", audio=False)
    (folder / "empty.mp4").write_bytes(b"")
    (folder / "junk.mp4").write_bytes(b"\x00not a video" * 50)
    made["empty"], made["junk"] = folder / "empty.mp4", folder / "junk.mp4"
    return made


def clips_for(videos, *names, subtitle=None):
    return [Clip(n, video=videos.get(n, videos["c0"]), subtitle=subtitle) for n in names]


def test_answers_are_parsed_into_description_and_labels(videos, tmp_path):
    member = Echo(name="echo", num_frames=3, use_audio=True, cache_dir=str(tmp_path), progress=False)
    out = member.predict(clips_for(videos, "c0", "c1"))
    assert set(out) == {"c0", "c1"}
    for result in out.values():
        assert result.ok and result.labels[1] == "calm" and result.labels[0] in {"happy", "sad"}
        assert result.description.startswith("3 frames, 1.0 s of audio") and result.elapsed >= 0


def test_a_failing_clip_is_recorded_and_the_others_go_on(videos, tmp_path):
    member = Echo(name="echo", batch_size=3, use_audio=True, progress=False, cache_dir=str(tmp_path))
    clips = clips_for(videos, "c0", "boom", "c2") + [
        Clip("mute", video=videos["mute"]), Clip("empty", video=videos["empty"]),
        Clip("junk", video=videos["junk"]), Clip("gone", video=tmp_path / "gone.mp4"), Clip("novideo"),
    ]
    out = member.predict(clips)
    assert out["c0"].ok and out["c2"].ok
    assert out["boom"].error == "RuntimeError: model failed"
    assert "no audio track" in out["mute"].error and "mute.mp4" in out["mute"].error
    assert "empty" in out["empty"].error and "junk.mp4" in out["junk"].error
    assert "not found" in out["gone"].error and "no video" in out["novideo"].error
    assert all(o.labels is None for o in out.values() if not o.ok)
    # failed clips are not cached: a rerun tries them again, and only them
    member.calls.clear()
    again = member.predict(clips)
    assert [name for batch in member.calls for name in batch] == ["boom"]
    assert again["c0"] == out["c0"]


def test_a_failed_batch_is_retried_clip_by_clip(videos):
    member = Echo(name="echo", batch_size=3, progress=False)
    out = member.predict(clips_for(videos, "batchkiller", "c1", "c2"))
    assert member.calls == [["batchkiller", "c1", "c2"], ["batchkiller"], ["c1"], ["c2"]]
    assert all(o.ok for o in out.values())  # alone, each clip fits


def test_the_cache_resumes_after_a_kill_and_is_keyed_by_parameters(videos, tmp_path):
    clips = clips_for(videos, "c0", "c1", "c2", "c3")
    first = Echo(name="echo", cache_dir=str(tmp_path), progress=False)
    done = first.predict(clips[:2])  # the run that was killed after two clips
    path = first.clip_cache().path
    with open(path, "ab") as handle:
        handle.write(b'{"clip": "c2", "key": "torn')  # the line being written when it died
    again = Echo(name="renamed", batch_size=2, cache_dir=str(tmp_path), progress=False)  # same answers
    out = again.predict(clips)
    assert again.calls == [["c2", "c3"]] and out["c0"] == done["c0"]
    assert again.clip_cache().path == path
    records = [json.loads(line) for line in path.read_text().splitlines()[-2:]]
    assert sorted(r["clip"] for r in records) == ["c2", "c3"]  # the torn line did not swallow c2 (answers arrive in any order)
    other = Echo(name="echo", num_frames=2, cache_dir=str(tmp_path), progress=False)
    assert other.clip_cache().path != path  # a parameter that changes answers starts afresh
    other.predict(clips[:1])
    assert other.calls == [["c0"]]
    changed = clips_for(videos, "c0", subtitle="new words")  # so does a different subtitle
    again.calls.clear()
    again.predict(changed)
    assert again.calls == [["c0"]]


def test_cache_records_are_plain_json_and_unreadable_lines_are_skipped(tmp_path, caplog):
    cache = ClipCache(tmp_path, "m/1", {"a": 1})
    assert cache.path.parent == tmp_path and "/" not in cache.path.name
    cache.path.write_text('not json\n{"key": "k1", "labels": ["sad"], "description": "d"}\n{"labels": 3}\n')
    loaded = cache.load()
    assert list(loaded) == ["k1"] and loaded["k1"].labels == ["sad"]
    assert "line 1: invalid cache record skipped" in caplog.text


def test_prompts_carry_the_subtitle_only_when_asked(videos):
    member = Echo(name="echo", progress=False)
    with_sub = member.prepare(Clip("c0", video=videos["c0"], subtitle="I passed!"))
    assert with_sub.prompt.startswith("Subtitle of this clip: I passed!\n") and len(with_sub.frames) == 8
    assert max(with_sub.frames[0].size[0] * with_sub.frames[0].size[1], 1) <= 448 * 448
    silent = Echo(name="echo", use_subtitle=False, progress=False).prepare(Clip("c0", video=videos["c0"], subtitle="I passed!"))
    assert "I passed" not in silent.prompt
    assert fill(OPEN_VOCABULARY, audio=True).count("voice") == 1


@pytest.mark.parametrize("text, labels", [
    ("She smiles.\nEmotions: Happy, relieved and proud.", ["happy", "relieved", "proud"]),
    ("**Emotions:** [anxious; 'tense']", ["anxious", "tense"]),
    ("The character's emotional state is [happy, relaxed].", ["happy", "relaxed"]),
    ("She looks at the floor.", None),
    ("Emotions: ", []),
])
def test_parse_answer(text, labels):
    description, found = parse_answer(text)
    assert found == labels and description


def test_affectgpt_answer_form():
    assert parse_answer("The character's emotional state is happy, relaxed, satisfied.")[1] == ["happy", "relaxed", "satisfied"]


def test_two_stage_describes_without_the_subtitle_then_merges_it_through_a_text_model(videos, tmp_path):
    """Stage 1 is Echo (no subtitle in its prompt); stage 2 is a real HTTP server on 127.0.0.1
    whose "text model" merges by rule (no weights here): it names 'grateful' when the subtitle
    says thanks, and fails (HTTP 500) for the subtitle 'FAIL'."""
    seen = []

    def merge(messages):
        text = messages[-1]["content"]
        seen.append(text)
        if "subtitle of the clip is: FAIL" in text:
            raise RuntimeError("the text model is down")
        word = "grateful" if "thanks" in text else "neutral"
        return f"The person is moved.\nEmotions: {word}"

    with start_server(merge) as server:
        member = Echo(name="echo", num_frames=1, progress=False, batch_size=3, cache_dir=str(tmp_path),
                      two_stage={"url": server.url, "model": "local", "retries": 0, "timeout": 5})
        clips = [Clip("c0", video=videos["c0"], subtitle="thanks a lot"), Clip("c1", video=videos["c1"], subtitle="hm"),
                 Clip("c2", video=videos["c2"], subtitle="FAIL")]
        out = member.predict(clips)
        assert [call for call in member.calls] == [["c0", "c1", "c2"]]
        assert out["c0"].labels == ["grateful"] and out["c1"].labels == ["neutral"]
        assert out["c0"].description == "The person is moved."
        assert not out["c2"].ok and "HTTP 500" in out["c2"].error
    assert all("Subtitle" not in p for p in [member.prepare(c).prompt for c in clips])  # stage 1 never sees it
    thanked = [text for text in seen if "thanks a lot" in text]
    assert len(thanked) == 1 and "1 frames, 0.0 s of audio." in thanked[0]  # stage 2 gets both
    # the text model's address is not part of the cache key; its model name is
    moved = Echo(name="echo", num_frames=1, progress=False, cache_dir=str(tmp_path), two_stage={"url": "http://127.0.0.1:9", "model": "local"})
    assert moved.clip_cache().path == member.clip_cache().path
    other = Echo(name="echo", num_frames=1, progress=False, cache_dir=str(tmp_path), two_stage={"url": server.url, "model": "big"})
    assert other.clip_cache().path != member.clip_cache().path


def test_the_model_is_set_up_only_when_some_clip_is_not_cached(videos, tmp_path):
    clips = clips_for(videos, "c0", "c1")
    first = Echo(name="echo", cache_dir=str(tmp_path), progress=False)
    first.predict(clips)
    assert first.setups == 1
    again = Echo(name="echo", cache_dir=str(tmp_path), progress=False)
    assert again.predict(clips)["c0"].ok and again.setups == 0 and again.calls == []
