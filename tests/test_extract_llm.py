"""The LLM extractor against a real HTTP server on 127.0.0.1, started by these tests.

The server stands in for an OpenAI-compatible endpoint (lmdeploy api_server / vLLM): no model
weights exist here, so it answers with canned chat-completions replies. Everything on the
client side (HTTP, JSON, retries, timeout, thread pool, disk cache) runs for real.
"""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from core.errors import InputError
from members.extract.llm import LLMExtractor, parse_answer
from testkit.serve import start_server


class FakeServer:
    """Answers POST /v1/chat/completions; `fail_first` requests get HTTP 500, `delay` slows every answer."""

    def __init__(self, fail_first=0, delay=0.0):
        self.requests = []
        self.fail_first = fail_first
        self.delay = delay
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with owner.lock:
                    owner.requests.append((self.path, body))
                    failing = len(owner.requests) <= owner.fail_first
                time.sleep(owner.delay)
                if failing:
                    self.send_response(500)
                    self.end_headers()
                    return
                prompt = body["messages"][0]["content"]
                answer = "[happy, relieved]" if "smiles" in prompt else "[]"
                reply = json.dumps({"choices": [{"message": {"role": "assistant", "content": answer}}]}).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and went away, as the timeout test intends

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_requests_are_openai_style_at_temperature_zero_and_cached(tmp_path):
    descriptions = {f"clip{i}": f"The woman smiles, number {i}." for i in range(6)}
    descriptions["quiet"] = "A man sits at a desk."
    descriptions["empty"] = "   "
    with FakeServer() as server:
        extractor = LLMExtractor(url=server.url, model="qwen", cache_dir=str(tmp_path), workers=4)
        labels = extractor.extract_many(descriptions)
        assert len(server.requests) == 7  # the empty description is not sent
        path, body = server.requests[0]
        assert path == "/v1/chat/completions"
        assert body["temperature"] == 0 and body["model"] == "qwen"
        assert labels["clip3"] == ["happy", "relieved"] and labels["quiet"] == [] and labels["empty"] == []
        again = LLMExtractor(url=server.url, model="qwen", cache_dir=str(tmp_path)).extract_many(descriptions)
        assert again == labels and len(server.requests) == 7  # all answered from the cache
        LLMExtractor(url=server.url, model="other", cache_dir=str(tmp_path)).extract("The woman smiles.")
        assert len(server.requests) == 8  # the cache key includes the model
    cached = list(tmp_path.rglob("*.json"))
    assert len(cached) == 8 and all((tmp_path / "llm") in path.parents for path in cached)  # under <cache_dir>/llm/


def test_server_errors_are_retried(tmp_path):
    with FakeServer(fail_first=2) as server:
        extractor = LLMExtractor(url=server.url, retries=3, backoff=0.01)
        assert extractor.extract("She smiles.") == ["happy", "relieved"]
        assert len(server.requests) == 3


def test_timeout_then_a_clear_error():
    with FakeServer(delay=0.5) as server:
        extractor = LLMExtractor(url=server.url, timeout=0.1, retries=1, backoff=0.01)
        with pytest.raises(InputError, match="no usable answer after 2 attempts"):
            extractor.extract("She smiles.")


def test_unreachable_server_is_a_clear_error():
    extractor = LLMExtractor(url="http://127.0.0.1:9", retries=0, timeout=1)
    with pytest.raises(InputError, match="127.0.0.1:9"):
        extractor.extract("She smiles.")


@pytest.mark.parametrize(
    "answer, labels",
    [
        ("[happy, relieved]", ["happy", "relieved"]),
        ("The labels are ['Anxious', 'worried'].", ["anxious", "worried"]),
        ("[doubt/disbelief]", ["doubt", "disbelief"]),
        ("no list here, sorry, I cannot tell from this description.", None),
        ("[]", []),
        ("", []),
        ("Emotions: happy, relieved", ["happy", "relieved"]),
        ("**Emotions:** *anxious*", ["anxious"]),
        ("情绪：开心，惊讶、放松", ["开心", "惊讶", "放松"]),
        ("happy, relieved", ["happy", "relieved"]),
    ],
)
def test_answers_are_parsed_to_labels(answer, labels):
    assert parse_answer(answer) == labels


def test_every_answer_shape_through_a_real_server_and_unreadable_answers_warn(tmp_path, caplog):
    """testkit.serve answers each description in another shape, as different served models do."""
    shapes = {"a": "Emotions: happy, relieved", "b": "情绪：焦虑、紧张", "c": "[sad]",
              "d": "I am not sure what the person feels here.", "e": "- calm\n- content"}

    def answer_fn(messages):
        return shapes[messages[0]["content"].rsplit("Description: ", 1)[1]]

    with start_server(answer_fn, model="qwen") as server:
        extractor = LLMExtractor(url=server.url, model="qwen", cache_dir=str(tmp_path))
        with caplog.at_level("WARNING", logger="members.extract.llm"):
            labels = extractor.extract_many({clip: clip for clip in shapes}, member="m")
    assert labels == {"a": ["happy", "relieved"], "b": ["焦虑", "紧张"], "c": ["sad"], "d": [], "e": ["calm", "content"]}
    assert "member 'm'" in caplog.text and "1 of 5 answers hold no label list" in caplog.text
    assert "clip d: 'I am not sure what the person feels here.'" in caplog.text


def test_a_cached_answer_is_parsed_again_when_read(tmp_path):
    """An answer cached by an older parser that read only [...] lists gave [] for 'Emotions: x';
    the cache keeps the answer, so it is read with today's parser and nothing is asked again."""
    extractor = LLMExtractor(url="http://127.0.0.1:9", model="qwen", cache_dir=str(tmp_path), retries=0, timeout=1)
    path = extractor._cache_path("She beams.")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"model": "qwen", "answer": "Emotions: happy", "labels": []}), encoding="utf-8")
    assert extractor.extract("She beams.") == ["happy"]  # the server at port 9 is never reached
