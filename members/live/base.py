"""The base of every live member: media in, model answers out, one clip at a time or in batches.

A subclass implements `answer(requests)`, which turns a batch of prepared requests (prompt,
sampled frames, audio path) into one raw text each. The base does the rest, the same way for
every model: it samples the frames and extracts the audio, skips the clips its per-clip cache
already holds, shows a progress bar, writes each finished clip to the cache at once, turns a
failure into an error on that clip only (a failed batch is retried clip by clip to find the
culprit), parses the answer into a description and labels, and, with `two_stage`, merges the
description with the subtitle through a text model.
"""
from __future__ import annotations

import dataclasses
import logging
import tempfile
import time
from abc import abstractmethod
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


from core.errors import InputError
from core.jsoncache import digest
from core.labels import check_labels
from core.progress import progress
from core.uses import PathUse
from members.base import Clip, Member, MemberOutput
from members.http import ChatClient, answer_limit, clean_text
from members.live import prompts
from members.live.cache import ClipCache, clip_key, file_digest
from members.live.frames import Sampling, shared_pool
from members.media import MAX_FRAMES, MediaError, extract_audio

log = logging.getLogger(__name__)


@dataclass
class Request:
    """One clip, ready for a model: the prompt text, RGB frames (PIL images), a 16 kHz wav path."""

    clip: Clip
    prompt: str
    frames: list = field(default_factory=list)
    audio: str | None = None


# Parameters that change how a member runs, not what it answers: left out of the cache key.
RUNTIME_FIELDS = frozenset({"name", "batch_size", "cache_dir", "progress", "prepare_workers", "decode_workers"})


@dataclass(kw_only=True)
class LiveMember(Member):
    """A member that runs a model on each clip's media.

    prompt: the prompt template ({subtitle_line}, {subtitle}, {audio_clause} are filled per
    clip; see members.live.prompts). use_subtitle: put the clip's subtitle in the prompt.
    num_frames / fps / max_pixels / max_frames: frame sampling (members.media.sample_frames);
    num_frames 0 sends no frames; no clip sends more than max_frames (fps mode thins to it).
    use_audio: extract the audio track and hand it to the model (a clip without one fails).
    max_new_tokens: the answer's length limit.
    two_stage: {} for one stage; else the text model that merges the description (asked for
    without the subtitle) with the subtitle: {url, model, ...} as for members.http.ChatClient.
    cache_dir: the cache root (handed down by the run); '' keeps no per-clip cache.
    prepare_workers: threads that prepare a batch's clips at once (at least decode_workers).
    decode_workers: processes that decode frames (members.live.frames), shared by every member
    of the run that asks for as many; null: one per core the machine gives; 0: decode in the
    preparing threads. Members that sample alike decode each clip once between them.
    """

    prompt: str = prompts.OPEN_VOCABULARY
    use_subtitle: bool = True
    num_frames: int = 8
    fps: float = 0.0
    max_pixels: int = 448 * 448
    max_frames: int = MAX_FRAMES
    use_audio: bool = False
    max_new_tokens: int = 256
    two_stage: dict[str, Any] = field(default_factory=dict)
    cache_dir: str = ""
    progress: bool = True
    prepare_workers: int = 4
    decode_workers: int | None = None

    runtime_fields = RUNTIME_FIELDS  # subclasses add theirs (device, python, endpoints, ...)
    setup_on_demand = True
    _merge_client: ChatClient | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {self.batch_size!r}")
        if self.num_frames < 0 or self.fps < 0:
            raise ValueError("num_frames and fps must be ≥ 0")
        if self.decode_workers is not None and (isinstance(self.decode_workers, bool) or self.decode_workers < 0):
            raise ValueError(f"decode_workers must be ≥ 0 (0: decode in the preparing threads) or null, got {self.decode_workers!r}")
        if self.max_frames < 1 or self.num_frames > self.max_frames:
            raise ValueError(f"num_frames ({self.num_frames}) must be at most max_frames ({self.max_frames}, ≥ 1)")

    # ---- to implement -------------------------------------------------------------------------
    @abstractmethod
    def answer(self, requests: list[Request]) -> list[str | BaseException]:
        """One raw answer per request, in order; an exception in place of an answer fails that clip
        only, an exception raised fails the batch (which is then retried clip by clip)."""

    # ---- the cache ----------------------------------------------------------------------------
    def cache_params(self) -> dict[str, Any]:
        """What identifies this member's answers: its class and every parameter that changes them."""
        params = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.init and f.name not in self.runtime_fields
        }
        if self.two_stage:  # where the text model is served does not change its answers
            params["two_stage"] = {"model": self.two_stage.get("model", "")}
        return {"class": f"{type(self).__module__}:{type(self).__qualname__}", **params}

    def clip_cache(self) -> ClipCache | None:
        if not self.cache_dir:
            return None
        return ClipCache(Path(self.cache_dir) / "live", type(self).__name__, self.cache_params())

    def paths(self) -> list[PathUse]:
        """Its declared paths, its per-clip cache and the folder of its extracted audio."""
        uses = super().paths()
        cache = self.clip_cache()
        if cache is not None:
            uses.append(PathUse(str(cache.path), "cache", writes=True))
        if self.use_audio:
            uses.append(PathUse(str(self._audio_folder()), "audio cache", folder=True, writes=True))
        return uses

    def _audio_folder(self) -> Path:
        # Never beside the video: a dataset folder may be read-only, and is the user's.
        return Path(self.cache_dir) / "audio" if self.cache_dir else Path(tempfile.gettempdir()) / "ovmer-audio"

    # ---- preparing a clip ---------------------------------------------------------------------
    def _audio_path(self, clip: Clip) -> str | None:
        if not self.use_audio:
            return None
        if clip.audio is not None:
            if not Path(clip.audio).is_file():
                raise MediaError(f"{clip.audio}: audio file not found")
            return str(clip.audio)
        if clip.video is None:
            raise MediaError(f"clip {clip.name}: no video or audio file given")
        content = file_digest(clip.video)  # keyed by the video's bytes: another video is another wav
        if content is None:
            raise MediaError(f"{clip.video}: video not found or not a regular file")
        wav = self._audio_folder() / f"{digest(['audio', content])[:24]}.wav"
        return str(wav if wav.is_file() else extract_audio(clip.video, wav))

    def _prompt(self, clip: Clip) -> str:
        if self.two_stage:
            return prompts.fill(prompts.DESCRIBE_ONLY, audio=self.use_audio)
        subtitle = clip.subtitle if self.use_subtitle else None
        return prompts.fill(self.prompt, subtitle=subtitle, audio=self.use_audio)

    def prepare(self, clip: Clip) -> Request:
        """The request for one clip; MediaError when its media cannot be read."""
        frames = []
        if clip.video is not None and not Path(clip.video).is_file():
            raise MediaError(f"{clip.video}: video not found")
        if self.num_frames or self.fps:
            if clip.video is None:
                raise MediaError(f"clip {clip.name}: no video file given")
            sampling = Sampling(self.num_frames, self.fps, self.max_pixels, self.max_frames)
            frames = shared_pool(self.decode_workers).frames(clip.video, sampling)
        return Request(clip=clip, prompt=self._prompt(clip), frames=frames, audio=self._audio_path(clip))

    def _prepare_all(self, clips: list[Clip]) -> list[Request | Exception]:
        """prepare() for each clip, decoding in threads (FFmpeg releases the GIL); a clip whose
        media cannot be read, or whose decoding fails in any way (MemoryError included), gets its
        error in place: that clip fails, the others go on."""

        def one(clip: Clip) -> Request | Exception:
            try:
                return self.prepare(clip)
            except Exception as error:  # noqa: BLE001 - a hostile file must not end the run
                return error

        # Enough threads to keep every decoding process busy: each waits on its clip's frames.
        threads = max(self.prepare_workers, shared_pool(self.decode_workers).workers)
        if len(clips) == 1 or threads <= 1:
            return [one(clip) for clip in clips]
        with ThreadPoolExecutor(max_workers=min(threads, len(clips))) as pool:
            return list(pool.map(one, clips))

    # ---- running ------------------------------------------------------------------------------
    def _run_batch(self, requests: list[Request]) -> list[str | BaseException]:
        try:
            answers = self.answer(requests)
            if len(answers) != len(requests):
                raise RuntimeError(f"{len(answers)} answers for {len(requests)} requests")
            return answers
        except Exception as error:  # noqa: BLE001 - any model failure is recorded on the clip
            if len(requests) == 1:
                return [error]
            log.info("member '%s': a batch of %d failed (%s); retrying clip by clip", self.name, len(requests), error)
            return [self._run_batch([request])[0] for request in requests]

    def _merger(self) -> ChatClient:
        if self._merge_client is None:
            self._merge_client = ChatClient.from_mapping(self.two_stage, where=f"member '{self.name}': two_stage")
        return self._merge_client

    def _finish(self, requests: list[Request], answers: list[str | BaseException]) -> list[tuple[str, list[str] | None] | BaseException]:
        """Parse answers; in two-stage mode, first merge each description with its subtitle
        through the text model (all of a batch at once, so the requests overlap)."""
        if self.two_stage:
            todo = [i for i, answer in enumerate(answers) if not isinstance(answer, BaseException)]
            conversations = [
                [{"role": "user", "content": prompts.fill(
                    prompts.MERGE, subtitle=requests[i].clip.subtitle, description=str(answers[i]))}]
                for i in todo
            ]
            merged = self._merger().chat_many(conversations, max_tokens=self.max_new_tokens)
            answers = list(answers)
            for i, text in zip(todo, merged):
                answers[i] = text
        return [answer if isinstance(answer, BaseException) else self._bounded(request.clip, str(answer))
                for request, answer in zip(requests, answers)]

    def _bounded(self, clip: Clip, text: str) -> tuple[str, list[str] | None] | Exception:
        """parse() of an answer that max_new_tokens allows, its labels within the bounds of label
        files (core.labels.check_labels); else that clip's error."""
        size, most = len(text.encode("utf-8", "surrogatepass")), answer_limit(self.max_new_tokens)
        if size > most:
            return InputError(f"member '{self.name}', clip {clip.name}: an answer of {size} bytes, more than "
                              f"max_new_tokens={self.max_new_tokens} allows ({most})")
        try:
            description, labels = self.parse(clean_text(text))
            check_labels(labels or [], f"member '{self.name}'", None, clip.name)
        except Exception as error:  # noqa: BLE001 - an answer that breaks the parser fails its clip only
            return error
        return description, labels

    def parse(self, text: str) -> tuple[str, list[str] | None]:
        """(description, labels) of one final answer; a member with its own answer form overrides it."""
        return prompts.parse_answer(text)

    def predict(self, clips: Sequence[Clip]) -> dict[str, MemberOutput]:
        cache = self.clip_cache()
        done = cache.load() if cache else {}
        outputs: dict[str, MemberOutput] = {}
        pending: list[tuple[Clip, str]] = []
        for clip in clips:
            key = clip_key(clip, cache.digests if cache else None)
            if key in done:
                outputs[clip.name] = done[key]
            else:
                pending.append((clip, key))
        if done and outputs:
            log.info("member '%s': %d of %d clips from its cache %s", self.name, len(outputs), len(clips), cache.path)
        if pending:
            self.setup()  # idempotent; not at all when the cache holds every clip
        bar = progress(total=len(pending), desc=self.name, enabled=self.progress)
        try:
            for start in range(0, len(pending), self.batch_size):
                batch = pending[start:start + self.batch_size]
                began = time.perf_counter()
                requests: list[Request] = []
                for (clip, _), prepared in zip(batch, self._prepare_all([clip for clip, _ in batch])):
                    if isinstance(prepared, Request):
                        requests.append(prepared)
                    else:
                        outputs[clip.name] = MemberOutput(error=_describe(prepared), elapsed=0.0)
                ready = [(clip, key) for clip, key in batch if clip.name not in outputs]
                results = self._finish(requests, self._run_batch(requests)) if requests else []
                share = (time.perf_counter() - began) / max(1, len(requests))
                for (clip, key), result in zip(ready, results):
                    if isinstance(result, BaseException):
                        outputs[clip.name] = MemberOutput(error=f"{type(result).__name__}: {result}", elapsed=share)
                        continue
                    description, labels = result
                    output = MemberOutput(labels=labels, description=description, elapsed=share)
                    outputs[clip.name] = output
                    if cache:
                        cache.add(clip, key, output)
                bar.update(len(batch))
        finally:
            bar.close()
        return outputs


def _describe(error: BaseException) -> str:
    """A clip's error line: a media error says what it is; anything else by its type too."""
    return str(error) if isinstance(error, InputError) else f"{type(error).__name__}: {error}"
