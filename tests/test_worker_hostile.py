"""The worker link against a hostile worker: tests/hostile_worker.py started as the member's worker
(through a `python` that is a two-line shell script running it), a real process on real pipes.

Each test bounds its own time (`within`: the call runs in a thread and must end in a few
seconds, so a hang fails instead of blocking the suite) and the endless line checks memory by
the growth of this process's peak RSS (resource.getrusage).
"""
from __future__ import annotations

import csv
import resource
import sys
import threading
import time
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from core.errors import InputError
from ensemble.cli import main as cli
from members.base import Clip
from members.live import worker as protocol
from members.live.vlm import VisionLanguageMember, WorkerError
from testkit.media import write_test_video
from tests.support import DATA

HOSTILE = Path(__file__).resolve().parent / "hostile_worker.py"


def python_for(mode: str, folder: Path) -> str:
    """An executable that the member takes for its Python and that runs the hostile worker instead."""
    path = folder / f"python-{mode}"
    path.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{HOSTILE}" {mode}\n')
    path.chmod(0o755)
    return str(path)


def within(seconds: float, call):
    """call() in a thread that must end within `seconds`; its result, or the exception it raised."""
    outcome: list = []

    def run():
        try:
            outcome.append(call())
        except BaseException as error:  # noqa: BLE001 - handed to the test
            outcome.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert outcome, f"still running after {seconds} s"
    return outcome[0]


def member(mode: str, folder: Path, **options) -> VisionLanguageMember:
    settings = {"name": "w", "family": "echo", "model_path": "", "backend": "worker", "python": python_for(mode, folder),
                "num_frames": 0, "timeout": 1.0, "load_timeout": 1.0, "progress": False, "batch_size": 2}
    return VisionLanguageMember(**{**settings, **options})


def test_a_worker_that_never_answers_the_load_is_one_input_error(tmp_path):
    m = member("silent", tmp_path)
    began = time.monotonic()
    error = within(6, m.setup)
    assert isinstance(error, InputError) and isinstance(error, WorkerError)
    assert "gave no answer within 1 s while loading the model" in str(error)
    assert time.monotonic() - began < 4


def test_non_json_at_load_is_one_error_line_from_the_command_line(tmp_path, capsys):
    video = write_test_video(tmp_path / "a.mp4", seconds=0.5)
    with open(tmp_path / "clips.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([["name", "video", "subtitle"], ["a", str(video), "hi"]])
    config = tmp_path / "run.yaml"
    config.write_text(OmegaConf.to_yaml(OmegaConf.create({
        "data_root": str(DATA), "cache_dir": str(tmp_path / "cache"), "judge": {"type": "kofn", "k": 1},
        "members": [{"name": "w", "type": "vlm", "family": "echo", "model_path": "", "backend": "worker",
                     "python": python_for("nonjson", tmp_path), "num_frames": 0, "load_timeout": 5,
                     "progress": False}],
    })))
    out = tmp_path / "out.csv"
    status = within(30, lambda: cli(["run", "--config", str(config), "--clips", str(tmp_path / "clips.csv"),
                                     "--out", str(out)]))
    assert status == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: member 'w': the worker wrote a line that is not JSON: «Loading checkpoint")
    assert "\x1b" not in last and "\\x1b" in last and "while loading the model" in last
    assert not out.exists()


def test_an_endless_line_fails_the_batch_with_bounded_memory(tmp_path):
    m = member("endless", tmp_path, timeout=20.0, load_timeout=5.0)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        outputs = within(20, lambda: m.predict([Clip(name="a", subtitle="x"), Clip(name="b", subtitle="y")]))
    finally:
        m.close()
    growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    for name in "ab":
        assert not outputs[name].ok
        assert f"wrote a line longer than {protocol.MAX_REPLY_LINE} bytes while answering a batch" in outputs[name].error
    assert growth_mb < 60


def test_a_worker_that_stops_reading_fails_the_batch_at_the_deadline(tmp_path):
    """A request of 300 KB (the subtitle) fills the pipe: the write itself must end at the deadline."""
    m = member("deaf", tmp_path, batch_size=1)
    began = time.monotonic()
    try:
        outputs = within(10, lambda: m.predict([Clip(name="a", subtitle="long " * 60_000),
                                                Clip(name="b", subtitle="long " * 60_000)]))
    finally:
        m.close()
    for name in "ab":  # each batch of one fails alone; the run goes on to the next
        assert "the worker did not take its input within 1 s while answering a batch of 1" in outputs[name].error
    assert time.monotonic() - began < 8


def test_a_request_over_the_bound_is_refused_before_it_is_sent(tmp_path, monkeypatch):
    """The real worker (echo engine); the parent's bound lowered so that a long subtitle passes it."""
    monkeypatch.setattr(protocol, "MAX_REQUEST_LINE", 10_000)  # a small bound instead of 256 MB of frames
    m = member("unused", tmp_path, python=sys.executable, batch_size=1, timeout=20.0, load_timeout=20.0)
    try:
        outputs = within(30, lambda: m.predict([Clip(name="long", subtitle="long " * 5_000),
                                                Clip(name="short", subtitle="short")]))
    finally:
        m.close()
    assert "more than the protocol's bound of 10000" in outputs["long"].error
    assert outputs["short"].ok  # the worker was never sent the long one, and answers the next


@pytest.mark.parametrize("lines, expected", [
    ([b"x" * 10 + b"\n", b"short\n"], [protocol.TOO_LONG, b"short\n"]),
    ([b"x" * 25], [protocol.TOO_LONG]),
    ([b"12345678\n", b"end"], [b"12345678\n", b"end"]),
])
def test_read_lines_drops_a_line_over_the_bound(lines, expected):
    import io

    got = list(protocol.read_lines(io.BytesIO(b"".join(lines)), 8))
    assert got == expected
    assert all(item is protocol.TOO_LONG or len(item) <= 9 for item in got)
