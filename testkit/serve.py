"""A minimal OpenAI-compatible chat server on 127.0.0.1, for tests, benchmarks and the smoke config.

It answers POST /v1/chat/completions and GET /v1/models, the two routes live members and the
llm extractor use, so the smoke config and the tests run the whole HTTP path against a real
socket. It is not a production server (use lmdeploy api_server or vLLM: README "Serving").
Where it cannot do what OpenAI's API does, it says so as OpenAI does, rather than answering
something else: `stream: true` and `n` > 1 are a 400, a model name it does not serve a 404
(a request without a model gets the served one, as vLLM does). `usage` counts words, not
tokens (there is no tokenizer here): whitespace-separated words of the prompt's texts plus one
per image, and of the answer.

    python -m testkit.serve --port 8000 --model local --answer "Emotions: happy, relaxed"
    python -m testkit.serve --port 8000 --model tiny --tiny-model .cache/smoke/qwen2_5_vl

- `start_server(answer_fn)` calls `answer_fn(messages) -> str` once per request, in the
  request's own thread.
- `start_engine_server(generate)` glues a model engine, `generate(requests) -> list[str]` with
  requests {prompt, images, audio, max_new_tokens}, behind the server: one worker thread
  gathers the requests in flight into batches (up to max_batch, waiting at most `wait` s).
- `messages_to_request(messages)` turns OpenAI messages back into such a request: data-URI
  images become PIL images, a data-URI video becomes sampled frames, the texts are joined.
"""
from __future__ import annotations

import base64
import binascii
import io
import json
import logging
import os
import queue
import tempfile
import threading
import time
import uuid
from concurrent.futures import Future
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

from PIL import Image, UnidentifiedImageError

from members.media import MediaError, sample_frames

log = logging.getLogger(__name__)

DEFAULT_MAX_TOKENS = 256
MAX_BODY = 512 * 1024 * 1024  # a body larger than this is refused (413)


class BadRequest(ValueError):
    """A request the server cannot use (answered with HTTP 400 and this message)."""


# ---- messages -> an engine request ---------------------------------------------------------------
def decode_data_uri(uri: str) -> tuple[str, bytes]:
    """(media type, bytes) of a base64 'data:' URI; BadRequest for anything else (no downloads)."""
    if not isinstance(uri, str) or not uri.startswith("data:"):
        shown = uri[:60] if isinstance(uri, str) else type(uri).__name__
        raise BadRequest(f"only base64 data: URIs are accepted, got {shown!r}")
    header, sep, payload = uri[5:].partition(",")
    if not sep or not header.endswith(";base64"):
        raise BadRequest("a data: URI must be base64 encoded (data:<type>;base64,<data>)")
    try:
        return header[: -len(";base64")], base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("a data: URI holds invalid base64") from None


def _url_of(part: dict, key: str) -> str:
    value = part.get(key)
    return value.get("url") if isinstance(value, dict) else value


def _temp_file(data: bytes, suffix: str, media_dir: str | Path | None) -> str:
    handle, path = tempfile.mkstemp(suffix=suffix, dir=media_dir)
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    return path


def messages_to_request(
    messages: list[dict],
    max_tokens: int | None = None,
    num_frames: int = 8,
    media_dir: str | Path | None = None,
) -> dict[str, Any]:
    """An engine request {prompt, images, audio, max_new_tokens} from OpenAI chat messages.

    The texts of all messages are joined by blank lines; image_url parts become RGB PIL images
    in order; a video_url part becomes `num_frames` sampled frames (added to images); an
    input_audio part is written to a wav file in `media_dir` (the system temp folder by
    default; the caller removes it) and its path is `audio`. BadRequest for malformed parts.
    """
    if not isinstance(messages, list) or not messages:
        raise BadRequest("'messages' must be a non-empty list")
    texts: list[str] = []
    images: list[Image.Image] = []
    audio: str | None = None
    for number, message in enumerate(messages):
        if not isinstance(message, dict):
            raise BadRequest(f"message {number} is not an object")
        content = message.get("content")
        parts = [{"type": "text", "text": content}] if isinstance(content, str) else content
        if not isinstance(parts, list):
            raise BadRequest(f"message {number}: content must be a string or a list of parts")
        for part in parts:
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text":
                texts.append(str(part.get("text", "")))
            elif kind == "image_url":
                _, data = decode_data_uri(_url_of(part, "image_url"))
                try:
                    images.append(Image.open(io.BytesIO(data)).convert("RGB"))
                except (UnidentifiedImageError, OSError):
                    raise BadRequest(f"message {number}: an image_url is not a readable image") from None
            elif kind == "video_url":
                media, data = decode_data_uri(_url_of(part, "video_url"))
                path = _temp_file(data, "." + (media.split("/")[-1] or "mp4"), media_dir)
                try:
                    images.extend(sample_frames(path, num_frames=num_frames))
                except MediaError as error:
                    raise BadRequest(f"message {number}: the video_url is not a readable video ({error})") from None
                finally:
                    os.unlink(path)
            elif kind == "input_audio":
                spec = part.get("input_audio") or {}
                try:
                    data = base64.b64decode(spec.get("data", ""), validate=True)
                except (binascii.Error, ValueError):
                    raise BadRequest(f"message {number}: input_audio holds invalid base64") from None
                audio = _temp_file(data, "." + str(spec.get("format") or "wav"), media_dir)
            else:
                raise BadRequest(f"message {number}: unsupported content part type {kind!r}")
    return {
        "prompt": "\n\n".join(text for text in texts if text),
        "images": images,
        "audio": audio,
        "max_new_tokens": int(max_tokens or DEFAULT_MAX_TOKENS),
    }


def _words(text: str) -> int:
    return len(text.split())


def prompt_size(messages: list[dict]) -> int:
    """The prompt's size for `usage`: whitespace-separated words of its texts, plus one per image
    or video part (the server has no tokenizer)."""
    size = 0
    for message in messages if isinstance(messages, list) else []:
        content = message.get("content") if isinstance(message, dict) else None
        parts = [{"type": "text", "text": content}] if isinstance(content, str) else content
        for part in parts if isinstance(parts, list) else []:
            if isinstance(part, dict):
                size += _words(str(part.get("text", ""))) if part.get("type") == "text" else 1
    return size


def check_request(body: Any, model: str) -> None:
    """BadRequest (400) for what this server cannot honour, as OpenAI's API refuses it; a model
    other than `model` is _UnknownModel (404)."""
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        raise BadRequest("the body must be a JSON object with a 'messages' list")
    if body.get("stream"):
        raise BadRequest("'stream': true is not supported by this server; send 'stream': false")
    n = body.get("n", 1)
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n != 1):
        raise BadRequest(f"'n' must be 1 on this server (got {n!r})")
    asked = body.get("model")
    if asked is not None and asked != model:
        raise _UnknownModel(f"The model `{asked}` does not exist (this server serves `{model}`).")


class _UnknownModel(LookupError):
    """A request for a model the server does not serve (HTTP 404, as OpenAI's API answers)."""


def completion(text: str, model: str, prompt_tokens: int = 0) -> dict[str, Any]:
    """A chat.completion reply body carrying `text`, with `usage` in words (see the module's docstring)."""
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": _words(text),
                  "total_tokens": prompt_tokens + _words(text)},
    }


# ---- the server ----------------------------------------------------------------------------------
class _Handler(BaseHTTPRequestHandler):
    server: "_HTTPServer"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        log.debug("%s %s", self.address_string(), format % args)

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            log.debug("the client went away before the reply")  # e.g. it timed out

    def _error(self, status: int, message: str, kind: str = "invalid_request_error") -> None:
        self._send(status, {"error": {"message": message, "type": kind, "param": None, "code": status}})

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path.rstrip("/") == "/v1/models":
            self._send(200, {"object": "list", "data": [{"id": self.server.model, "object": "model", "owned_by": "ovmer"}]})
        else:
            self._error(404, f"no route {self.path}")

    def do_POST(self) -> None:  # noqa: N802
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._error(404, f"no route {self.path}")
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            self._error(413, f"request body over {MAX_BODY} bytes")
            return
        try:
            body = json.loads(self.rfile.read(length).decode("utf-8"))
            check_request(body, self.server.model)
            text = self.server.respond(body)
        except _UnknownModel as error:
            self._error(404, str(error), kind="NotFoundError")
            return
        except (BadRequest, json.JSONDecodeError, UnicodeDecodeError) as error:
            self._error(400, str(error))
            return
        except Exception as error:  # noqa: BLE001 - a model failure is the client's 500, not a crash
            log.warning("chat request failed: %s: %s", type(error).__name__, error)
            self._error(500, f"{type(error).__name__}: {error}")
            return
        self._send(200, completion(str(text), self.server.model, prompt_size(body["messages"])))


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default listen backlog (5) drops connections of a busy client

    def __init__(self, address: tuple[str, int], respond: Callable[[dict], str], model: str):
        super().__init__(address, _Handler)
        self.respond = respond
        self.model = model


@dataclass
class Server:
    """A running server: `url` is its root ('http://127.0.0.1:PORT'); close() stops it."""

    httpd: _HTTPServer
    thread: threading.Thread
    on_close: list[Callable[[], None]] = field(default_factory=list)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def model(self) -> str:
        return self.httpd.model

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
        for action in self.on_close:
            action()
        self.on_close.clear()

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _serve(respond: Callable[[dict], str], host: str, port: int, model: str) -> Server:
    httpd = _HTTPServer((host, port), respond, model)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="ovmer-serve", daemon=True)
    thread.start()
    server = Server(httpd, thread)
    log.info("serving model '%s' at %s", model, server.url)
    return server


def start_server(
    answer_fn: Callable[[list[dict]], str], host: str = "127.0.0.1", port: int = 0, model: str = "local"
) -> Server:
    """Serve `answer_fn(messages) -> str` at http://host:port (port 0: a free one); runs in
    daemon threads, one per request, until close()."""
    return _serve(lambda body: answer_fn(body["messages"]), host, port, model)


class _Batcher:
    """Gathers concurrent requests into batches for one engine, run by one worker thread."""

    def __init__(self, generate: Callable[[list[dict]], list[str]], max_batch: int, wait: float,
                 num_frames: int, media_dir: str):
        self.generate = generate
        self.max_batch = max(1, max_batch)
        self.wait = wait
        self.num_frames = num_frames
        self.media_dir = media_dir
        self.queue: queue.Queue[tuple[dict, Future] | None] = queue.Queue()
        self.thread = threading.Thread(target=self._loop, name="ovmer-engine", daemon=True)
        self.thread.start()

    def submit(self, body: dict) -> str:
        # decode here, in the request's thread, so a bad request is that request's 400 only
        request = messages_to_request(body["messages"], body.get("max_tokens") or body.get("max_completion_tokens"),
                                      self.num_frames, self.media_dir)
        future: Future = Future()
        self.queue.put((request, future))
        return future.result()

    def stop(self) -> None:
        self.queue.put(None)
        self.thread.join(timeout=30)

    def _loop(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            batch = [item]
            deadline = time.monotonic() + self.wait
            while len(batch) < self.max_batch:
                try:
                    more = self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if more is None:
                    self.queue.put(None)  # stop after this batch
                    break
                batch.append(more)
            self._run(batch)

    def _run(self, batch: list[tuple[dict, Future]]) -> None:
        requests = [request for request, _ in batch]
        try:
            answers = list(self.generate(requests))
            if len(answers) != len(batch):
                raise RuntimeError(f"the engine gave {len(answers)} answers for {len(batch)} requests")
        except Exception as error:  # noqa: BLE001 - each waiting request gets the error (HTTP 500)
            for _, future in batch:
                future.set_exception(error)
        else:
            for (_, future), answer in zip(batch, answers):
                if isinstance(answer, BaseException):
                    future.set_exception(answer)
                else:
                    future.set_result(str(answer))
        finally:
            for request in requests:
                if request.get("audio"):
                    Path(request["audio"]).unlink(missing_ok=True)


def start_engine_server(
    generate: Callable[[list[dict]], list[str]],
    host: str = "127.0.0.1",
    port: int = 0,
    model: str = "local",
    max_batch: int = 8,
    wait: float = 0.02,
    num_frames: int = 8,
) -> Server:
    """Serve a model engine, `generate(requests) -> list[str]` (requests as messages_to_request
    makes them), batching the requests in flight: up to max_batch per call, waiting at most
    `wait` seconds for more. generate is only ever called from one thread."""
    media = tempfile.TemporaryDirectory(prefix="ovmer-serve-")
    batcher = _Batcher(generate, max_batch, wait, num_frames, media.name)
    server = _serve(batcher.submit, host, port, model)
    server.on_close.extend([batcher.stop, media.cleanup])
    return server


# ---- on its own: python -m testkit.serve -------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    """Serve a fixed answer, or a tiny random-weight Qwen2.5-VL (built in --tiny-model if missing),
    until interrupted."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m testkit.serve", description=main.__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port (printed)")
    parser.add_argument("--model", default="local", help="the served model name; requests for another get 404")
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--answer", default="Emotions: happy, relaxed", help="the answer to every request")
    what.add_argument("--tiny-model", metavar="FOLDER", help="serve a tiny random-weight Qwen2.5-VL from FOLDER")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.tiny_model:
        from members.live.worker import load_engine
        from testkit.models import tiny_qwen2_5_vl

        folder = tiny_qwen2_5_vl(args.tiny_model)
        engine = load_engine({"family": "qwen2_5_vl", "model_path": str(folder), "device": "cpu", "dtype": "float32"})
        server = start_engine_server(engine.generate, args.host, args.port, args.model)
    else:
        server = start_server(lambda messages: args.answer, args.host, args.port, args.model)
    print(server.url, flush=True)  # a script that started it on port 0 reads where it listens
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


if __name__ == "__main__":
    main()
