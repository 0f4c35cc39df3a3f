"""A live member whose model runs behind OpenAI-compatible servers (lmdeploy api_server, vLLM).

This is how the ensemble scales past one machine: the heavy model runs on a serving engine
across GPUs and hosts, and the member stays a light client. Each clip becomes one chat request:
its sampled frames as image_url data URIs (or, with send_video, the video file itself as a
video_url, for servers that take video, e.g. vLLM with Qwen2.5-VL), its audio as input_audio
when use_audio is set, then the prompt. A batch of clips is sent concurrently through
members.http.ChatClient (several endpoints, bounded concurrency, timeouts, retries), and a
request that fails is that clip's error only.
"""
from __future__ import annotations

import base64
import logging
import mimetypes
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from core.errors import InputError
from members.base import Clip
from members.http import ChatClient
from members.live.base import LiveMember, Request
from members.live.worker import encode_image
from members.media import MediaError

log = logging.getLogger(__name__)

IMAGE_FORMATS = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


def image_data_uri(image: Image.Image, image_format: str = "jpeg", quality: int = 95) -> str:
    """A base64 data URI of a PIL image."""
    options = {"quality": quality} if image_format in ("jpeg", "webp") else {}
    return f"data:{IMAGE_FORMATS[image_format]};base64,{encode_image(image, image_format.upper(), **options)}"


def file_data_uri(path: str | Path, default_type: str = "video/mp4") -> str:
    """A base64 data URI of a file, its media type guessed from the suffix."""
    media = mimetypes.guess_type(str(path))[0] or default_type
    return f"data:{media};base64,{base64.b64encode(Path(path).read_bytes()).decode('ascii')}"


@dataclass(kw_only=True)
class OpenAIMember(LiveMember):
    """A multimodal model served over the OpenAI chat-completions API.

    model: the served model name (required; it identifies the answers in the cache).
    url / endpoints: the server root(s) or chat URLs; requests spread over all of them.
    api_key: Bearer token. concurrency: requests in flight at most. timeout: seconds per
    request. retries / backoff: as for members.http.ChatClient. image_format: how frames are
    encoded (jpeg, png, webp). frame_text: text put before the prompt once per frame, {index}
    counting from 1 ('' = none); e.g. 'Frame{index}: <IMAGE_TOKEN>\n' for InternVL on lmdeploy,
    which then places each frame at its token, as its video recipe does. send_video: send the clip's video file as a video_url instead of
    sampled frames (num_frames, fps and max_pixels are then unused). temperature: sampling
    temperature (0 = greedy). batch_size: clips handed over at once (0 = concurrency), so a
    batch's requests overlap. check_server: setup() asks each endpoint for GET /v1/models and
    fails with one clear error when none answers or the model is not served.
    """

    model: str
    url: str = ""
    endpoints: list[str] = field(default_factory=list)
    api_key: str = field(default="", repr=False)
    concurrency: int = 8
    timeout: float = 120.0
    retries: int = 3
    backoff: float = 1.0
    image_format: str = "jpeg"
    frame_text: str = ""
    send_video: bool = False
    temperature: float = 0.0
    check_server: bool = True
    batch_size: int = 0

    # where the model is served and how hard it is pushed do not change its answers
    runtime_fields = LiveMember.runtime_fields | {
        "url", "endpoints", "api_key", "concurrency", "timeout", "retries", "backoff", "check_server",
    }

    def __post_init__(self) -> None:
        if self.image_format not in IMAGE_FORMATS:
            raise ValueError(f"image_format must be one of {', '.join(IMAGE_FORMATS)}, got {self.image_format!r}")
        if not self.model:
            raise ValueError("model must name the served model")
        if self.batch_size == 0 and isinstance(self.concurrency, int):
            self.batch_size = max(1, self.concurrency)
        super().__post_init__()
        self._client: ChatClient | None = None
        self.client()  # bad endpoint settings fail when the member is built, not on every clip

    # ---- lifecycle ----------------------------------------------------------------------------
    def client(self) -> ChatClient:
        """The member's chat client (built on first use; InputError for bad endpoint settings)."""
        if self._client is None:
            self._client = ChatClient(
                endpoints=list(self.endpoints or ()), url=self.url, model=self.model, api_key=self.api_key,
                timeout=self.timeout, retries=self.retries, backoff=self.backoff, concurrency=self.concurrency,
            )
        return self._client

    def setup(self) -> None:
        client = self.client()
        if self.check_server:
            try:
                live = client.check()
            except InputError as error:
                raise InputError(f"member '{self.name}': {error}") from None
            log.info("member '%s': %d of %d endpoints answer", self.name, len(live), len(client.urls))

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    # ---- requests -----------------------------------------------------------------------------
    def prepare(self, clip: Clip) -> Request:
        if not self.send_video:
            return super().prepare(clip)
        # the server samples the video itself: no frames are decoded here
        if clip.video is None:
            raise MediaError(f"clip {clip.name}: no video file given")
        video = Path(clip.video)
        if not video.is_file() or video.stat().st_size == 0:
            raise MediaError(f"{video}: video not found or empty")
        return Request(clip=clip, prompt=self._prompt(clip), frames=[], audio=self._audio_path(clip))

    def messages(self, request: Request) -> list[dict[str, Any]]:
        """The chat messages of one request: media parts first, then the prompt."""
        parts: list[dict[str, Any]] = []
        if self.send_video:
            parts.append({"type": "video_url", "video_url": {"url": file_data_uri(request.clip.video)}})
        for frame in request.frames:
            parts.append({"type": "image_url", "image_url": {"url": image_data_uri(frame, self.image_format)}})
        if request.audio:
            data = base64.b64encode(Path(request.audio).read_bytes()).decode("ascii")
            parts.append({"type": "input_audio", "input_audio": {"data": data, "format": "wav"}})
        frames = "".join(self.frame_text.format(index=i + 1) for i in range(len(request.frames))) if self.frame_text else ""
        parts.append({"type": "text", "text": frames + request.prompt})
        return [{"role": "user", "content": parts}]

    def answer(self, requests: list[Request]) -> list[str | BaseException]:
        conversations = []
        failed: dict[int, BaseException] = {}
        for index, request in enumerate(requests):
            try:
                conversations.append(self.messages(request))
            except OSError as error:  # e.g. the video vanished since prepare: that clip only
                failed[index] = MediaError(f"clip {request.clip.name}: cannot read its media ({error})")
        answers = iter(self.client().chat_many(conversations, self.max_new_tokens, self.temperature))
        return [failed[index] if index in failed else next(answers) for index in range(len(requests))]
