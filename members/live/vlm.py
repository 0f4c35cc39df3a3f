"""Vision-language members: Emotion-Qwen, Qwen2.5-VL and InternVL on a clip's frames.

The model runs in-process (backend "inprocess", the ensemble's own environment) or in a worker
process (backend "worker", any Python given by `python`, speaking the JSON-lines protocol of
members.live.worker), so a model whose code pins other library versions runs in its own
environment. Either way the engines are those of members.live.worker.
"""
from __future__ import annotations

import json
import logging
import os
import queue
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import InputError, brief, excerpt
from members.live import worker as engines
from members.live.base import LiveMember, Request

log = logging.getLogger(__name__)

BACKENDS = ("inprocess", "worker")
WORKER_SCRIPT = Path(engines.__file__).resolve()
MESSAGE = 600  # characters of a worker's message passed on in an error
STDERR_LINE = 4096  # bytes of a worker's log line kept


class WorkerError(InputError):
    """The worker failed: it died, hung, or answered out of protocol. During a run that fails the
    batch (its clips get the message); while loading, the command line prints it as one line."""


class ProtocolError(ValueError):
    """A reply line out of protocol (the worker is then restarted)."""


def parse_reply(line: bytes) -> dict:
    """The JSON object of one reply line; ProtocolError for anything else."""
    if line is engines.TOO_LONG:
        raise ProtocolError(f"wrote a line longer than {engines.MAX_REPLY_LINE} bytes")
    try:
        reply = json.loads(line)
    except (ValueError, RecursionError):
        raise ProtocolError(f"wrote a line that is not JSON: {excerpt(line.decode('utf-8', 'replace'), 80)}") from None
    if not isinstance(reply, dict):
        raise ProtocolError("wrote a reply that is not an object")
    return reply


def batch_outputs(reply: dict, ident: int, count: int, label: str) -> list[str | BaseException]:
    """The texts of the reply to generate request `ident` of `count` requests (a WorkerError in the
    place of a failed one); WorkerError when the worker failed the whole batch, ProtocolError when
    the reply is out of protocol."""
    if reply.get("id") != ident:
        raise ProtocolError(f"answered request {excerpt(reply.get('id'))} instead of {ident}")
    if "error" in reply:
        raise WorkerError(f"{label}: {brief(reply['error'], MESSAGE)}")
    outputs = reply.get("outputs")
    if not isinstance(outputs, list) or len(outputs) != count:
        raise ProtocolError("sent a wrong number of outputs")
    return [output["text"] if isinstance(output, dict) and isinstance(output.get("text"), str)
            else WorkerError(f"{label}: {brief(output.get('error') if isinstance(output, dict) else output, MESSAGE)}")
            for output in outputs]


class WorkerClient:
    """One worker process: started with `python worker.py`, loaded with an engine spec, asked one
    message per batch. A worker that dies, does not take its request or answer within `timeout`
    seconds, or answers out of protocol (a line over the bound included) fails that batch and is
    started again (and reloaded) for the next one."""

    def __init__(self, spec: dict, python: str = "", timeout: float = 600.0, load_timeout: float = 1800.0,
                 label: str = "worker"):
        self.spec = spec
        self.python = str(Path(python).expanduser()) if python else sys.executable
        self.timeout = timeout
        self.load_timeout = load_timeout
        self.label = label
        self.process: subprocess.Popen | None = None
        self.info: dict = {}
        self._replies: queue.Queue = queue.Queue()
        self._stderr: deque[str] = deque(maxlen=20)
        self._next_id = 0
        self._writer: threading.Thread | None = None

    # ---- the process --------------------------------------------------------------------------
    def _write(self, process: subprocess.Popen, data: bytes, seconds: float) -> bool | BaseException:
        """Write `data` to the worker's stdin within `seconds`: True when written, the error when
        the pipe broke, False when the worker did not take it in time. The writing thread is then
        left blocked until the worker is killed, which breaks the pipe and ends it."""
        outcome: list[bool | BaseException] = []

        def write() -> None:
            try:
                view = memoryview(data)
                while view:  # on the descriptor: no buffer whose lock a closing thread would wait on
                    view = view[os.write(process.stdin.fileno(), view):]
                outcome.append(True)
            except (OSError, ValueError) as error:
                outcome.append(error)

        self._writer = threading.Thread(target=write, daemon=True)
        self._writer.start()
        self._writer.join(max(0.0, seconds))
        return outcome[0] if outcome else False

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> dict:
        """Start the worker and load the engine; the engine's info. InputError for a bad model folder,
        WorkerError for a worker that fails to load."""
        self.stop()
        try:
            self.process = subprocess.Popen([self.python, str(WORKER_SCRIPT)], stdin=subprocess.PIPE,
                                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as error:
            raise InputError(f"{self.label}: cannot start the worker with python {self.python!r} ({error})") from None
        self._replies = queue.Queue()
        threading.Thread(target=self._read_stdout, args=(self.process, self._replies), daemon=True).start()
        threading.Thread(target=self._read_stderr, args=(self.process,), daemon=True).start()
        reply = self._ask({"op": "load", "engine": self.spec}, self.load_timeout, "loading the model")
        if not reply.get("ok"):
            self.stop()
            message = f"{self.label}: {brief(reply.get('error', 'the worker could not load the model'), MESSAGE)}"
            raise InputError(message) if reply.get("kind") == "input" else WorkerError(message)
        self.info = reply.get("info") if isinstance(reply.get("info"), dict) else {}
        log.info("%s: worker pid %d loaded %s", self.label, self.process.pid, self.info)
        return self.info

    def stop(self) -> None:
        """Ask the worker to close; kill it if it does not go within a few seconds."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            try:
                if self._write(process, json.dumps({"op": "close"}).encode() + b"\n", 5) is not True:
                    raise subprocess.TimeoutExpired(self.python, 5)
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._writer is not None:
            self._writer.join(5)  # the worker is gone: its pipe is broken and the write has ended
        try:
            process.stdin.close()  # stdout and stderr are closed by their reading threads, at their end
        except OSError:
            pass

    @staticmethod
    def _lines(stream, limit: int):
        """read_lines of one of the worker's outputs, to its end; the stream is closed after."""
        try:
            yield from engines.read_lines(stream, limit)
        except (OSError, ValueError):
            pass
        finally:
            stream.close()

    def _read_stdout(self, process: subprocess.Popen, replies: queue.Queue) -> None:
        for line in self._lines(process.stdout, engines.MAX_REPLY_LINE):
            replies.put(line)
        replies.put(None)  # end of output: the process is gone

    def _read_stderr(self, process: subprocess.Popen) -> None:
        for line in self._lines(process.stderr, STDERR_LINE):
            text = "(a log line too long to keep)" if line is engines.TOO_LONG else line.decode("utf-8", "replace").rstrip()
            if text:
                self._stderr.append(text)
                log.debug("%s: %s", self.label, text)

    def _fail(self, what: str) -> WorkerError:
        process = self.process
        status = process.poll() if process else None
        if process is not None and status is None:
            process.kill()
            process.wait()
            status = process.returncode
        self.stop()
        tail = f"; its last log line: {brief(self._stderr[-1], MESSAGE)}" if self._stderr else ""
        return WorkerError(f"{self.label}: the worker {what} (exit status {status}){tail}; "
                           "it is restarted for the next batch")

    def _ask(self, message: dict, timeout: float, doing: str) -> dict:
        """The worker's reply to one message, all within `timeout` seconds: writing the message
        (a worker that stops reading its input cannot block us) and reading the reply."""
        deadline = time.monotonic() + timeout
        data = json.dumps(message, ensure_ascii=False).encode("utf-8", "surrogatepass") + b"\n"
        if len(data) > engines.MAX_REQUEST_LINE:
            raise WorkerError(f"{self.label}: a request of {len(data)} bytes while {doing}, more than the "
                              f"protocol's bound of {engines.MAX_REQUEST_LINE}")
        written = self._write(self.process, data, deadline - time.monotonic())
        if written is False:
            raise self._fail(f"did not take its input within {timeout:g} s while {doing}")
        if written is not True:
            raise self._fail(f"died before {doing}")
        try:
            line = self._replies.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise self._fail(f"gave no answer within {timeout:g} s while {doing}") from None
        if line is None:
            raise self._fail(f"died while {doing}")
        try:
            return parse_reply(line)
        except ProtocolError as error:
            raise self._fail(f"{error} while {doing}") from None

    # ---- asking -------------------------------------------------------------------------------
    def generate(self, requests: list[dict]) -> list[str | BaseException]:
        """One text (or an exception for that request) per request; WorkerError if the batch failed."""
        if not self.alive():
            self.start()
        self._next_id += 1
        ident = self._next_id
        reply = self._ask({"op": "generate", "id": ident, "requests": requests}, self.timeout,
                          f"answering a batch of {len(requests)}")
        try:
            return batch_outputs(reply, ident, len(requests), self.label)
        except ProtocolError as error:
            raise self._fail(str(error)) from None

    def close(self) -> None:
        self.stop()


@dataclass(kw_only=True)
class VisionLanguageMember(LiveMember):
    """A vision-language model answering on a clip's frames (see members.live.worker for the families).

    model_path: the checkpoint folder. family: qwen2_5_vl | emotion_qwen | internvl_hf |
    internvl_lmdeploy | echo. backend: "inprocess" or "worker" (a subprocess run by `python`,
    default this interpreter). trust_remote_code: allow a checkpoint that ships its own code (off
    unless the user turns it on). device: cpu | cuda | cuda:N | auto. dtype: auto (bfloat16 on a
    GPU, float32 on CPU) | float32 | bfloat16 | float16. timeout: seconds a worker may take per
    batch; load_timeout: for loading the model. engine_options: extra keys of the engine spec.
    """

    model_path: str
    family: str = "qwen2_5_vl"
    backend: str = "inprocess"
    python: str = field(default_factory=lambda: sys.executable)
    trust_remote_code: bool = False
    device: str = "auto"
    dtype: str = "auto"
    timeout: float = 600.0
    load_timeout: float = 1800.0
    engine_options: dict[str, Any] = field(default_factory=dict)

    # Where and how the model runs does not change its (greedy) answers.
    runtime_fields = LiveMember.runtime_fields | {"backend", "python", "device", "timeout", "load_timeout",
                                                  "trust_remote_code"}
    path_params = {"model_path": "folder", "python": "file"}

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.model_path and self.family != "echo":
            raise ValueError("model_path is required")
        if self.family not in engines.FAMILIES:
            raise ValueError(f"unknown family {self.family!r} (known: {', '.join(engines.FAMILIES)})")
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown backend {self.backend!r} (known: {', '.join(BACKENDS)})")
        if self.device not in ("auto", "cpu", "cuda") and not str(self.device).startswith("cuda:"):
            raise ValueError(f"unknown device {self.device!r} (auto, cpu, cuda, cuda:N)")
        if not isinstance(self.trust_remote_code, bool):
            raise ValueError(f"trust_remote_code must be true or false, got {self.trust_remote_code!r}")
        if self.use_audio and self.family != "echo":
            raise ValueError(f"family {self.family} takes no audio: set use_audio to false")
        if self.timeout <= 0 or self.load_timeout <= 0:
            raise ValueError("timeout and load_timeout must be > 0")
        self._engine: engines.Engine | None = None
        self._client: WorkerClient | None = None

    def engine_spec(self) -> dict[str, Any]:
        return {**self.engine_options, "family": self.family, "model_path": str(self.model_path),
                "trust_remote_code": bool(self.trust_remote_code), "device": self.device, "dtype": self.dtype}

    # ---- lifecycle ----------------------------------------------------------------------------
    def setup(self) -> None:
        if self._engine is not None or self._client is not None:
            return
        label = f"member '{self.name}'"
        if self.backend == "worker":
            client = WorkerClient(self.engine_spec(), self.python, self.timeout, self.load_timeout, label)
            client.start()
            self._client = client
            return
        try:
            self._engine = engines.load_engine(self.engine_spec())
        except engines.EngineError as error:
            raise InputError(f"{label}: {error}") from None
        log.info("%s: loaded %s", label, self._engine.info())

    def close(self) -> None:
        engine, self._engine = self._engine, None
        client, self._client = self._client, None
        if engine is not None:
            engine.close()
        if client is not None:
            client.close()

    # ---- answering ----------------------------------------------------------------------------
    def answer(self, requests: list[Request]) -> list[str | BaseException]:
        self.setup()
        if self._client is not None:
            return self._client.generate([
                {"prompt": r.prompt, "images": [engines.encode_image(frame) for frame in r.frames],
                 "audio": r.audio, "max_new_tokens": self.max_new_tokens} for r in requests])
        return list(self._engine.generate([
            {"prompt": r.prompt, "images": list(r.frames), "audio": r.audio, "max_new_tokens": self.max_new_tokens}
            for r in requests]))


@dataclass(kw_only=True)
class EmotionQwenMember(VisionLanguageMember):
    """Emotion-Qwen's released checkpoint (remote code: needs trust_remote_code: true); frames at
    1 fps (at most 16) of at most 448×448 pixels, as its own inference scripts sample video."""

    family: str = "emotion_qwen"
    fps: float = 1.0
    num_frames: int = 16


@dataclass(kw_only=True)
class QwenVLMember(VisionLanguageMember):
    """A transformers-native Qwen2.5-VL checkpoint."""

    family: str = "qwen2_5_vl"


@dataclass(kw_only=True)
class InternVLMember(VisionLanguageMember):
    """An InternVL3-*-hf checkpoint through transformers (engine "transformers"), or InternVL through
    lmdeploy (engine "lmdeploy": GPU only, `pip install lmdeploy`); 8 frames, one tile each."""

    family: str = "internvl_hf"
    engine: str = "transformers"

    def __post_init__(self) -> None:
        if self.engine not in ("transformers", "lmdeploy"):
            raise ValueError(f"unknown engine {self.engine!r} (transformers, lmdeploy)")
        if self.engine == "lmdeploy":
            self.family = "internvl_lmdeploy"
        super().__post_init__()
