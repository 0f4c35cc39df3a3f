"""The project's one client for OpenAI-compatible chat servers (lmdeploy api_server, vLLM, ...).

Live members that sit behind a server and the `llm` extractor both talk through ChatClient:
requests spread over several endpoints (least busy first, a failing endpoint is avoided for a
while and its request goes to another), at most `concurrency` requests are in flight across
all endpoints, and each request gets a timeout and retries with exponential backoff.
Retried: connection errors, timeouts, HTTP 5xx and 429, and bodies without a usable answer.
Not retried: other 4xx, which will fail the same way again.

A server is trusted with the media it is sent, not with the client's memory, time or key
(httpx underneath, through a transport of our own for the deadline):
- no redirect is followed: the request, and the API key with it, go to the configured endpoint
  only, and a POST never turns into a GET; a redirect is one error naming both URLs;
- `timeout` is a deadline for the whole exchange (connect, request, headers, body), not for each
  socket read, so a server dripping a byte at a time fails at the deadline;
- a reply is read up to a cap (body_limit, from max_tokens), never whole whatever its size, and
  an answer longer than max_tokens allows (answer_limit) is refused, not stored.
Proxy settings of the environment are not used (the deadline covers direct connections).
"""
from __future__ import annotations

import functools
import json
import logging
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from typing import Any, Mapping, Sequence

import httpcore
import httpx

from core.errors import InputError, excerpt

log = logging.getLogger(__name__)

EXCERPT = 160  # characters of a bad body quoted in an error
# An answer may hold this many bytes (UTF-8) per token asked for, plus ANSWER_SLACK: far above any
# tokenizer's tokens (a few characters on average), far below what a runaway server sends.
BYTES_PER_TOKEN = 32
ANSWER_SLACK = 1024
# The reply around an answer: JSON may write one byte of text as six ("\u0001"), plus the envelope.
ESCAPE_FACTOR = 6
BODY_SLACK = 64 * 1024
MODELS_LIMIT = 1 << 20  # bytes of a GET /v1/models reply
ERROR_LIMIT = 4096  # bytes of an error reply read, for its excerpt


def answer_limit(max_tokens: int) -> int:
    """The most bytes (UTF-8) an answer of at most `max_tokens` tokens may hold."""
    return BYTES_PER_TOKEN * max(0, int(max_tokens)) + ANSWER_SLACK


def body_limit(max_tokens: int) -> int:
    """The most bytes of a chat reply read for an answer of at most `max_tokens` tokens."""
    return ESCAPE_FACTOR * answer_limit(max_tokens) + BODY_SLACK


class ServerError(InputError):
    """No usable answer from the server(s): names the endpoints tried, the attempts made and the
    last failure (with a short excerpt of the body the server sent, when it sent one)."""

    def __init__(self, message: str, endpoints: Sequence[str] = (), attempts: int = 0, status: int | None = None):
        super().__init__(message)
        self.endpoints = list(endpoints)
        self.attempts = attempts
        self.status = status


class _Failure(Exception):
    """One failed attempt; `retry` says whether another attempt may succeed."""

    def __init__(self, detail: str, retry: bool, status: int | None = None):
        super().__init__(detail)
        self.retry = retry
        self.status = status


def body_excerpt(data: bytes | str) -> str:
    """A short, marked quote of a server's body for an error message (core.errors.excerpt)."""
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else str(data)
    return excerpt(" ".join(text.split()), EXCERPT)


def chat_url(endpoint: str) -> str:
    """The chat-completions URL of a server root, a '.../v1' root or a full chat URL."""
    url = endpoint.strip().rstrip("/")
    if url.endswith("/chat/completions"):
        return url
    return f"{url}/chat/completions" if url.endswith("/v1") else f"{url}/v1/chat/completions"


def models_url(endpoint: str) -> str:
    """The GET /v1/models URL beside an endpoint's chat URL."""
    return chat_url(endpoint)[: -len("/chat/completions")] + "/models"


def answer_text(reply: Any) -> str:
    """The assistant text of a chat-completions reply; ValueError when it has none."""
    try:
        content = reply["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise ValueError("no choices[0].message.content in the reply") from None
    if isinstance(content, list):  # some servers answer with content parts
        content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
    if not isinstance(content, str):
        raise ValueError(f"choices[0].message.content is {type(content).__name__}, not text")
    return content


def clean_text(text: str) -> str:
    """`text` with lone surrogates (JSON can carry "\\ud800") replaced: what is stored must encode as UTF-8."""
    return text if text.isascii() else text.encode("utf-8", "replace").decode("utf-8")


# ---- the deadline -------------------------------------------------------------------------------
# httpx bounds each socket operation, not an exchange. The deadline of the request a thread is
# making sits here, and every socket operation of that thread waits at most until it.
_deadline = threading.local()
_WRITE_PIECE = 64 * 1024  # a write is cut so that each piece sees the time left


def _within(timeout: float | None, expired: type[Exception]) -> float | None:
    """The timeout of one socket operation: its own, cut to what is left of the deadline."""
    at = getattr(_deadline, "at", None)
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise expired("the request's deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every read and write ends by the deadline."""

    def __init__(self, stream: httpcore.NetworkStream):
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _within(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        for start in range(0, len(buffer), _WRITE_PIECE):
            self._stream.write(buffer[start:start + _WRITE_PIECE], _within(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname: str | None = None, timeout: float | None = None):
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname,
                                                      _within(timeout, httpcore.ConnectTimeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's socket backend, its streams bound by the deadline."""

    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        stream = self._backend.connect_tcp(host, port, _within(timeout, httpcore.ConnectTimeout),
                                           local_address, socket_options)
        return _DeadlineStream(stream)

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        stream = self._backend.connect_unix_socket(path, _within(timeout, httpcore.ConnectTimeout), socket_options)
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One TLS context (httpx's defaults) for every client: loading the CA bundle takes tens of ms."""
    return httpx.create_ssl_context(trust_env=False)


class _DeadlineTransport(httpx.HTTPTransport):
    """httpx's transport over the deadline backend. HTTPTransport takes no backend, so its pool
    (`_pool`, the one attribute it sends through) is replaced by one built the same way with it."""

    def __init__(self) -> None:
        super().__init__(verify=_ssl_context(), trust_env=False)
        # No connection is kept for a next request: a server that writes its headers and body apart
        # (Python's http.server) otherwise stalls each reply on a kept connection by the peer's
        # delayed ACK (about 40 ms), which a fresh connection does not wait for.
        self._pool = httpcore.ConnectionPool(ssl_context=_ssl_context(),
                                             max_connections=None, max_keepalive_connections=0,
                                             network_backend=_DeadlineBackend())


@dataclass
class ChatClient:
    """A thread-safe chat-completions client over one or more endpoints.

    endpoints: server roots ('http://host:23333') or full '.../v1/chat/completions' URLs.
    url: one more endpoint (a convenience for configs that name a single server).
    model: the served model name ('' leaves it out of the request). api_key: a Bearer token.
    timeout: seconds per attempt. retries: attempts after the first; a failed request goes at
    once to an endpoint it has not tried yet, and once it has tried them all it waits
    backoff, 2 * backoff, 4 * backoff, ... seconds before each further attempt. concurrency: requests in flight at most,
    across all endpoints and all threads using this client. cooldown: seconds a failing
    endpoint is avoided while another one is available.
    """

    endpoints: list[str] = field(default_factory=list)
    url: str = ""
    model: str = ""
    api_key: str = field(default="", repr=False)
    timeout: float = 60.0
    retries: int = 3
    backoff: float = 1.0
    concurrency: int = 8
    cooldown: float = 10.0

    def __post_init__(self) -> None:
        given = [self.endpoints] if isinstance(self.endpoints, str) else list(self.endpoints or [])
        if self.url:
            given.append(self.url)
        given = [str(endpoint).strip() for endpoint in given if str(endpoint).strip()]
        if not given:
            raise InputError("chat client: no endpoint given (set url or endpoints)")
        for endpoint in given:
            if not endpoint.startswith(("http://", "https://")):
                raise InputError(f"chat client: endpoint '{endpoint}' is not an http(s) URL")
        urls = list(dict.fromkeys(chat_url(endpoint) for endpoint in given))
        for url in urls:
            try:
                parsed = httpx.URL(url)
                if not parsed.host or not 0 < (parsed.port or 80) < 65536:
                    raise httpx.InvalidURL("no host, or a port out of range")
            except httpx.InvalidURL as error:
                raise InputError(f"chat client: endpoint {excerpt(url, EXCERPT)} is not a valid URL ({error})") from None
        if not isinstance(self.retries, int) or self.retries < 0:
            raise InputError(f"chat client: retries must be an integer ≥ 0, got {self.retries!r}")
        if not isinstance(self.concurrency, int) or self.concurrency < 1:
            raise InputError(f"chat client: concurrency must be an integer ≥ 1, got {self.concurrency!r}")
        if not self.timeout or self.timeout <= 0 or self.backoff < 0:
            raise InputError("chat client: timeout must be > 0 and backoff ≥ 0")
        self._urls = urls
        self._start()

    def _start(self) -> None:
        """The shared state of a fresh client: free slots, idle endpoints."""
        self._slots = threading.BoundedSemaphore(self.concurrency)
        self._lock = threading.Lock()
        self._busy = {url: 0 for url in self._urls}
        self._down_until = {url: 0.0 for url in self._urls}
        self._turn = 0
        self._http = httpx.Client(transport=_DeadlineTransport(), follow_redirects=False, trust_env=False,
                                  timeout=self.timeout)

    def __getstate__(self) -> dict[str, Any]:
        # locks and connections do not pickle (joblib workers, deepcopy): a copy starts afresh
        return {key: value for key, value in self.__dict__.items() if key in {f.name for f in fields(self)} | {"_urls"}}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._start()

    @classmethod
    def from_mapping(cls, spec: Mapping[str, Any], where: str = "chat client") -> "ChatClient":
        """A client from a config section ({url, model, ...}); one clear error for an unknown key."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(spec) - known)
        if unknown:
            raise InputError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        return cls(**dict(spec))

    @property
    def urls(self) -> list[str]:
        """The chat-completions URLs this client sends to."""
        return list(self._urls)

    # ---- choosing an endpoint -----------------------------------------------------------------
    def _pick(self, tried: set[str]) -> str:
        """The endpoint for the next attempt: untried by this request, not cooling down, least
        busy, and round-robin among equals (so idle endpoints share the load)."""
        with self._lock:
            now = time.monotonic()
            count = len(self._urls)
            order = [self._urls[(self._turn + i) % count] for i in range(count)]
            self._turn = (self._turn + 1) % count
            url = min(order, key=lambda u: (u in tried, self._down_until[u] > now, self._busy[u]))
            self._busy[url] += 1
            return url

    def _release(self, url: str, failed: bool) -> None:
        with self._lock:
            self._busy[url] -= 1
            self._down_until[url] = time.monotonic() + self.cooldown if failed else 0.0

    # ---- one attempt --------------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        # identity: a compressed body would be inflated past the byte cap before it is counted
        headers = {"Content-Type": "application/json", "Accept": "application/json", "Accept-Encoding": "identity"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def _exchange(self, method: str, url: str, limit: int, body: bytes | None = None) -> tuple[int, bytes]:
        """(status, body) of one request, within the deadline; no redirect followed; at most `limit`
        bytes of a successful reply read (more is a failure), ERROR_LIMIT of an error reply."""
        _deadline.at = time.monotonic() + self.timeout
        try:
            with self._http.stream(method, url, content=body, headers=self._headers()) as response:
                status = response.status_code
                if 300 <= status < 400:
                    location = response.headers.get("location", "(no Location)")
                    raise _Failure(f"{url} redirects (HTTP {status}) to {excerpt(location, EXCERPT)}: not followed, "
                                   "so the request and its key go to the configured endpoint only; configure the "
                                   "final URL instead", retry=False, status=status)
                encoding = response.headers.get("content-encoding", "identity").strip().lower()
                if encoding not in ("", "identity"):
                    raise _Failure(f"{url} sent a {excerpt(encoding)}-encoded reply, which was not asked for",
                                   retry=False, status=status)
                if status >= 400:
                    return status, self._read(response, ERROR_LIMIT, url, cut=True)
                return status, self._read(response, limit, url)
        except httpx.TimeoutException:
            raise _Failure(f"no answer from {url} within {self.timeout:g} s", True) from None
        except httpx.ConnectError as error:
            raise _Failure(f"cannot reach {url} ({error})", True) from None
        except httpx.HTTPError as error:
            raise _Failure(f"connection to {url} failed ({type(error).__name__}: {error})", True) from None
        finally:
            _deadline.at = None

    @staticmethod
    def _read(response: httpx.Response, limit: int, url: str, cut: bool = False) -> bytes:
        """At most `limit` bytes of the body, read as they come; more is a failure (or, with
        `cut`, left unread)."""
        declared = response.headers.get("content-length", "")
        if not cut and declared.isdigit() and int(declared) > limit:
            raise _Failure(f"reply from {url} declares {int(declared)} bytes, more than the cap of {limit}: not read",
                           retry=False, status=response.status_code)
        data = bytearray()
        for chunk in response.iter_raw():
            data += chunk
            if len(data) > limit:
                if cut:
                    return bytes(data[:limit])
                raise _Failure(f"reply from {url} longer than the cap of {limit} bytes: not read further",
                               retry=False, status=response.status_code)
        return bytes(data)

    def _attempt(self, url: str, body: bytes, max_tokens: int) -> str:
        status, data = self._exchange("POST", url, body_limit(max_tokens), body)
        if status >= 400:
            retry = status >= 500 or status == 429
            raise _Failure(f"HTTP {status} from {url}: {body_excerpt(data)}", retry, status)
        try:
            text = answer_text(json.loads(data.decode("utf-8")))
        except (ValueError, UnicodeDecodeError, RecursionError) as error:
            reason = ("not JSON" if isinstance(error, (json.JSONDecodeError, UnicodeDecodeError, RecursionError))
                      else str(error))
            raise _Failure(f"unusable reply from {url} ({reason}): {body_excerpt(data)}", True) from None
        text = clean_text(text)
        size, most = len(text.encode("utf-8")), answer_limit(max_tokens)
        if size > most:
            raise _Failure(f"answer from {url} of {size} bytes, more than max_tokens={max_tokens} allows ({most}): "
                           "refused", retry=False)
        return text

    # ---- the API ------------------------------------------------------------------------------
    def chat(self, messages: list[dict], max_tokens: int, temperature: float = 0.0, **extra: Any) -> str:
        """The assistant's text for one conversation; ServerError when no attempt gave one.
        `extra` goes into the request body as is (e.g. top_p, stop)."""
        payload: dict[str, Any] = {"messages": messages, "max_tokens": max_tokens, "temperature": temperature, **extra}
        if self.model:
            payload = {"model": self.model, **payload}
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        tried: list[str] = []
        failure: _Failure | None = None
        attempts = repeats = 0
        for attempt in range(self.retries + 1):
            if attempt and set(tried) >= set(self._urls):
                # every endpoint failed this request already: back off before asking again
                time.sleep(self.backoff * 2**repeats)
                repeats += 1
            with self._slots:
                url = self._pick(set(tried))
                attempts += 1
                tried.append(url)
                try:
                    text = self._attempt(url, body, max_tokens)
                except _Failure as error:
                    self._release(url, failed=error.retry)
                    failure = error
                    log.debug("chat attempt %d failed: %s", attempts, error)
                    if not error.retry:
                        break
                    continue
                except BaseException:
                    self._release(url, failed=False)
                    raise
                self._release(url, failed=False)
                return text
        names = ", ".join(dict.fromkeys(tried))
        plural = "s" if attempts != 1 else ""
        raise ServerError(
            f"{names}: no usable answer after {attempts} attempt{plural}"
            f"{'' if failure is None or failure.retry else ' (not retried)'}; last: {failure}",
            endpoints=list(dict.fromkeys(tried)),
            attempts=attempts,
            status=failure.status if failure else None,
        )

    def chat_many(
        self, conversations: Sequence[list[dict]], max_tokens: int, temperature: float = 0.0, **extra: Any
    ) -> list[str | Exception]:
        """chat() for each conversation, `concurrency` at a time; answers in the order given, an
        exception in the place of each request that failed."""

        def one(messages: list[dict]) -> str | Exception:
            try:
                return self.chat(messages, max_tokens, temperature, **extra)
            except Exception as error:  # noqa: BLE001 - a failed request is that slot's answer
                return error

        if not conversations:
            return []
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(conversations))) as pool:
            return list(pool.map(one, conversations))

    def served_models(self) -> dict[str, list[str] | ServerError]:
        """GET /v1/models of each endpoint: {chat URL: model ids, or the error that endpoint gave}."""
        found: dict[str, list[str] | ServerError] = {}
        for url in self._urls:
            where = models_url(url)
            try:
                status, data = self._exchange("GET", where, MODELS_LIMIT)
            except _Failure as error:
                found[url] = ServerError(f"{where}: {str(error).replace(where, 'the server')}", [url], 1, error.status)
                continue
            if status >= 400:
                found[url] = ServerError(f"{where}: HTTP {status}", [url], 1, status)
                continue
            try:
                reply = json.loads(data.decode("utf-8"))
                found[url] = [str(item["id"]) for item in reply["data"]]
            except (ValueError, KeyError, TypeError, RecursionError):
                found[url] = ServerError(f"{where}: not an OpenAI model list: {body_excerpt(data)}", [url], 1)
        return found

    def close(self) -> None:
        """Close the client's connections; it takes no request after this."""
        self._http.close()

    def check(self) -> list[str]:
        """The endpoints that answer GET /v1/models; ServerError when none does. A down endpoint
        among live ones is only logged (requests avoid it), and a model that an endpoint does not
        list is an error, since every request to it would fail."""
        live = []
        problems = []
        for url, models in self.served_models().items():
            if isinstance(models, ServerError):
                problems.append(str(models))
            elif self.model and models and self.model not in models:
                problems.append(f"{url}: does not serve model '{self.model}' (it serves {', '.join(models)})")
            else:
                live.append(url)
        if not live:
            raise ServerError("; ".join(problems), self._urls, len(self._urls))
        for problem in problems:
            log.warning("%s", problem)
        return live
