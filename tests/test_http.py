"""members.http.ChatClient and testkit.serve against real HTTP servers on 127.0.0.1.

The servers are real sockets: testkit.serve, and a small purpose-made http.server handler
(Scripted) that answers by a script per request number: slow, HTTP 500, 4xx, garbage, good.
Nothing is mocked; timeouts and backoff are tiny so each test runs in well under a second.
"""
from __future__ import annotations

import base64
import io
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler

import pytest
from PIL import Image

from core.errors import InputError
from members.http import ChatClient, ServerError, chat_url, models_url
from testkit.serve import BadRequest, messages_to_request, start_engine_server, start_server
from tests.hostile_http import LocalServer
from tests.hostile_http import reply_body as ok_body


class Gauge:
    """Requests in flight (possibly across several servers) and the most seen at once."""

    def __init__(self):
        self.cond = threading.Condition()
        self.now = 0
        self.peak = 0


class Scripted(LocalServer):
    """A chat server whose answer to request n (1-based) is script(n, body) -> (status, bytes).

    It records every request (path, headers, body), and the most requests it held at once.
    `hold` keeps each request open until that many are in flight (or 2 s pass), so overlap
    is certain rather than a matter of timing; `delay` sleeps before answering.
    """

    def __init__(self, script=None, delay: float = 0.0, hold: int = 0, gauge: Gauge | None = None):
        self.script = script or (lambda n, body: (200, ok_body("[happy]")))
        self.delay = delay
        self.hold = hold
        self.requests: list[tuple[str, dict, dict]] = []
        self.gauge = gauge or Gauge()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                self.reply(200, json.dumps({"object": "list", "data": [{"id": "served-model"}]}).encode())

            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                gauge = owner.gauge
                with gauge.cond:
                    owner.requests.append((self.path, dict(self.headers), json.loads(raw)))
                    number = len(owner.requests)
                    gauge.now += 1
                    gauge.peak = max(gauge.peak, gauge.now)
                    gauge.cond.notify_all()
                    if owner.hold:
                        gauge.cond.wait_for(lambda: gauge.now >= owner.hold, timeout=2)
                try:
                    time.sleep(owner.delay)
                    status, body = owner.script(number, json.loads(raw))
                    self.reply(status, body)
                finally:
                    with gauge.cond:
                        gauge.now -= 1

            def reply(self, status, body):
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and left, as the timeout tests intend

        super().__init__(Handler)
        self.url = self.root


def down_url() -> str:
    """A root on 127.0.0.1 where nothing listens (a port just freed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def ask(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def client(*endpoints, **options) -> ChatClient:
    options = {"timeout": 2.0, "retries": 2, "backoff": 0.01, "cooldown": 5.0, **options}
    return ChatClient(endpoints=list(endpoints), **options)


# ---- endpoints and settings ----------------------------------------------------------------------
@pytest.mark.parametrize("given, url", [
    ("http://h:1", "http://h:1/v1/chat/completions"),
    ("http://h:1/", "http://h:1/v1/chat/completions"),
    ("http://h:1/v1", "http://h:1/v1/chat/completions"),
    ("http://h:1/v1/chat/completions", "http://h:1/v1/chat/completions"),
    ("https://h/api/v1/chat/completions/", "https://h/api/v1/chat/completions"),
])
def test_endpoints_become_chat_urls(given, url):
    assert chat_url(given) == url
    assert models_url(given) == url.replace("/chat/completions", "/models")


def test_url_and_endpoints_join_without_duplicates():
    c = ChatClient(endpoints=["http://a:1", "http://b:2/v1"], url="http://a:1/")
    assert c.urls == ["http://a:1/v1/chat/completions", "http://b:2/v1/chat/completions"]
    assert ChatClient(endpoints="http://a:1").urls == ["http://a:1/v1/chat/completions"]  # a single string


@pytest.mark.parametrize("options, message", [
    ({}, "no endpoint"),
    ({"url": "ftp://h"}, "not an http"),
    ({"url": "http://h", "retries": -1}, "retries"),
    ({"url": "http://h", "concurrency": 0}, "concurrency"),
    ({"url": "http://h", "timeout": 0}, "timeout"),
    ({"url": "http://h:99999"}, "not a valid URL"),
    ({"url": "http://[::1"}, "not a valid URL"),
    ({"url": "http:///v1"}, "not a valid URL"),
])
def test_bad_settings_are_one_clear_error(options, message):
    with pytest.raises(InputError, match=message):
        ChatClient(**options)


def test_from_mapping_names_an_unknown_key():
    assert ChatClient.from_mapping({"url": "http://h", "model": "m"}).model == "m"
    with pytest.raises(InputError, match="two_stage: unknown key.*modle"):
        ChatClient.from_mapping({"url": "http://h", "modle": "m"}, where="two_stage")


# ---- answers -----------------------------------------------------------------------------------
def test_a_request_is_openai_style_with_model_key_and_temperature():
    with Scripted() as server:
        answer = client(server.url, model="qwen", api_key="sekret").chat(ask("hi"), max_tokens=7, top_p=0.5)
        assert answer == "[happy]"
        path, headers, body = server.requests[0]
    assert path == "/v1/chat/completions"
    assert headers["Authorization"] == "Bearer sekret"
    assert body == {"model": "qwen", "messages": ask("hi"), "max_tokens": 7, "temperature": 0.0, "top_p": 0.5}


def test_content_given_as_parts_is_joined():
    reply = json.dumps({"choices": [{"message": {"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}}]})
    with Scripted(lambda n, body: (200, reply.encode())) as server:
        assert client(server.url).chat(ask("x"), 5) == "ab"


def test_chat_many_keeps_order_and_puts_an_exception_in_a_failed_slot():
    def script(n, body):
        text = body["messages"][0]["content"]
        return (400, b'{"error": "bad prompt"}') if text == "bad" else (200, ok_body(text.upper()))

    with Scripted(script) as server:
        answers = client(server.url, concurrency=4).chat_many([ask(w) for w in ["a", "b", "bad", "c", "d"]], 5)
    assert answers[:2] == ["A", "B"] and answers[3:] == ["C", "D"]
    assert isinstance(answers[2], ServerError) and "HTTP 400" in str(answers[2])
    assert client("http://h").chat_many([], 5) == []


def test_requests_spread_over_endpoints():
    with Scripted() as one, Scripted() as two:
        c = client(one.url, two.url)
        for _ in range(10):
            c.chat(ask("x"), 5)
        assert len(one.requests) == 5 and len(two.requests) == 5


def test_two_endpoints_with_one_down_every_request_still_succeeds():
    with Scripted() as up:
        c = client(down_url(), up.url, retries=1)
        answers = c.chat_many([ask(str(i)) for i in range(8)], 5)
        assert answers == ["[happy]"] * 8
        assert len(up.requests) == 8


# ---- failures ----------------------------------------------------------------------------------
def test_500_once_then_success_is_retried():
    with Scripted(lambda n, body: (500, b"busy") if n == 1 else (200, ok_body("[calm]"))) as server:
        assert client(server.url).chat(ask("x"), 5) == "[calm]"
        assert len(server.requests) == 2


def test_always_500_is_an_error_naming_the_endpoint_attempts_and_body():
    with Scripted(lambda n, body: (500, b"CUDA out of memory " * 50)) as server:
        with pytest.raises(ServerError) as caught:
            client(server.url, retries=2).chat(ask("x"), 5)
        assert len(server.requests) == 3
    message = str(caught.value)
    assert f"{server.url}/v1/chat/completions" in message and "after 3 attempts" in message
    assert "HTTP 500" in message and "CUDA out of memory" in message
    assert len(message) < 500  # the body is quoted as a short excerpt only
    assert caught.value.attempts == 3 and caught.value.status == 500 and isinstance(caught.value, InputError)


def test_429_is_retried_but_other_4xx_are_not():
    with Scripted(lambda n, body: (429, b"slow down") if n == 1 else (200, ok_body("ok"))) as server:
        assert client(server.url).chat(ask("x"), 5) == "ok"
    with Scripted(lambda n, body: (404, b'{"error": "model not found"}')) as server:
        with pytest.raises(ServerError, match=r"after 1 attempt \(not retried\).*HTTP 404.*model not found"):
            client(server.url, retries=3).chat(ask("x"), 5)
        assert len(server.requests) == 1


@pytest.mark.parametrize("body, reason", [
    (b"<html>Bad Gateway</html>", "not JSON"),
    (b'{"choices": []}', "no choices"),
    (b'{"object": "error", "message": "oops"}', "no choices"),
    (b'{"choices": [{"message": {"content": null}}]}', "NoneType, not text"),
    (b"\xff\xfe\x00", "not JSON"),
])
def test_garbage_bodies_are_retried_then_a_clear_error(body, reason):
    with Scripted(lambda n, _: (200, body)) as server:
        with pytest.raises(ServerError, match=reason) as caught:
            client(server.url, retries=1).chat(ask("x"), 5)
        assert len(server.requests) == 2
    assert "unusable reply" in str(caught.value)


def test_garbage_once_then_a_good_answer():
    with Scripted(lambda n, _: (200, b"not json") if n == 1 else (200, ok_body("fine"))) as server:
        assert client(server.url).chat(ask("x"), 5) == "fine"


def test_a_server_slower_than_the_timeout_is_retried_then_an_error():
    with Scripted(delay=1.0) as server:
        with pytest.raises(ServerError, match=r"after 2 attempts.*within 0.2 s"):
            client(server.url, timeout=0.2, retries=1).chat(ask("x"), 5)
        assert len(server.requests) == 2


def test_a_timeout_fails_only_its_own_request():
    def script(n, body):
        if body["messages"][0]["content"] == "slow":
            time.sleep(1.0)
        return 200, ok_body("done")

    with Scripted(script) as server:
        answers = client(server.url, timeout=0.3, retries=0).chat_many([ask("a"), ask("slow"), ask("b")], 5)
    assert answers[0] == answers[2] == "done" and isinstance(answers[1], ServerError)


def test_all_endpoints_down_names_them_all():
    first, second = down_url(), down_url()
    with pytest.raises(ServerError, match="cannot reach") as caught:
        client(first, second, retries=1).chat(ask("x"), 5)
    assert first in str(caught.value) and second in str(caught.value)


# ---- concurrency -------------------------------------------------------------------------------
def test_concurrency_bounds_requests_in_flight():
    with Scripted(hold=3) as server:
        answers = client(server.url, concurrency=3, timeout=10.0).chat_many([ask(str(i)) for i in range(9)], 5)
        assert answers == ["[happy]"] * 9
        assert server.gauge.peak == 3  # held until 3 were in flight, and never more


def test_concurrency_is_shared_by_threads_and_endpoints():
    gauge = Gauge()
    with Scripted(hold=2, gauge=gauge) as one, Scripted(hold=2, gauge=gauge) as two:
        c = client(one.url, two.url, concurrency=2, timeout=10.0)  # a lone request is held 2 s: no retry
        threads = [threading.Thread(target=c.chat_many, args=([ask("x")] * 4, 5)) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(one.requests) + len(two.requests) == 12
        assert gauge.peak == 2  # across both servers and all three threads


def test_concurrency_is_shared_by_threads_calling_one_client():
    with Scripted(hold=2) as server:
        c = client(server.url, concurrency=2, timeout=10.0)  # a held request is not a timeout on a busy machine
        threads = [threading.Thread(target=c.chat_many, args=([ask("x")] * 4, 5)) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(server.requests) == 12 and server.gauge.peak == 2


# ---- server checks -----------------------------------------------------------------------------
def test_check_keeps_live_endpoints_and_fails_when_none_answers():
    with Scripted() as up:
        dead = down_url()
        assert client(dead, up.url, model="served-model").check() == [f"{up.url}/v1/chat/completions"]
        with pytest.raises(ServerError, match="does not serve model 'other'.*served-model"):
            client(up.url, model="other").check()
    with pytest.raises(ServerError, match=f"{dead}/v1/models: cannot reach"):
        client(dead).check()


# ---- the built-in server -----------------------------------------------------------------------
def png_uri(color) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), color).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def test_messages_to_request_decodes_images_and_joins_texts():
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": png_uri("red")}},
            {"type": "image_url", "image_url": png_uri("blue")},  # the older plain-string form
            {"type": "text", "text": "What does she feel?"},
        ]},
    ]
    request = messages_to_request(messages, max_tokens=33)
    assert request["prompt"] == "Be brief.\n\nWhat does she feel?"
    assert [image.getpixel((0, 0)) for image in request["images"]] == [(255, 0, 0), (0, 0, 255)]
    assert request["audio"] is None and request["max_new_tokens"] == 33


@pytest.mark.parametrize("part, message", [
    ({"type": "image_url", "image_url": {"url": "http://example.com/a.png"}}, "only base64 data: URIs"),
    ({"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@"}}, "invalid base64"),
    ({"type": "image_url", "image_url": {"url": "data:image/png;base64," + base64.b64encode(b"nope").decode()}},
     "not a readable image"),
    ({"type": "tool_call"}, "unsupported content part"),
])
def test_messages_to_request_rejects_bad_parts(part, message):
    with pytest.raises(BadRequest, match=message):
        messages_to_request([{"role": "user", "content": [part]}])


def test_start_server_answers_chat_and_models():
    seen = []

    def answer_fn(messages):
        seen.append(messages)
        return f"echo: {messages[-1]['content']}"

    with start_server(answer_fn, model="tiny") as server:
        c = client(server.url, model="tiny")
        assert c.chat(ask("hello"), 5) == "echo: hello"
        assert c.check() == [f"{server.url}/v1/chat/completions"]
        assert seen == [ask("hello")]


def test_start_server_turns_failures_into_http_errors():
    def answer_fn(messages):
        if messages[-1]["content"] == "boom":
            raise RuntimeError("model crashed")
        return messages_to_request(messages)["prompt"]

    with start_server(answer_fn) as server:
        with pytest.raises(ServerError, match=r"after 2 attempts.*HTTP 500.*model crashed"):
            client(server.url, retries=1).chat(ask("boom"), 5)
        bad = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "file:///etc/passwd"}}]}]
        with pytest.raises(ServerError, match=r"not retried.*HTTP 400.*only base64 data"):
            client(server.url, retries=3).chat(bad, 5)
        with pytest.raises(ServerError, match="HTTP 404"):
            client(server.url + "/v2/chat/completions").chat(ask("x"), 5)


def test_engine_server_batches_requests_in_flight():
    batches = []

    def generate(requests):
        batches.append(len(requests))
        return [f"{r['prompt']}:{len(r['images'])}:{r['max_new_tokens']}" for r in requests]

    with start_engine_server(generate, max_batch=4, wait=0.5) as server:
        conversations = [[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": png_uri("red")}},
                                                       {"type": "text", "text": f"q{i}"}]}] for i in range(4)]
        answers = client(server.url, concurrency=4).chat_many(conversations, 9)
    assert answers == [f"q{i}:1:9" for i in range(4)]
    assert sum(batches) == 4 and max(batches) > 1  # requests in flight shared a generate call


def test_engine_server_reports_an_engine_failure_per_batch():
    def generate(requests):
        raise MemoryError("out of memory")

    with start_engine_server(generate, wait=0.0) as server:
        with pytest.raises(ServerError, match="HTTP 500.*MemoryError: out of memory"):
            client(server.url, retries=0).chat(ask("x"), 5)
