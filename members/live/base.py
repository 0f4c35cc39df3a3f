"""The base of every live member: media in, model answers out, one clip at a time or in batches.

A subclass implements `answer(requests)`, which turns a batch of prepared requests (prompt,
sampled frames, audio path) into one raw text each. The base does the rest, the same way for
every model: it samples the frames and extracts the audio (the next clips while earlier ones are
with the model: `_stream`), skips the clips its per-clip cache already holds, shows progress,
writes each finished clip to the cache as it arrives, turns a
failure into an error on that clip only (a failed batch is retried clip by clip to find the
culprit), parses the answer into a description and labels, and, with `two_stage`, merges the
description with the subtitle through a text model.
"""
from __future__ import annotations

import dataclasses
import logging
import tempfile
import threading
import time
from abc import abstractmethod
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


from core.errors import InputError
from core.jsoncache import digest
from core.labels import check_labels
from core.progress import progress
from core.uses import PathUse
from members.base import Clip, Member, MemberOutput
from members.http import ChatClient, answer_limit, clean_text, server_resources
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
    encoded: Any = None  # the request as its client sends it, when the member encodes while preparing


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
    prepare_workers: threads that prepare clips ahead of the model (see _stream; at least
    decode_workers).
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
    _stop: threading.Event = field(default_factory=threading.Event, init=False, repr=False, compare=False)

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

    def _prepare_timed(self, clip: Clip) -> tuple[Request | Exception, float]:
        """prepare() and the seconds it took; a clip whose media cannot be read, or whose decoding
        fails in any way (MemoryError included), gets its error in place: that clip fails, the
        others go on."""
        began = time.perf_counter()
        try:
            prepared: Request | Exception = self.prepare(clip)
        except Exception as error:  # noqa: BLE001 - a hostile file must not end the run
            prepared = error
        return prepared, time.perf_counter() - began

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

    def stream_shape(self) -> tuple[int, int]:
        """(clips per answer() call, answer() calls in flight at once). An in-process model takes
        a batch at a time; a served member overrides it (one clip per request, `concurrency`
        requests in flight)."""
        return self.batch_size, 1

    def resources(self) -> frozenset[str]:
        """The two_stage text model's server; a subclass adds where its own model runs."""
        return server_resources(self._merger()) if self.two_stage else frozenset()

    def cancel(self) -> None:
        self._stop.set()

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
        self._stop.clear()
        bar = progress(total=len(pending), desc=self.name, enabled=self.progress)
        try:
            for (clip, key), output in self._stream(pending):
                outputs[clip.name] = output
                if cache and output.ok:  # failed clips are tried again on the next run
                    cache.add(clip, key, output)
                bar.update(1)
        finally:
            bar.close()
        return outputs

    def _stream(self, pending: list[tuple[Clip, str]]) -> Iterator[tuple[tuple[Clip, str], MemberOutput]]:
        """Each pending clip's output, as it arrives.

        Clips go to the model in units of stream_shape()'s size, at most its number of units in
        flight; the next clips are decoded in `prepare_workers` threads meanwhile, at most a
        window's worth ahead (so decoded frames held stay bounded). A unit's answers are merged
        (two_stage) and parsed in threads of their own, so the next unit does not wait for them.
        cancel() stops sending; what is in flight is finished and yielded.
        """
        size, in_flight = self.stream_shape()
        units = deque(pending[start:start + size] for start in range(0, len(pending), size))
        # Enough threads to keep every decoding process busy: each waits on its clip's frames.
        threads = max(1, self.prepare_workers, shared_pool(self.decode_workers).workers)
        ahead_limit = max(size * in_flight, threads)
        decoders = ThreadPoolExecutor(threads, thread_name_prefix=f"{self.name}-decode")
        senders = ThreadPoolExecutor(in_flight, thread_name_prefix=f"{self.name}-send")
        finishers = ThreadPoolExecutor(in_flight, thread_name_prefix=f"{self.name}-finish")
        decoding: deque[tuple[list[tuple[Clip, str]], list[Future]]] = deque()  # in clip order
        running: dict[Future, tuple[list[tuple[Clip, str]], list[Request], list[float], float]] = {}
        finishing: dict[Future, tuple[list[tuple[Clip, str]], list[float], float]] = {}
        try:
            while units or decoding or running or finishing:
                stopping = self._stop.is_set()
                while units and not stopping and sum(len(unit) for unit, _ in decoding) < ahead_limit:
                    unit = units.popleft()
                    decoding.append((unit, [decoders.submit(self._prepare_timed, clip) for clip, _ in unit]))
                if stopping:
                    units.clear()
                    for _, futures in decoding:
                        for future in futures:
                            future.cancel()
                    decoding.clear()
                # send every decoded unit at the head while the window has room
                while decoding and len(running) < in_flight and all(f.done() for f in decoding[0][1]):
                    unit, futures = decoding.popleft()
                    ready, requests, decode_seconds = [], [], []
                    for item, future in zip(unit, futures):
                        prepared, seconds = future.result()
                        if isinstance(prepared, Request):
                            ready.append(item)
                            requests.append(prepared)
                            decode_seconds.append(seconds)
                        else:
                            yield item, MemberOutput(error=_describe(prepared), elapsed=seconds)
                    if requests:
                        running[senders.submit(self._run_batch, requests)] = (ready, requests, decode_seconds, time.perf_counter())
                waiting = set(running) | set(finishing)
                if decoding and len(running) < in_flight:
                    waiting.update(f for f in decoding[0][1] if not f.done())
                if not waiting:
                    continue
                finished, _ = wait(waiting, return_when=FIRST_COMPLETED)
                for future in finished:
                    if future in running:  # answers came: merge and parse them off this thread
                        ready, requests, decode_seconds, began = running.pop(future)
                        answered = finishers.submit(self._finish, requests, future.result())
                        finishing[answered] = (ready, decode_seconds, began)
                    elif future in finishing:
                        ready, decode_seconds, began = finishing.pop(future)
                        share = (time.perf_counter() - began) / len(ready)  # the unit's time at the model, shared
                        for item, seconds, result in zip(ready, decode_seconds, future.result()):
                            yield item, _output(result, seconds + share)
        finally:
            # on an error or a kill: drop what was not started; what runs ends on its own
            for pool in (decoders, senders, finishers):
                pool.shutdown(wait=False, cancel_futures=True)


def _output(result: tuple[str, list[str] | None] | BaseException, elapsed: float) -> MemberOutput:
    """A clip's output from its parsed answer (description, labels), or its error."""
    if isinstance(result, BaseException):
        return MemberOutput(error=f"{type(result).__name__}: {result}", elapsed=elapsed)
    description, labels = result
    return MemberOutput(labels=labels, description=description, elapsed=elapsed)


def _describe(error: BaseException) -> str:
    """A clip's error line: a media error says what it is; anything else by its type too."""
    return str(error) if isinstance(error, InputError) else f"{type(error).__name__}: {error}"
