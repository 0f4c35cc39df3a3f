"""Resume and determinism of `run`, as separate processes: a run killed with SIGKILL at random
points and run again finishes, leaves no temporary file, and writes the very bytes of an
uninterrupted run; a writer killed in the middle of writing leaves a `.part` that the next run
removes; two runs under different hash seeds and thread counts write identical bytes."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest

from tests.support import DATA, REPO, run_cli

pytestmark = pytest.mark.slow


def leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


def test_sigkill_at_random_points_then_rerun_is_byte_identical(tmp_path):
    reference = tmp_path / "reference.csv"
    assert run_cli("run", "--out", reference).returncode == 0
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "submission.csv"
    env = {**os.environ, "OVMER_DATA": str(DATA)}
    rng = random.Random(20261130)
    for delay in [rng.uniform(0.05, 2.0) for _ in range(4)]:
        process = subprocess.Popen([sys.executable, str(REPO / "run_ensemble.py"), "run", "--out", str(out)],
                                   cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        if out.exists():  # the kill came after the rename: what is there is whole
            assert out.read_bytes() == reference.read_bytes()
        done = run_cli("run", "--out", out)
        assert done.returncode == 0, done.stderr
        assert out.read_bytes() == reference.read_bytes()
        assert leftovers(out_dir) == []


def test_a_writer_killed_mid_write_leaves_a_part_that_the_next_run_removes(tmp_path):
    out = tmp_path / "submission.csv"
    code = (
        "import os, signal, sys\n"
        "from core.files import part_file\n"
        f"handle, path = part_file({str(out)!r})\n"
        "os.write(handle, b'name,openset\\nhalf')\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    killed = subprocess.run([sys.executable, "-c", code], check=False, cwd=REPO, capture_output=True)
    assert killed.returncode == -signal.SIGKILL
    assert len(leftovers(tmp_path)) == 1 and not out.exists()
    done = run_cli("run", "--out", out)
    assert done.returncode == 0, done.stderr
    assert leftovers(tmp_path) == [] and out.read_text().startswith("name,openset\n")


def test_runs_are_byte_identical_whatever_the_hash_seed_and_thread_count(tmp_path):
    outputs = []
    for seed, threads in (("0", "1"), ("4242", "2")):
        out = tmp_path / f"seed{seed}.csv"
        env = {"PYTHONHASHSEED": seed, "OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads}
        done = run_cli("run", "--out", out, "vocab.type=wordnet", env=env)
        assert done.returncode == 0, done.stderr
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
