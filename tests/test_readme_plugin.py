"""The README's plug-in example, as written: its file blocks are the files of
tests/data/plugin_example/, and its commands run from the repository's root give the answers the
README states. Two changes to the commands, so that the test leaves the environment and the
checkout as they were: pip installs into a temporary folder (put on PYTHONPATH) from a copy of
the example (pip builds inside the source folder), and `--out` writes into a temporary folder."""
from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys

import pytest

from tests.support import DATA, REPO, run_cli

EXAMPLE = REPO / "tests" / "data" / "plugin_example"


def plugin_section() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return text.split("\n## Plug-ins\n", 1)[1].split("\n## ", 1)[0]


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", plugin_section(), flags=re.DOTALL)


def test_readme_blocks_are_the_example_files():
    for language in ("toml", "python"):
        (block,) = blocks(language)
        header, body = block.split("\n", 1)
        assert header.startswith("# ")
        assert body == (EXAMPLE / header[2:]).read_text(encoding="utf-8"), header
    (csv_block,) = blocks("csv")
    assert csv_block == (EXAMPLE / "subtitles.csv").read_text(encoding="utf-8")


@pytest.mark.slow
def test_readme_commands_run_as_written(tmp_path):
    (script,) = blocks("bash")
    commands = [shlex.split(line) for line in script.replace("\\\n", " ").strip().splitlines()]
    install, run = commands
    assert install[:2] == [".venv/bin/pip", "install"] and run[:2] == [".venv/bin/python", "run_ensemble.py"]

    source = tmp_path / "src"
    shutil.copytree(REPO / install[2], source)
    target = tmp_path / "site"
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "--target", str(target), str(source)], check=False, capture_output=True, text=True, timeout=300)
    assert pip.returncode == 0, pip.stderr

    arguments = run[2:]
    out = arguments.index("--out") + 1
    arguments[out] = str(tmp_path / "kw.csv")
    done = run_cli(*arguments, env={"PYTHONPATH": str(target), "OVMER_DATA": str(DATA)})
    assert done.returncode == 0, done.stderr
    rows = (tmp_path / "kw.csv").read_text(encoding="utf-8").splitlines()
    assert rows == ["name,openset", "clip_a,\"['happy', 'excited']\"", "clip_b,\"['angry']\"",
                    "clip_c,\"['surprised', 'worried']\""]
    for clip, labels in [("clip_a", "['happy', 'excited']"), ("clip_b", "['angry']"), ("clip_c", "['surprised', 'worried']")]:
        assert f"`{clip}` `{labels}`" in plugin_section()  # what the README says it writes
