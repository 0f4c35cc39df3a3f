"""What `configs/smoke_live.yaml` needs, made on first use: tiny models, videos, a local server.

The config names them through the `${smoke:...}` resolver:
    ${smoke:clips}        a manifest of three generated clips (one without an audio track)
    ${smoke:qwen2_5_vl}   a tiny random-weight Qwen2.5-VL folder
    ${smoke:internvl}     a tiny random-weight InternVL3-hf folder
    ${smoke:remote_code}  a tiny folder whose modelling code ships inside it (needs trust_remote_code)
    ${smoke:server}       an OpenAI-compatible server on 127.0.0.1 over the tiny Qwen2.5-VL,
                          started in this process and stopped when it exits
    ${smoke:affectgpt}    a copy of testkit's stand-in AffectGPT checkout (its script's interface)
    ${smoke:python}       this interpreter (for the worker and the AffectGPT runner)
Everything is seeded and built under `<cache_dir>/smoke/`, once; a later run reuses it.
Random weights answer gibberish: a smoke run checks the plumbing of every backend, not answers.
"""
from __future__ import annotations

import atexit
import csv
import io
import logging
import shutil
import sys
import threading
from pathlib import Path

from omegaconf import OmegaConf

from core.errors import InputError
from core.files import atomic_write_text
from core.settings import cache_dir_or_default
from testkit.serve import start_engine_server
from members.live.worker import load_engine
from testkit.media import write_test_video
from testkit.models import tiny_internvl, tiny_qwen2_5_vl, tiny_remote_code

log = logging.getLogger(__name__)

_lock = threading.Lock()
_servers: dict[str, object] = {}


def _make_clips(root: Path) -> str:
    manifest = root / "clips" / "manifest.csv"
    if manifest.is_file():
        return str(manifest)
    rows = [
        ("smoke_a", "a.mp4", "I can't believe I won!"),
        ("smoke_b", "b.mp4", ""),
        ("smoke_c", "c.mp4", "Leave me alone."),  # no audio track: audio members fail on it
    ]
    for index, (_, video, _) in enumerate(rows):
        write_test_video(root / "clips" / video, seconds=1.0, audio=index != 2, seed=index)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["name", "video", "subtitle"])
    writer.writerows(rows)
    atomic_write_text(manifest, text.getvalue())
    return str(manifest)


def _server(root: Path) -> str:
    key = str(root)
    if key not in _servers:
        model = tiny_qwen2_5_vl(root / "qwen2_5_vl")
        engine = load_engine({"family": "qwen2_5_vl", "model_path": str(model), "device": "cpu", "dtype": "float32"})
        server = start_engine_server(engine.generate, model="tiny")
        atexit.register(server.close)
        _servers[key] = server
        log.info("smoke: serving the tiny Qwen2.5-VL at %s", server.url)
    return _servers[key].url


def _checkout(root: Path) -> str:
    """A copy of testkit's stand-in AffectGPT checkout (it logs its calls into its folder, which
    must not be the repository)."""
    target = root / "affectgpt"
    if not (target / "inference_sample.py").is_file():
        shutil.copytree(Path(__file__).parent / "fake_affectgpt", target, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("calls.log"))
    return str(target)


def resolve(what: str, *, _root_) -> str:
    """The path or URL that `${smoke:what}` stands for, made if missing."""
    root = cache_dir_or_default(OmegaConf.select(_root_, "cache_dir", default="")) / "smoke"
    makers = {
        "clips": lambda: _make_clips(root),
        "qwen2_5_vl": lambda: str(tiny_qwen2_5_vl(root / "qwen2_5_vl")),
        "internvl": lambda: str(tiny_internvl(root / "internvl")),
        "remote_code": lambda: str(tiny_remote_code(root / "remote_code")),
        "server": lambda: _server(root),
        "affectgpt": lambda: _checkout(root),
        "python": lambda: sys.executable,
    }
    if what not in makers:
        raise InputError(f"${{smoke:{what}}}: unknown (known: {', '.join(makers)})")
    with _lock:
        return makers[what]()
