"""The chat client against a hostile server (tests.hostile_http, real sockets on 127.0.0.1).

The hostile server runs in a process of its own, so that each test can check the client's
memory by the growth of this process's peak RSS (resource.getrusage): the hostile replies are
hundreds of megabytes or endless, and reading one whole would show as that growth. Each test
bounds its own time (a deadline of a second or a few). Nothing is mocked.
"""
from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from members.base import Clip
from members.http import ANSWER_SLACK, BYTES_PER_TOKEN, ChatClient, ServerError, answer_limit
from members.live.openai import OpenAIMember
from tests.hostile_http import Recorder

ROOT = Path(__file__).resolve().parent.parent

MB = 1024  # ru_maxrss is in kilobytes on Linux


def peak_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def ask(client: ChatClient, max_tokens: int = 8) -> str:
    return client.chat([{"role": "user", "content": "how does she feel?"}], max_tokens=max_tokens)


@pytest.fixture(scope="module")
def recorder():
    with Recorder() as server:
        yield server


class HostileProcess:
    """tests.hostile_http serving in a child process (its memory is not ours)."""

    def __init__(self, redirect_to: str):
        self.process = subprocess.Popen([sys.executable, "-m", "tests.hostile_http", redirect_to], cwd=ROOT,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.root = self.process.stdout.readline().strip()
        assert self.root.startswith("http://127.0.0.1:"), "the hostile server did not start"

    def url(self, mode: str) -> str:
        return f"{self.root}/{mode}/v1/chat/completions"

    def close(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def hostile(recorder):
    server = HostileProcess(recorder.root)
    yield server
    server.close()


@pytest.mark.parametrize("status", [302, 307])
def test_a_redirect_is_not_followed_and_the_key_stays_home(hostile, recorder, status):
    recorder.seen.clear()
    client = ChatClient(url=hostile.url(f"redirect{status}"), api_key="sekret", retries=2, timeout=2.0)
    with pytest.raises(ServerError) as caught:
        ask(client)
    message = str(caught.value)
    assert f"redirects (HTTP {status}) to «{recorder.root}/v1/chat/completions»" in message
    assert hostile.url(f"redirect{status}") in message and "not retried" in message
    assert recorder.seen == []  # neither the key nor a GET went to the other port


def test_models_check_does_not_follow_a_redirect(hostile, recorder):
    recorder.seen.clear()
    client = ChatClient(url=hostile.url("redirect302"), api_key="sekret", timeout=2.0)
    with pytest.raises(ServerError, match="redirects"):
        client.check()
    assert recorder.seen == []


@pytest.mark.parametrize("mode", ["huge", "endless"])
def test_a_huge_or_endless_body_is_read_up_to_the_cap_only(hostile, mode):
    before, began = peak_kb(), time.monotonic()
    client = ChatClient(url=hostile.url(mode), retries=1, timeout=5.0, backoff=0.01)
    with pytest.raises(ServerError, match="cap of") as caught:
        ask(client)
    assert time.monotonic() - began < 4.0
    assert peak_kb() - before < 50 * MB
    assert "not retried" in str(caught.value)  # the same server would send the same again


@pytest.mark.parametrize("mode", ["drip", "driphead"])
def test_a_drip_fails_at_the_deadline_not_per_read(hostile, mode):
    """A byte every 0.5 s never trips a per-read timeout of 1.5 s; the deadline ends the exchange."""
    began = time.monotonic()
    with pytest.raises(ServerError, match=r"within 1.5 s"):
        ask(ChatClient(url=hostile.url(mode), retries=0, timeout=1.5))
    assert 1.4 < time.monotonic() - began < 2.5


def test_an_answer_longer_than_max_tokens_allows_is_refused(hostile):
    assert answer_limit(8) == 8 * BYTES_PER_TOKEN + ANSWER_SLACK
    client = ChatClient(url=hostile.url("long-5000"), retries=2, timeout=2.0)
    with pytest.raises(ServerError, match=r"answer .* of 5000 bytes, more than max_tokens=8 allows \(1280\)"):
        ask(client, max_tokens=8)
    assert ask(ChatClient(url=hostile.url("long-5000"), timeout=2.0), max_tokens=200) == "a" * 5000


def test_an_80_mb_answer_is_never_read_whole(hostile):
    before = peak_kb()
    with pytest.raises(ServerError, match="cap of"):
        ask(ChatClient(url=hostile.url("long-80000000"), retries=0, timeout=5.0), max_tokens=8)
    assert peak_kb() - before < 50 * MB


def test_a_compressed_body_is_refused(hostile):
    with pytest.raises(ServerError, match="gzip.*-encoded reply, which was not asked for"):
        ask(ChatClient(url=hostile.url("gzip"), retries=0, timeout=2.0))


# ---- the live member: answers within max_new_tokens and the label bounds -------------------------
def served(url: str, tmp_path, **options) -> OpenAIMember:
    settings = {"name": "served", "url": url, "model": "m", "num_frames": 0, "check_server": False,
                "cache_dir": str(tmp_path), "timeout": 3.0, "retries": 0, "progress": False, **options}
    return OpenAIMember(**settings)


def test_two_million_labels_fail_that_clip_and_nothing_is_cached(hostile, tmp_path):
    before = peak_kb()
    member = served(hostile.url("labels-2000000"), tmp_path)
    outputs = member.predict([Clip(name="c1", subtitle="hi")])
    assert not outputs["c1"].ok and "cap of" in outputs["c1"].error
    assert peak_kb() - before < 100 * MB
    assert not any(tmp_path.rglob("*.jsonl")) or all(p.stat().st_size == 0 for p in tmp_path.rglob("*.jsonl"))


def test_live_labels_get_the_bound_of_label_files(hostile, tmp_path):
    """150 labels fit in max_new_tokens=4096 but not under core.labels' 100 per clip: that clip fails."""
    member = served(hostile.url("labels-150"), tmp_path, max_new_tokens=4096)
    outputs = member.predict([Clip(name="c1", subtitle="hi")])
    assert outputs["c1"].error == "InputError: member 'served', clip c1: 150 labels, more than the bound of 100"
    fine = served(hostile.url("labels-100"), tmp_path / "b", max_new_tokens=4096).predict([Clip(name="c1")])
    assert fine["c1"].ok and len(fine["c1"].labels) == 100

