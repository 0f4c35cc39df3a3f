"""The LLM extractor: asks an OpenAI-compatible chat server for the person's emotion labels.

For users who run a server (lmdeploy `api_server`, vLLM, ...) with e.g. Qwen2.5-7B-Instruct,
this reproduces the official extraction step with temperature 0. Each answer is cached on disk
as JSON, keyed by a hash of model, prompt and description, so a rerun sends no request for a
description it has seen. Requests go through members.http.ChatClient (the project's one chat
client: several endpoints, bounded concurrency, timeout, retries with backoff).

Answers are read by members.answers.parse_answer, the live members' parser: `[a, b]`,
`Emotions: a, b`, Chinese lists and `情绪：` lines, markdown, a bare short list. An answer it
cannot read counts as no labels for that clip, with a warning that quotes it (the run goes on:
one odd answer of a model is not a reason to lose the others); the cache keeps the raw answer
and a cached answer is parsed again when read, so a better parser applies without asking again.
"""
from __future__ import annotations

import hashlib
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from core.files import atomic_write_text
from core.uses import PathUse
from core.progress import progress
from members.answers import parse_answer as parse_any_answer
from members.extract.base import Extractor
from members.http import ChatClient

log = logging.getLogger(__name__)

PROMPT = (
    "Below is a description of a person in a video clip, written by another model. "
    "Extract the emotion labels that the description concludes the person feels. "
    "Leave out emotions that are negated (e.g. 'shows no signs of anger'), emotions of other people "
    "or of the scene, and words that are not emotions. "
    "Answer with a list only, in the form [label1, label2, ...]; answer [] if no emotion is named.\n\n"
    "Description: {description}"
)
_EXCERPT = 80


def parse_answer(answer: str) -> list[str] | None:
    """The labels of an answer ('[happy, relieved]', 'Emotions: happy, relieved', '情绪：开心'); []
    for an empty answer or an empty list; None when a non-empty answer holds no list it can read."""
    if not (answer or "").strip():
        return []
    return parse_any_answer(answer)[1]


def _excerpt(answer: str) -> str:
    flat = " ".join(answer.split())
    return repr(flat if len(flat) <= _EXCERPT else flat[:_EXCERPT] + "...")


@dataclass
class LLMExtractor(Extractor):
    """Chat-completions extraction.

    url: the server root (".../v1/chat/completions" is appended unless the URL already ends so).
    endpoints: more server roots or URLs; requests spread over all of them (url included).
    model: the model name the server serves. cache_dir: the cache root; answers go under its
    llm/ folder ('' = no cache; a config run hands down the run's cache_dir).
    workers: concurrent requests. timeout: seconds per request. retries: extra attempts after a
    failure, on another endpoint first, then with exponential backoff starting at `backoff`
    seconds (see ChatClient). api_key: sent as a Bearer token
    when given. max_chars: descriptions are cut to their last max_chars characters.
    """

    url: str = "http://127.0.0.1:23333"
    model: str = "Qwen2.5-7B-Instruct"
    prompt: str = PROMPT
    cache_dir: str = ""
    workers: int = 8
    timeout: float = 60.0
    retries: int = 3
    backoff: float = 1.0
    max_tokens: int = 128
    api_key: str = ""
    max_chars: int = 20000
    endpoints: list[str] = field(default_factory=list)

    def client(self) -> ChatClient:
        """The chat client for the current parameters (rebuilt after set_params changes them)."""
        spec = (self.url, tuple(self.endpoints or ()), self.model, self.api_key, self.timeout, self.retries,
                self.backoff, self.workers)
        if getattr(self, "_client_spec", None) != spec:
            self._client = ChatClient(
                endpoints=list(self.endpoints or ()), url=self.url, model=self.model, api_key=self.api_key,
                timeout=self.timeout, retries=self.retries, backoff=self.backoff, concurrency=max(1, self.workers),
            )
            self._client_spec = spec
        return self._client

    def _key(self, description: str) -> str:
        text = json.dumps([self.model, self.prompt, description], ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def paths(self) -> list[PathUse]:
        """The folder of its cached answers."""
        return [PathUse(str(Path(self.cache_dir) / "llm"), "cache", folder=True, writes=True)] if self.cache_dir else []

    def _cache_path(self, description: str) -> Path | None:
        if not self.cache_dir:
            return None
        key = self._key(description)
        return Path(self.cache_dir) / "llm" / key[:2] / f"{key}.json"

    def _ask(self, description: str) -> str:
        messages = [{"role": "user", "content": self.prompt.format(description=description)}]
        return self.client().chat(messages, max_tokens=self.max_tokens, temperature=0)

    def answer(self, description: str | None) -> str:
        """The server's answer for a description (from the cache when it was asked before); ''
        for an empty description."""
        text = (description or "").strip()[-self.max_chars :]
        if not text:
            return ""
        path = self._cache_path(text)
        if path is not None and path.is_file():
            try:
                return str(json.loads(path.read_text(encoding="utf-8"))["answer"])
            except (ValueError, KeyError, TypeError):
                log.warning("%s: unreadable cache entry, asking again", path)
        answer = self._ask(text)
        if path is not None:
            record = {"model": self.model, "answer": answer, "labels": parse_answer(answer) or []}
            atomic_write_text(path, json.dumps(record, ensure_ascii=False))
        return answer

    def extract(self, description: str | None, member: str | None = None) -> list[str]:
        answer = self.answer(description)
        labels = parse_answer(answer)
        if labels is None:
            log.warning("llm extractor%s: the answer holds no label list, counted as no labels: %s",
                        f" (member '{member}')" if member else "", _excerpt(answer))
        return labels or []

    def extract_many(self, descriptions: Mapping[str, str | None], member: str | None = None) -> dict[str, list[str]]:
        clips = list(descriptions)
        with ThreadPoolExecutor(max_workers=max(1, self.workers)) as pool:
            answers = dict(zip(clips, progress(pool.map(lambda clip: self.answer(descriptions[clip]), clips), "extract", total=len(clips))))
        labels = {clip: parse_answer(answer) for clip, answer in answers.items()}
        unread = [clip for clip, found in labels.items() if found is None]
        if unread:
            log.warning("llm extractor%s: %d of %d answers hold no label list and count as no labels "
                        "(e.g. clip %s: %s)", f" (member '{member}')" if member else "", len(unread), len(clips),
                        unread[0], _excerpt(answers[unread[0]]))
        return {clip: found or [] for clip, found in labels.items()}
