"""The LLM extractor: asks an OpenAI-compatible chat server for the person's emotion labels.

For users who run a server (lmdeploy `api_server`, vLLM, ...) with e.g. Qwen2.5-7B-Instruct,
this reproduces the official extraction step with temperature 0. Each answer is cached on disk
as JSON, keyed by a hash of model, prompt and description, so a rerun sends no request for a
description it has seen. Requests go through members.http.ChatClient (the project's one chat
client: several endpoints, bounded concurrency, timeout, retries with backoff).
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from core.files import atomic_write_text
from core.uses import PathUse
from core.labels import normalise_label
from core.progress import progress
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
_LIST = re.compile(r"\[([^\[\]]*)\]")


def parse_answer(answer: str) -> list[str]:
    """The labels of the last bracketed list in an answer ('[happy, relieved]'); [] when there is none."""
    lists = _LIST.findall(answer or "")
    if not lists:
        return []
    items = re.split(r"[,'\"/;]|\band\b", lists[-1])
    return list(dict.fromkeys(word for word in (normalise_label(item) for item in items) if word))


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

    def extract(self, description: str | None, member: str | None = None) -> list[str]:
        text = (description or "").strip()[-self.max_chars :]
        if not text:
            return []
        path = self._cache_path(text)
        if path is not None and path.is_file():
            try:
                return list(json.loads(path.read_text(encoding="utf-8"))["labels"])
            except (ValueError, KeyError, TypeError):
                log.warning("%s: unreadable cache entry, asking again", path)
        answer = self._ask(text)
        labels = parse_answer(answer)
        if path is not None:
            record = {"model": self.model, "answer": answer, "labels": labels}
            atomic_write_text(path, json.dumps(record, ensure_ascii=False))
        return labels

    def extract_many(self, descriptions: Mapping[str, str | None], member: str | None = None) -> dict[str, list[str]]:
        clips = list(descriptions)
        with ThreadPoolExecutor(max_workers=max(1, self.workers)) as pool:
            results = list(progress(pool.map(lambda clip: self.extract(descriptions[clip], member), clips), "extract", total=len(clips)))
        return dict(zip(clips, results))
