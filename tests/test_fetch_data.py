"""`fetch-data` against a local mirror laid out like the MERTools repository (no internet here)."""
from __future__ import annotations

import shutil

import pytest

from core.errors import InputError
from ensemble.commands.fetch_data import FILES, fetch
from tests.support import DATA, run_cli


@pytest.fixture()
def mirror(tmp_path):
    """A file:// source holding the official files at their MERTools paths (copied from shared/)."""
    root = tmp_path / "mirror"
    for remote, local, _ in FILES:
        target = root / remote
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(DATA / local, target)
    return root


@pytest.mark.slow
def test_fetch_from_mirror_then_use_it(mirror, tmp_path):
    dest = tmp_path / "data"
    process = run_cli("fetch-data", "--dest", dest, "--source", mirror.as_uri())
    assert process.returncode == 0, process.stderr
    for _, local, _ in FILES:
        assert (dest / local).read_bytes() == (DATA / local).read_bytes()
    assert fetch(dest, mirror.as_uri()) == 0  # everything present and checked: nothing downloaded
    gold = DATA / "ovmerd" / "gold_dev.csv"
    process = run_cli("evaluate", "--gold", gold, "--pred", gold, "--lexicon", dest / "lexicon" / "mer2026", "--json")
    assert process.returncode == 0, process.stderr


def test_checksum_mismatch_saves_nothing(mirror, tmp_path):
    remote = FILES[0][0]
    (mirror / remote).write_text("name,format\nhappy,happy\n")
    dest = tmp_path / "data"
    with pytest.raises(InputError, match="sha256 .* does not match"):
        fetch(dest, mirror.as_uri())
    assert not any(p.is_file() for p in dest.rglob("*"))


@pytest.mark.slow
def test_unreachable_source(tmp_path):
    process = run_cli("fetch-data", "--dest", tmp_path / "d", "--source", (tmp_path / "nowhere").as_uri())
    assert process.returncode == 1
    assert "download failed" in process.stderr
