"""testkit.serve as a client of OpenAI's API sees it: the official `openai` SDK (the `test` extra)
against the real server on 127.0.0.1, in this process and started on its own
(`python -m testkit.serve`). Nothing is mocked."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from testkit.serve import start_server

openai = pytest.importorskip("openai")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sdk(url: str):
    return openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=10)


@pytest.fixture()
def server():
    with start_server(lambda messages: "The person smiles.\nEmotions: happy, relaxed", model="tiny") as running:
        yield running


def test_sdk_gets_the_answer_and_word_usage(server):
    reply = sdk(server.url).chat.completions.create(
        model="tiny", messages=[{"role": "user", "content": "name the emotions of this person"}])
    assert reply.choices[0].message.content == "The person smiles.\nEmotions: happy, relaxed"
    assert len(reply.choices) == 1 and reply.model == "tiny"
    # words, not tokens: 6 words asked, 6 answered
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens, reply.usage.total_tokens) == (6, 6, 12)
    assert [model.id for model in sdk(server.url).models.list()] == ["tiny"]


def test_image_parts_count_one_each_in_usage(server):
    pixel = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
    content = [{"type": "image_url", "image_url": {"url": pixel}}] * 2 + [{"type": "text", "text": "who is this"}]
    reply = sdk(server.url).chat.completions.create(model="tiny", messages=[{"role": "user", "content": content}])
    assert reply.usage.prompt_tokens == 3 + 2


def test_stream_is_refused_like_openai(server):
    with pytest.raises(openai.BadRequestError, match="stream"):
        sdk(server.url).chat.completions.create(model="tiny", messages=[{"role": "user", "content": "hi"}], stream=True)


def test_several_choices_are_refused(server):
    with pytest.raises(openai.BadRequestError, match="'n' must be 1"):
        sdk(server.url).chat.completions.create(model="tiny", messages=[{"role": "user", "content": "hi"}], n=2)


def test_unknown_model_is_404(server):
    with pytest.raises(openai.NotFoundError, match="gpt-4o"):
        sdk(server.url).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])


def test_starts_on_its_own_and_stops_on_interrupt():
    process = subprocess.Popen(
        [sys.executable, "-m", "testkit.serve", "--port", "0", "--model", "m", "--answer", "Emotions: calm"],
        cwd=REPO, env={**os.environ, "PYTHONPATH": REPO}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), process.stderr.read()
        reply = sdk(url).chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
        assert reply.choices[0].message.content == "Emotions: calm"
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
