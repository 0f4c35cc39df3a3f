"""AffectGPT run from the user's own checkout, in a subprocess with the user's Python.

AffectGPT's model is not in transformers and its code pins its own libraries (torch 2.4,
transformers 4.49, vLLM 0.6.1), so it cannot run inside the ensemble's environment. This member
calls the checkout's single-sample script once per clip, as its README documents:

    <python> inference_sample.py --zeroshot --video_path X.mp4 --audio_path X.wav
        --subtitle "..." --cfg-path train_configs/<config>.yaml --options inference.test_epoch=<epoch>
        [--outside_user_message "<description prompt>"]

with the checkout as the working directory and CUDA_VISIBLE_DEVICES=<gpu> (the script addresses
`cuda:<gpu>` itself; with one visible device its default `cuda:0` is the chosen card). AffectGPT
samples its own frames, so the base samples none (num_frames=0); the base extracts the 16 kHz
mono wav the script needs.

Each clip is one process, so each clip pays the model's loading time (tens of seconds for the
7B LLM and its encoders). That suits a few new clips; for a whole dataset, run the checkout's
`inference_hybird.py` once and read its stored `.npz` outputs with a cached member instead.

The response is read from the script's stdout: the text after the last "Assistant:" marker (up
to a following "###"), else the last non-empty line (the script prints loading messages first
and the response last). In `labels` mode the answer is AffectGPT's trained sentence, "The
character's emotional state is happy, relaxed.", whose list becomes the labels; in
`description` mode it is a free paragraph (labels None: wrap the member in an extractor).
"""
from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from core.errors import InputError
from core.labels import normalise_label
from members.live import prompts
from members.live.base import LiveMember, Request
from members.media import MediaError

log = logging.getLogger(__name__)

# AffectGPT's user messages (my_affectgpt/datasets/datasets/base_dataset.py). The labels one is
# what `--zeroshot` asks by default, so it is not passed on the command line.
USER_MESSAGES = {
    "labels": "Please recognize all possible emotional states of the character.",
    "description": "Please infer the person's emotional state and provide your reasoning process.",
}

_MARKER = re.compile(r"Assistant\s*:", re.IGNORECASE)
_STATE = re.compile(
    r"emotional\s+states?\s+(?:of\s+the\s+\w+\s+)?(?:is|are|was|were|includes?|could\s+be|may\s+be|might\s+be|"
    r"seems?\s+to\s+be|appears?\s+to\s+be)\s*:?\s*(.+?)(?:\.(?:\s|$)|$)",
    re.IGNORECASE | re.DOTALL,
)
_ITEMS = re.compile(r",|;|\band\b|\bor\b")


def response_text(stdout: str) -> str:
    """The model's response in the script's stdout: after the last 'Assistant:' marker (up to a
    following '###'), else the last non-empty line."""
    markers = list(_MARKER.finditer(stdout))
    if markers:
        return stdout[markers[-1].end():].split("###", 1)[0].strip()
    lines = [line.strip() for line in stdout.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def state_labels(text: str) -> list[str] | None:
    """The emotions of AffectGPT's 'The character's emotional state is a, b, and c.' (the last
    such sentence), else None."""
    matches = list(_STATE.finditer(text))
    if not matches:
        return None
    items = (normalise_label(item.strip(" .!\"'[]()")) for item in _ITEMS.split(matches[-1].group(1)))
    return list(dict.fromkeys(item for item in items if item))


def _tail(text: str, lines: int = 4, limit: int = 400) -> str:
    kept = " | ".join(line.strip() for line in text.strip().splitlines()[-lines:] if line.strip())
    return kept[-limit:] or "(nothing on stderr)"


@dataclass(kw_only=True)
class AffectGPTMember(LiveMember):
    """AffectGPT on each clip, through the user's checkout and Python environment.

    checkout: the folder holding `inference_sample.py` (the repository's `AffectGPT/` folder;
    the repository root also works). python: the interpreter of the AffectGPT environment.
    config: a config name under `train_configs/` (or a path to a .yaml). epoch: the checkpoint
    epoch (`inference.test_epoch`). mode: 'labels' (the open-vocabulary prompt) or 'description'.
    gpu: the CUDA device. timeout: seconds allowed per clip (model loading included).
    script: the inference script, relative to the checkout.
    """

    checkout: str
    python: str = "python3"
    config: str = "mercaptionplus_outputhybird_bestsetup_bestfusion_frame_lz"
    epoch: int = 30
    mode: str = "labels"
    gpu: int = 0
    timeout: float = 1800.0
    script: str = "inference_sample.py"
    num_frames: int = 0
    use_audio: bool = True

    # Where and how it runs, not what it answers.
    runtime_fields = LiveMember.runtime_fields | {"python", "gpu", "timeout"}
    path_params = {"checkout": "folder", "python": "file"}

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.mode not in USER_MESSAGES:
            raise ValueError(f"mode must be one of {', '.join(USER_MESSAGES)}, got {self.mode!r}")
        if not self.use_audio:
            raise ValueError("AffectGPT needs the audio track: use_audio must stay true")
        if not self.timeout or self.timeout <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {self.timeout!r}")
        self._folder: Path | None = None
        self._python: str | None = None

    # ---- lifecycle ----------------------------------------------------------------------------
    def setup(self) -> None:
        """Check the checkout, its script and config, and the interpreter: one clear error each."""
        root = Path(self.checkout).expanduser()
        if not root.is_dir():
            raise InputError(f"member '{self.name}': AffectGPT checkout {root} not found")
        folder = next((f for f in (root, root / "AffectGPT") if (f / self.script).is_file()), None)
        if folder is None:
            raise InputError(f"member '{self.name}': {root} has no {self.script} (is it an AffectGPT checkout?)")
        if not (folder / self._config_path()).is_file():
            raise InputError(f"member '{self.name}': config {folder / self._config_path()} not found")
        python = shutil.which(str(Path(self.python).expanduser()))
        if python is None:
            raise InputError(f"member '{self.name}': Python interpreter '{self.python}' not found")
        self._folder, self._python = folder.resolve(), python

    def close(self) -> None:
        self._folder = self._python = None

    # ---- one clip -----------------------------------------------------------------------------
    def _config_path(self) -> str:
        config = str(self.config)
        if config.endswith((".yaml", ".yml")) or "/" in config:
            return config
        return f"train_configs/{config}.yaml"

    def _message(self) -> str:
        # Two-stage asks for a description without the subtitle; the base merges it afterwards.
        return USER_MESSAGES["description" if self.two_stage else self.mode]

    def command(self, request: Request) -> list[str]:
        """The argument list that runs the script on one prepared clip."""
        clip = request.clip
        if clip.video is None:
            raise MediaError(f"clip {clip.name}: no video file given")
        if not Path(clip.video).is_file():
            raise MediaError(f"{clip.video}: video not found")
        subtitle = clip.subtitle if self.use_subtitle and not self.two_stage else None
        argv = [
            str(self._python), self.script, "--zeroshot",
            "--video_path", str(Path(clip.video).resolve()),
            "--audio_path", str(Path(str(request.audio)).resolve()),
            "--subtitle", subtitle or "",
            "--cfg-path", self._config_path(),
            "--options", f"inference.test_epoch={self.epoch}",
        ]
        message = self._message()
        if message != USER_MESSAGES["labels"]:
            argv += ["--outside_user_message", message]
        return argv

    def _run(self, request: Request) -> str:
        env = {**os.environ, "CUDA_VISIBLE_DEVICES": str(self.gpu), "PYTHONUNBUFFERED": "1"}
        # A session of its own, so a timeout kills the script's children (vLLM workers) too.
        process = subprocess.Popen(self.command(request), cwd=self._folder, env=env, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace",
                                   start_new_session=True)
        try:
            stdout, stderr = process.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:  # it ended on its own meanwhile
                pass
            _, stderr = process.communicate()
            raise TimeoutError(f"AffectGPT took more than {self.timeout:g} s: {_tail(stderr)}") from None
        if process.returncode != 0:
            raise RuntimeError(f"AffectGPT exited with status {process.returncode}: {_tail(stderr or stdout)}")
        text = response_text(stdout)
        if not text:
            raise RuntimeError(f"AffectGPT printed no response: {_tail(stderr)}")
        return text

    def answer(self, requests: list[Request]) -> list[str | BaseException]:
        """One process per clip, one after another; a failed clip gives its error in place."""
        if self._folder is None:
            self.setup()
        answers: list[str | BaseException] = []
        for request in requests:
            try:
                answers.append(self._run(request))
            except (InputError, OSError, RuntimeError) as error:  # TimeoutError is an OSError
                answers.append(error)
        return answers

    # ---- answers ------------------------------------------------------------------------------
    def parse(self, text: str) -> tuple[str, list[str] | None]:
        """(description, labels): the common parser, then AffectGPT's 'emotional state is ...'
        sentence in labels mode."""
        description, labels = prompts.parse_answer(text)
        if labels is None and self.mode == "labels" and not self.two_stage:
            labels = state_labels(text)
        return description, labels
