"""The project's one client for OpenAI-compatible chat servers (lmdeploy api_server, vLLM, ...).

Live members that sit behind a server and the `llm` extractor both talk through ChatClient:
requests spread over several endpoints (least busy first, a failing endpoint is avoided for a
while and its request goes to another), at most `concurrency` requests are in flight across
all endpoints, and each request gets a timeout and retries with exponential backoff.
Retried: connection errors, timeouts, HTTP 5xx and 429, and bodies without a usable answer.
Not retried: other 4xx, which will fail the same way again. Only the standard library is used
(urllib and a thread pool), so the client adds no dependency and runs under any Python.
"""
from __future__ import annotations

import http.client
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from typing import Any, Mapping, Sequence

from core.errors import InputError, excerpt

log = logging.getLogger(__name__)

EXCERPT = 160  # characters of a bad body quoted in an error


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

    def __getstate__(self) -> dict[str, Any]:
        # locks do not pickle (joblib workers, deepcopy): a copy starts with fresh shared state
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
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def _attempt(self, url: str, body: bytes) -> str:
        request = urllib.request.Request(url, data=body, headers=self._headers(), method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                data = response.read()
        except urllib.error.HTTPError as error:
            try:
                detail = error.read()
            except (OSError, http.client.HTTPException):
                detail = b""
            retry = error.code >= 500 or error.code == 429
            raise _Failure(f"HTTP {error.code} from {url}: {body_excerpt(detail)}", retry, error.code) from None
        except urllib.error.URLError as error:
            raise _Failure(f"cannot reach {url} ({error.reason})", True) from None
        except TimeoutError:
            raise _Failure(f"no answer from {url} within {self.timeout:g} s", True) from None
        except (OSError, http.client.HTTPException) as error:
            raise _Failure(f"connection to {url} failed ({type(error).__name__}: {error})", True) from None
        try:
            return answer_text(json.loads(data.decode("utf-8")))
        except (ValueError, UnicodeDecodeError) as error:
            reason = "not JSON" if isinstance(error, (json.JSONDecodeError, UnicodeDecodeError)) else str(error)
            raise _Failure(f"unusable reply from {url} ({reason}): {body_excerpt(data)}", True) from None

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
                    text = self._attempt(url, body)
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
            request = urllib.request.Request(where, headers=self._headers(), method="GET")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    data = response.read()
                reply = json.loads(data.decode("utf-8"))
                found[url] = [str(item["id"]) for item in reply["data"]]
            except urllib.error.HTTPError as error:
                found[url] = ServerError(f"{where}: HTTP {error.code}", [url], 1, error.code)
            except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
                reason = getattr(error, "reason", error)
                found[url] = ServerError(f"{where}: cannot reach the server ({reason})", [url], 1)
            except (ValueError, KeyError, TypeError):
                found[url] = ServerError(f"{where}: not an OpenAI model list: {body_excerpt(data)}", [url], 1)
        return found

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


def server_resources(client: ChatClient) -> frozenset[str]:
    """What a member that sends through this client holds (members.base.Member.resources)."""
    return frozenset(f"server:{url}" for url in client.urls)
