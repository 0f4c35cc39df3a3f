"""Inference engines of the vision-language members, and a worker that serves one over stdin/stdout.

This module is standalone on purpose: it imports only the standard library at the top (torch,
transformers, numpy, PIL and lmdeploy lazily, when an engine needs them) and nothing of the
project, so any Python environment that can run a model can run it:

    /path/to/model-env/bin/python members/live/worker.py

Each model's own code pins its own libraries (Emotion-Qwen's remote code wants transformers
4.50.0.dev0, lmdeploy wants its own torch); the ensemble then talks to the model's environment
through this worker instead of importing it.

PROTOCOL (version 1): JSON lines, UTF-8, one object per line. The ensemble writes requests to
the worker's stdin; the worker writes exactly one reply line per request to stdout and flushes.
Logs go to stderr only (stdout is kept for the protocol, even for prints of the model code).

    {"op": "load", "engine": {...engine spec...}}
        -> {"ok": true, "info": {"protocol": 1, "family": ..., ...}}
        -> {"ok": false, "error": "...", "kind": "input" | "internal"}
           kind "input": the spec or the model folder is wrong (not a model folder, remote code
           not trusted, unknown family); "internal": anything else (out of memory, a bug).
    {"op": "generate", "id": N, "requests": [{"prompt": str, "images": [base64 PNG or JPEG, ...],
                                              "audio": path | null, "max_new_tokens": int}, ...]}
        -> {"id": N, "outputs": [{"text": str} | {"error": str}, ...]}   (one per request, in order)
        -> {"id": N, "error": "..."}          (the whole batch failed; no engine loaded, ...)
    {"op": "ping"}  -> {"ok": true, "pid": int, "loaded": bool}
    {"op": "close"} -> {"ok": true}, then the worker frees the engine and exits 0.
    A line that is not a JSON object with a known "op" -> {"error": "..."}; the worker goes on.
    End of stdin ends the worker like "close".
    Lines are bounded: a request line longer than MAX_REQUEST_LINE bytes is read in pieces and
    dropped (-> {"error": "..."}), and the ensemble reads a reply line of at most MAX_REPLY_LINE
    bytes (a longer one fails the batch and the worker is restarted). read_lines() reads both.

ENGINE SPEC (the "engine" of a load): {"family": F, "model_path": DIR, "trust_remote_code": bool,
"device": "cpu" | "cuda" | "cuda:N" | "auto", "dtype": "auto" | "float32" | "bfloat16" | "float16"}.
Families:
  qwen2_5_vl         native Qwen2.5-VL (AutoModelForImageTextToText + AutoProcessor);
  emotion_qwen       Emotion-Qwen's released folder (AutoModel + AutoProcessor, trust_remote_code);
  internvl_hf        InternVL3-*-hf (AutoModelForImageTextToText + AutoProcessor);
  internvl_lmdeploy  InternVL through an lmdeploy pipeline (GPU only; extra keys: backend
                     "turbomind" | "pytorch", session_len, tp);
  echo               no model: answers from the request itself (checks an environment and the
                     protocol; keys delay, delay_on, crash_on, chatter let tests make it hang,
                     die or print).
Video frames are sent as images in one user message (the transformers video processors need
torchvision, which is missing on some machines; frames as images work everywhere). Decoding is
greedy; a batch is a list of conversations, left-padded.
"""
from __future__ import annotations

import base64
import io
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger("ovmer.worker")

PROTOCOL = 1
FAMILIES = ("qwen2_5_vl", "emotion_qwen", "internvl_hf", "internvl_lmdeploy", "echo")
TRUST_HINT = ("enable it with `trust_remote_code: true` in the member's config, or the override "
              "members.N.trust_remote_code=true")
# Files whose `auto_map` means the checkpoint brings its own code.
_CODE_MAPS = ("config.json", "processor_config.json", "preprocessor_config.json", "tokenizer_config.json")
LMDEPLOY_IMAGE_TOKEN = "<IMAGE_TOKEN>"  # lmdeploy.vl.constants.IMAGE_TOKEN
# Line bounds of the protocol. A request carries a batch's frames (16 frames of 448×448 PNG in
# base64 are about 13 MB a clip); a reply carries texts only.
MAX_REQUEST_LINE = 256 << 20
MAX_REPLY_LINE = 8 << 20
TOO_LONG = b"(a line over the bound)"  # what read_lines yields for such a line: compare with `is`


class EngineError(ValueError):
    """A bad engine spec or model folder: one clear message, reported to the user as bad input."""


# ---- the line bound ----------------------------------------------------------------------------
def read_lines(stream, limit: int):
    """The lines of a binary stream, each of at most `limit` bytes besides its newline; a longer
    line is yielded as TOO_LONG as soon as it passes the bound, then read on in pieces of that
    size and dropped, so that no line, however long (or endless), is held whole."""
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        if len(line) <= limit or line.endswith(b"\n"):
            yield line
            continue
        yield TOO_LONG  # at once: the rest may never end
        while line and not line.endswith(b"\n"):
            line = stream.readline(limit + 1)


# ---- checks -------------------------------------------------------------------------------------
def check_model_folder(path: str | os.PathLike, trust_remote_code: bool) -> dict:
    """The folder's config.json; EngineError if it is not a model folder, or if it ships its own
    code (an `auto_map`) while trust_remote_code is off. Reads JSON only: no code is loaded."""
    folder = Path(path)
    config_path = folder / "config.json"
    if not folder.is_dir() or not config_path.is_file():
        raise EngineError(f"{folder}: not a model folder (no config.json)")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise EngineError(f"{config_path}: not a model folder (config.json unreadable: {error})") from None
    if not isinstance(config, dict):
        raise EngineError(f"{config_path}: not a model folder (config.json is not an object)")
    if not trust_remote_code:
        for name in _CODE_MAPS:
            try:
                data = json.loads((folder / name).read_text(encoding="utf-8")) if (folder / name).is_file() else {}
            except (OSError, ValueError):
                continue
            if isinstance(data, dict) and data.get("auto_map"):
                raise EngineError(f"{folder}: this checkpoint runs its own code ({name} has auto_map), which is "
                                  f"loaded only with trust_remote_code; {TRUST_HINT}")
    return config


# ---- images -------------------------------------------------------------------------------------
def encode_image(image, format: str = "PNG", **options) -> str:
    """Base64 of a PIL image (PNG is lossless, so a worker sees the very pixels the member sampled);
    options go to PIL's save (e.g. quality for JPEG)."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format=format, **options)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def decode_image(text: str):
    """A PIL RGB image from base64 PNG or JPEG."""
    from PIL import Image

    image = Image.open(io.BytesIO(base64.b64decode(text, validate=True)))
    return image.convert("RGB")


# ---- engines ------------------------------------------------------------------------------------
class Engine:
    """generate(requests) -> one text per request; requests are dicts with prompt, images (PIL),
    audio (a wav path or None) and max_new_tokens."""

    family = ""

    def info(self) -> dict:
        return {"protocol": PROTOCOL, "family": self.family}

    def generate(self, requests: list[dict]) -> list[str]:
        raise NotImplementedError

    def close(self) -> None:
        """Free the model."""


class EchoEngine(Engine):
    """No model: the answer names what arrived. `delay` seconds of sleep (only for prompts holding
    `delay_on`, when given); `crash_on`: the process exits at once on a prompt holding it; `chatter`:
    prints to stdout and to fd 1 as careless model code does (the protocol must survive it)."""

    family = "echo"

    def __init__(self, spec: dict):
        self.delay = float(spec.get("delay", 0.0))
        self.delay_on = spec.get("delay_on")
        self.crash_on = spec.get("crash_on")
        self.chatter = bool(spec.get("chatter", False))

    def generate(self, requests: list[dict]) -> list[str]:
        texts = []
        for request in requests:
            prompt = request["prompt"]
            if self.chatter:
                print("chatter from model code")
                os.write(1, b"chatter from a C library\n")
            if self.crash_on and self.crash_on in prompt:
                os._exit(3)
            if self.delay and (not self.delay_on or self.delay_on in prompt):
                time.sleep(self.delay)
            sizes = ",".join(f"{image.width}x{image.height}" for image in request["images"])
            texts.append(f"I saw {len(request['images'])} frames ({sizes}) and "
                         f"{'an' if request.get('audio') else 'no'} audio track.\nEmotions: neutral")
        return texts


def _torch_setup(spec: dict):
    import torch

    device = spec.get("device", "auto") or "auto"
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise EngineError(f"device {device!r} asked for, but torch sees no CUDA device")
    dtype = spec.get("dtype", "auto") or "auto"
    if dtype == "auto":
        dtype = "bfloat16" if device.startswith("cuda") else "float32"
    if dtype not in ("float32", "bfloat16", "float16"):
        raise EngineError(f"unknown dtype {dtype!r} (auto, float32, bfloat16, float16)")
    return device, getattr(torch, dtype)


class FrameProcessor:
    """Chat template + image processor + tokenizer, for frames sent as images, without the
    transformers processor class (which needs torchvision in transformers 5.x). Expands each
    image placeholder of the chat template into the model's image tokens, as the processor would."""

    def __init__(self, folder: str, config: Any, layout: str, trust_remote_code: bool):
        from transformers import AutoImageProcessor, AutoTokenizer

        self.layout = layout
        self.tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=trust_remote_code)
        self.tokenizer.padding_side = "left"
        self.image_processor = AutoImageProcessor.from_pretrained(folder, trust_remote_code=trust_remote_code)
        if not getattr(self.tokenizer, "chat_template", None):
            raise EngineError(f"{folder}: the tokenizer has no chat template")
        tokens = self.tokenizer.convert_ids_to_tokens
        if layout == "qwen":
            self.image_token = tokens(config.image_token_id)
            self.video_token_id = getattr(config, "video_token_id", None)
            self.merge = int(getattr(self.image_processor, "merge_size", 2))
        else:
            self.image_token = tokens(config.image_token_id)
            self.start = getattr(self.tokenizer, "start_image_token", None) or "<img>"
            self.end = getattr(self.tokenizer, "end_image_token", None) or "</img>"
            self.seq = int(getattr(config, "image_seq_length", 256))
        self.image_token_id = config.image_token_id

    def __call__(self, conversations: list[list[dict]], images: list[list]):
        import torch

        texts = [self.tokenizer.apply_chat_template(c, tokenize=False, add_generation_prompt=True)
                 for c in conversations]
        flat = [image for group in images for image in group]
        extra: dict = {}
        counts: list[str] = []
        if flat:
            if self.layout == "qwen":
                pixels = self.image_processor(images=flat, return_tensors="pt")
                extra = {"pixel_values": pixels["pixel_values"], "image_grid_thw": pixels["image_grid_thw"]}
                counts = [self.image_token * int(grid.prod() // self.merge ** 2) for grid in pixels["image_grid_thw"]]
            else:
                pixels = self.image_processor(images=flat, return_tensors="pt", crop_to_patches=False)
                extra = {"pixel_values": pixels["pixel_values"]}
                patches = pixels.get("num_patches", [1] * len(flat))
                counts = [f"{self.start}{self.image_token * self.seq * int(n)}{self.end}" for n in patches]
        expanded, index = [], 0
        for text, group in zip(texts, images):
            parts = text.split(self.image_token)
            if len(parts) - 1 != len(group):
                raise RuntimeError(f"the chat template put {len(parts) - 1} image tokens for {len(group)} images")
            out = parts[0]
            for part in parts[1:]:
                out += counts[index] + part
                index += 1
            expanded.append(out)
        batch = self.tokenizer(expanded, padding=True, return_tensors="pt", add_special_tokens=False)
        batch = dict(batch)
        if self.layout == "qwen":
            ids = batch["input_ids"]
            kinds = torch.zeros_like(ids)
            kinds[ids == self.image_token_id] = 1
            if self.video_token_id is not None:
                kinds[ids == self.video_token_id] = 2
            batch["mm_token_type_ids"] = kinds
        batch.update(extra)
        return batch

    def decode(self, ids) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True).strip()


class _NativeProcessor:
    """The checkpoint's own processor (AutoProcessor), used where it loads."""

    def __init__(self, processor, layout: str):
        self.processor = processor
        self.layout = layout
        processor.tokenizer.padding_side = "left"

    def __call__(self, conversations: list[list[dict]], images: list[list]):
        texts = [self.processor.apply_chat_template(c, tokenize=False, add_generation_prompt=True)
                 for c in conversations]
        kwargs: dict = {"crop_to_patches": False} if self.layout == "internvl" else {}
        if any(images):
            kwargs["images"] = images
        return dict(self.processor(text=texts, padding=True, return_tensors="pt", **kwargs))

    def decode(self, ids) -> str:
        return self.processor.decode(ids, skip_special_tokens=True).strip()


class TransformersEngine(Engine):
    """A transformers vision-language model; frames as images in one user turn; greedy decoding."""

    def __init__(self, spec: dict):
        self.family = spec["family"]
        self.path = str(spec.get("model_path") or "")
        trust = bool(spec.get("trust_remote_code", False))
        check_model_folder(self.path, trust)
        try:
            import torch  # noqa: F401 - checked here: the model's environment may lack it
            import transformers
            from transformers import AutoConfig
        except ImportError as error:
            raise EngineError(f"this Python ({sys.executable}) cannot run the model: {error}") from None

        self.device, dtype = _torch_setup(spec)
        self.layout = "internvl" if self.family.startswith("internvl") else "qwen"
        auto = transformers.AutoModel if self.family == "emotion_qwen" else transformers.AutoModelForImageTextToText
        kwargs: dict = {"dtype": dtype, "trust_remote_code": trust}
        if self.device != "cpu":
            kwargs["device_map"] = self.device
        try:
            config = AutoConfig.from_pretrained(self.path, trust_remote_code=trust)
            self.model = auto.from_pretrained(self.path, **kwargs).eval()
        except (OSError, ValueError, KeyError) as error:  # a broken or foreign checkpoint, said in one line
            first = (str(error).strip().splitlines() or [""])[0][:300]
            raise EngineError(f"{self.path}: cannot load the model as {self.family} ({type(error).__name__}: "
                              f"{first})") from None
        if self.device == "cpu":
            self.model.to("cpu")
        self.processor = self._processor(config, trust, spec.get("processor", "auto"))
        eos = getattr(self.model.generation_config, "eos_token_id", None)
        self.eos = eos if eos is not None else self.processor_tokenizer().eos_token_id
        self.pad = getattr(self.model.generation_config, "pad_token_id", None) or self.processor_tokenizer().pad_token_id

    @classmethod
    def from_model(cls, model: Any, processor: Any, family: str, eos: Any = None, pad: Any = None) -> TransformersEngine:
        """An engine over a model already in memory (benchmarks of random-weight models); `eos` None
        makes every answer run to its max_new_tokens."""
        engine = cls.__new__(cls)
        engine.family, engine.path, engine.model, engine.processor = family, "", model, processor
        engine.device = str(model.device)
        engine.layout = "internvl" if family.startswith("internvl") else "qwen"
        engine.eos, engine.pad = eos, pad
        return engine

    def processor_tokenizer(self):
        return getattr(self.processor, "tokenizer", None) or self.processor.processor.tokenizer

    def _processor(self, config, trust: bool, choice: str):
        if choice != "frames":
            try:
                from transformers import AutoProcessor

                return _NativeProcessor(AutoProcessor.from_pretrained(self.path, trust_remote_code=trust), self.layout)
            except Exception as error:  # any failure (e.g. no torchvision for the video processor): fall back
                log.info("AutoProcessor unavailable (%s: %s); building the frame processor", type(error).__name__,
                         str(error).splitlines()[0][:200] if str(error) else "")
        return FrameProcessor(self.path, config, self.layout, trust)

    def info(self) -> dict:
        import transformers

        return {**super().info(), "device": self.device, "model": type(self.model).__name__,
                "processor": type(self.processor).__name__, "transformers": transformers.__version__}

    def generate(self, requests: list[dict]) -> list[str]:
        import torch

        conversations = [[{"role": "user", "content": [{"type": "image"} for _ in r["images"]]
                           + [{"type": "text", "text": r["prompt"]}]}] for r in requests]
        batch = self.processor(conversations, [list(r["images"]) for r in requests])
        dtype = next(self.model.parameters()).dtype
        inputs = {key: (value.to(self.model.device, dtype=dtype) if key.startswith("pixel_values")
                        else value.to(self.model.device)) if hasattr(value, "to") else value
                  for key, value in batch.items()}
        limits = [int(r.get("max_new_tokens") or 256) for r in requests]
        with torch.inference_mode():
            out = self.model.generate(**inputs, max_new_tokens=max(limits), do_sample=False, num_beams=1,
                                      eos_token_id=self.eos, pad_token_id=self.pad)
        start = inputs["input_ids"].shape[1]
        # Greedy: a request's first k tokens do not depend on a longer limit in the same batch.
        return [self.processor.decode(out[i, start:start + limit]) for i, limit in enumerate(limits)]

    def close(self) -> None:
        import gc

        self.model = None
        gc.collect()
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:
            pass


class LmdeployEngine(Engine):
    """InternVL through an lmdeploy pipeline: N frames as N images, each `max_dynamic_patch: 1`
    (one 448×448 tile), after 'Frame{i}: <IMAGE_TOKEN>' lines, as lmdeploy's InternVL video docs do.
    `pipe` and `gen_config` can be handed in (the tests use a fake pipeline: lmdeploy needs a GPU)."""

    family = "internvl_lmdeploy"

    def __init__(self, spec: dict, pipe: Any = None, gen_config: Callable[..., Any] | None = None):
        self.path = str(spec.get("model_path") or "")
        trust = bool(spec.get("trust_remote_code", False))
        if pipe is None:
            check_model_folder(self.path, trust)
            try:
                import lmdeploy
            except ImportError:
                raise EngineError("the lmdeploy engine needs `pip install lmdeploy` (GPU machines only)") from None
            backend = spec.get("backend", "turbomind")
            engine_config = (lmdeploy.PytorchEngineConfig if backend == "pytorch" else lmdeploy.TurbomindEngineConfig)(
                session_len=int(spec.get("session_len", 8192)), tp=int(spec.get("tp", 1)))
            pipe = lmdeploy.pipeline(self.path, backend_config=engine_config,
                                     vision_config=lmdeploy.VisionConfig(max_batch_size=8),
                                     trust_remote_code=trust, log_level="WARNING")
            gen_config = gen_config or lmdeploy.GenerationConfig
        self.pipe = pipe
        self.gen_config = gen_config or (lambda **kwargs: kwargs)

    @staticmethod
    def messages(request: dict) -> list[dict]:
        """The OpenAI-style messages of one request (lmdeploy's InternVL video format)."""
        images = request["images"]
        text = "".join(f"Frame{i + 1}: {LMDEPLOY_IMAGE_TOKEN}\n" for i in range(len(images))) + request["prompt"]
        content: list[dict] = [{"type": "text", "text": text}]
        content += [{"type": "image_url", "image_url": {"max_dynamic_patch": 1,
                                                        "url": f"data:image/jpeg;base64,{encode_image(image, 'JPEG')}"}}
                    for image in images]
        return [{"role": "user", "content": content}]

    def generate(self, requests: list[dict]) -> list[str]:
        limit = max(int(r.get("max_new_tokens") or 256) for r in requests)
        config = self.gen_config(top_k=1, max_new_tokens=limit)
        responses = self.pipe([self.messages(r) for r in requests], gen_config=config)
        return [str(response.text) for response in responses]

    def close(self) -> None:
        close = getattr(self.pipe, "close", None)
        if callable(close):
            close()
        self.pipe = None


def load_engine(spec: dict) -> Engine:
    """An engine for a spec (see the module docstring); EngineError for a bad spec or model folder."""
    if not isinstance(spec, dict):
        raise EngineError("the engine spec must be an object")
    family = spec.get("family")
    if family not in FAMILIES:
        raise EngineError(f"unknown engine family {family!r} (known: {', '.join(FAMILIES)})")
    if family == "echo":
        return EchoEngine(spec)
    if family == "internvl_lmdeploy":
        return LmdeployEngine(spec)
    return TransformersEngine(spec)


# ---- the worker ---------------------------------------------------------------------------------
def _decode_request(raw: Any) -> dict:
    if not isinstance(raw, dict) or not isinstance(raw.get("prompt"), str):
        raise ValueError("a request must be an object with a string 'prompt'")
    images = raw.get("images") or []
    if not isinstance(images, list):
        raise ValueError("'images' must be a list of base64 strings")
    return {"prompt": raw["prompt"], "images": [decode_image(image) for image in images],
            "audio": raw.get("audio"), "max_new_tokens": int(raw.get("max_new_tokens") or 256)}


class Worker:
    """The protocol's state machine: one engine at most; handle(message) -> the reply."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.done = False

    def handle(self, line: str | bytes) -> dict:
        if line is TOO_LONG:
            return {"error": f"malformed line (longer than {MAX_REQUEST_LINE} bytes: dropped)"}
        try:
            message = json.loads(line)
        except (ValueError, RecursionError) as error:
            return {"error": f"malformed line (not JSON: {error})"}
        if not isinstance(message, dict) or not isinstance(message.get("op"), str):
            return {"error": "malformed line (expected an object with an 'op')"}
        op = message["op"]
        if op == "load":
            return self._load(message.get("engine"))
        if op == "generate":
            return self._generate(message)
        if op == "ping":
            return {"ok": True, "pid": os.getpid(), "loaded": self.engine is not None}
        if op == "close":
            self.close()
            self.done = True
            return {"ok": True}
        return {"error": f"unknown op {op!r} (load, generate, ping, close)"}

    def _load(self, spec: Any) -> dict:
        self.close()
        try:
            self.engine = load_engine(spec)
        except EngineError as error:
            return {"ok": False, "error": str(error), "kind": "input"}
        except Exception as error:  # reported to the client; the worker goes on
            log.exception("load failed")
            return {"ok": False, "error": f"{type(error).__name__}: {error}", "kind": "internal"}
        return {"ok": True, "info": self.engine.info()}

    def _generate(self, message: dict) -> dict:
        ident = message.get("id")
        if self.engine is None:
            return {"id": ident, "error": "no engine loaded (send a load first)"}
        raw = message.get("requests")
        if not isinstance(raw, list) or not raw:
            return {"id": ident, "error": "'requests' must be a non-empty list"}
        outputs: list[dict] = [{} for _ in raw]
        ready: list[tuple[int, dict]] = []
        for index, item in enumerate(raw):
            try:
                ready.append((index, _decode_request(item)))
            except Exception as error:  # a bad request fails alone
                outputs[index] = {"error": f"bad request: {error}"}
        if ready:
            try:
                texts = self.engine.generate([request for _, request in ready])
            except Exception as error:  # the whole batch: the client retries it clip by clip
                log.exception("generate failed")
                return {"id": ident, "error": f"{type(error).__name__}: {error}"}
            for (index, _), text in zip(ready, texts):
                outputs[index] = {"text": text}
        return {"id": ident, "outputs": outputs}

    def close(self) -> None:
        if self.engine is not None:
            self.engine.close()
            self.engine = None


def serve(lines, write: Callable[[str], None]) -> None:
    """Answer each line of `lines` with one JSON line through `write` until close or end of input."""
    worker = Worker()
    try:
        for line in lines:
            if not line.strip():
                continue
            write(json.dumps(worker.handle(line), ensure_ascii=False) + "\n")
            if worker.done:
                break
    finally:
        worker.close()


def main() -> int:
    # Run as a script, this file's folder is sys.path[0]; drop it so that sibling modules never
    # shadow a library the model imports.
    here = Path(__file__).resolve().parent
    if sys.path and Path(sys.path[0] or ".").resolve() == here:
        sys.path.pop(0)
    logging.basicConfig(level=os.environ.get("OVMER_WORKER_LOG", "INFO"), stream=sys.stderr,
                        format="worker %(levelname)s %(message)s")
    # Keep the real stdout for the protocol; anything else printed (by model code, C libraries) goes to stderr.
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def write(text: str) -> None:
        protocol.write(text)
        protocol.flush()

    serve(read_lines(sys.stdin.buffer, MAX_REQUEST_LINE), write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
