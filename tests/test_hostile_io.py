"""Issue 17, items 7 (outputs, registry), 9 and 10: an output that cannot be written, a part
type that would run a program, a zip bomb and raw bytes in an error are each one `error:` line.

A full disk cannot be made here (no tmpfs can be mounted): it is simulated by handing the atomic
writer a descriptor of /dev/full, where the kernel itself answers every write with ENOSPC. Tests
run as root, whom a chmod'ed folder does not stop: a read-only folder is /sys (a read-only
mount), skipped where it is writable.
"""
from __future__ import annotations

import csv
import errno
import io
import os
import struct
import sys
import tempfile
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

import core.files
from core import registry
from core.errors import InputError, OutputError, brief, excerpt, printable, where
from core.files import atomic_write_text
from core.metrics import mer2024
from core.metrics.mer2024 import ZipGrouper
from ensemble.cli import main as cli
from testkit.media import write_test_video
from tests.support import DATA, baseline_file, run_cli

CACHED = baseline_file("Video-ChatGPT")
RUN = ["run", "--data-root", str(DATA), f"members=[{{name: m, path: {CACHED}}}]", "judge={type: kofn, k: 1}"]


def last_error(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines and "Traceback" not in "\n".join(lines)
    return lines[-1]


# ---- outputs that cannot be written -------------------------------------------------------------
def test_an_output_whose_folder_is_a_file_is_one_error_line(tmp_path, capsys):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("mine")
    assert cli([*RUN, "--out", str(blocker / "sub.csv")]) == 1
    assert last_error(capsys) == f"error: {blocker / 'sub.csv'}: cannot write here: {blocker} is a file, not a folder"
    assert blocker.read_text() == "mine"


def test_a_full_disk_is_one_error_line_and_leaves_nothing(tmp_path, capsys, monkeypatch):
    """The writer's temporary file is /dev/full (ENOSPC on every write): a full disk."""
    out = tmp_path / "sub.csv"
    out.write_text("the old submission\n")

    def full_disk_part(target):
        handle, temporary = tempfile.mkstemp(dir=Path(target).parent, suffix=".part")
        os.close(handle)
        return os.open("/dev/full", os.O_WRONLY), temporary

    monkeypatch.setattr(core.files, "part_file", full_disk_part)
    assert cli([*RUN, "--out", str(out)]) == 1
    assert last_error(capsys) == f"error: {out}: cannot write the file: {os.strerror(errno.ENOSPC)}"
    assert out.read_text() == "the old submission\n"  # the old file stays whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sub.csv"]  # no temporary left


def test_a_read_only_folder_is_one_error_line(capsys):
    try:
        handle, probe = tempfile.mkstemp(dir="/sys")
    except OSError:
        pass
    else:  # pragma: no cover - a machine where /sys is writable
        os.close(handle)
        os.unlink(probe)
        pytest.skip("/sys is writable here: no read-only folder to write into")
    assert cli([*RUN, "--out", "/sys/sub.csv"]) == 1
    last = last_error(capsys)
    assert last.startswith("error: /sys/sub.csv: cannot write the file: ")


def test_atomic_write_errors_are_output_errors_and_still_os_errors(tmp_path):
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(OutputError, match=r"folder\.csv: cannot write the file: ") as caught:
        atomic_write_text(tmp_path / "folder.csv", "x")
    assert isinstance(caught.value, OSError) and isinstance(caught.value, InputError)
    assert [p.name for p in tmp_path.iterdir()] == ["folder.csv"]


# ---- part types that would run a program -------------------------------------------------------
def test_a_main_module_is_refused_before_it_is_imported(tmp_path, monkeypatch):
    """`tqdm.__main__` runs tqdm's command line when imported; a package's __main__ is refused
    by name, before any of its code (here: one writing a marker) runs."""
    package = tmp_path / "probe_cli"
    package.mkdir()
    (package / "__init__.py").write_text("")
    marker = tmp_path / "ran"
    (package / "__main__.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for target in ("tqdm.__main__:X", "probe_cli.__main__:Member", "probe_cli.__init__:Member"):
        with pytest.raises(InputError, match="module \\(importing it runs a program\\).*refused"):
            registry.resolve("member", target)
    assert "tqdm.__main__" not in sys.modules and "probe_cli.__main__" not in sys.modules
    assert not marker.exists()


def test_run_with_a_main_module_type_is_one_error_line(tmp_path, capsys):
    out = tmp_path / "sub.csv"
    assert cli(["run", "--data-root", str(DATA), "members=[{name: m, type: 'tqdm.__main__:X'}]", "--out", str(out)]) == 1
    assert "tqdm.__main__" in last_error(capsys) and not out.exists()


# ---- zip bombs ----------------------------------------------------------------------------------
def bomb(path: Path, entry: str, megabytes: int) -> Path:
    """A zip whose one entry deflates `megabytes` MB of zeros (about 1/1000 of that on disk)."""
    chunk = bytes(1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive, archive.open(entry, "w", force_zip64=True) as handle:
        for _ in range(megabytes):
            handle.write(chunk)
    return path


def lying(path: Path, entry: str, megabytes: int, claimed: int) -> Path:
    """A zip whose one entry inflates to `megabytes` MB while its headers claim `claimed` bytes."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(entry, bytes(megabytes << 20))
    data = bytearray(path.read_bytes())
    local = data.index(b"PK\x03\x04")
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, local + 22, claimed)  # uncompressed size, local header
    struct.pack_into("<I", data, central + 24, claimed)  # and central directory
    path.write_bytes(bytes(data))
    return path


def one_clip_files(folder: Path) -> tuple[str, Path]:
    clip = "sample_00000007"
    gold = folder / "gold.csv"
    gold.write_text(f"name,openset\n{clip},\"['happy']\"\n")
    return clip, gold


def test_a_zip_bomb_entry_is_refused_from_its_declared_size_in_bounded_memory(tmp_path):
    clip, _ = one_clip_files(tmp_path)
    path = bomb(tmp_path / "groupings.zip", f"{clip}.npy", 64)
    assert path.stat().st_size < 1 << 20
    grouper = ZipGrouper(groupings=str(path))
    tracemalloc.start()
    try:
        with pytest.raises(InputError, match=rf"groupings\.zip, entry '{clip}\.npy': inflates to {64 << 20} bytes"):
            grouper.groups(clip, ["happy"])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20  # the old reader inflated all 64 MB


def test_a_zip_entry_whose_header_lies_is_read_with_a_hard_cap(tmp_path):
    clip, _ = one_clip_files(tmp_path)
    path = lying(tmp_path / "groupings.zip", f"{clip}.npy", 8, claimed=100)
    tracemalloc.start()
    try:
        with pytest.raises(InputError, match=rf"groupings\.zip, entry '{clip}\.npy': "):
            ZipGrouper(groupings=str(path)).groups(clip, ["happy"])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20


def test_an_npy_header_declaring_more_than_the_entry_holds_is_refused(tmp_path):
    clip, _ = one_clip_files(tmp_path)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<U1", "fortran_order": False, "shape": (1 << 40,)})
    path = tmp_path / "groupings.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{clip}.npy", header.getvalue() + b"x" * 64)
    with pytest.raises(InputError, match=f"unreadable grouping for clip {clip}.*header declares"):
        ZipGrouper(groupings=str(path)).groups(clip, ["happy"])


def test_too_many_entries_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(mer2024, "MAX_ENTRIES", 3)
    path = tmp_path / "groupings.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for index in range(4):
            archive.writestr(f"clip{index}.npy", b"")
    with pytest.raises(InputError, match="4 entries, more than the 3"):
        ZipGrouper(groupings=str(path)).groups("clip0", ["happy"])


def test_evaluate_with_a_zip_bomb_is_one_error_line(tmp_path, capsys):
    clip, gold = one_clip_files(tmp_path)
    path = bomb(tmp_path / "groupings.zip", f"{clip}.npy", 16)
    assert cli(["evaluate", "--gold", str(gold), "--pred", str(gold), "--groupings", str(path), "--data-root", str(DATA)]) == 1
    last = last_error(capsys)
    assert last.startswith(f"error: {path}, entry '{clip}.npy': inflates to ")


def test_the_real_groupings_zip_still_reads():
    grouper = ZipGrouper(groupings=str(DATA / "mer2024_ov" / "openset-synonym-dev.zip"))
    clip = sorted(grouper.clips())[0]
    assert grouper.groups(clip, []) and all(isinstance(group, list) for group in grouper.groups(clip, []))


# ---- raw bytes in errors ------------------------------------------------------------------------
def assert_clean(text: str) -> None:
    """No control character but the line ends, no undecodable byte."""
    bad = [c for c in text if (not c.isprintable() and c != "\n")]
    assert not bad, f"raw characters in the output: {bad[:5]!r}"


def test_an_mp4_given_as_manifest_prints_no_control_bytes(tmp_path):
    video = write_test_video(tmp_path / "clip.mp4")
    manifest = tmp_path / "manifest.csv"
    manifest.write_bytes(Path(video).read_bytes())
    for args in (["--clips", str(video)], ["--clips", str(manifest)], [f"members=[{{name: m, path: {manifest}}}]", "judge={type: kofn, k: 1}"]):
        done = run_cli("run", "--out", tmp_path / "sub.csv", *args)
        assert done.returncode == 1
        raw = done.stderr
        assert_clean(raw)
        assert raw.strip().splitlines()[-1].startswith("error: ") and "\\x00" in raw
    assert not (tmp_path / "sub.csv").exists()


def test_a_clip_name_with_escape_codes_is_escaped_in_warnings_and_errors(tmp_path):
    manifest = tmp_path / "manifest.csv"
    with open(manifest, "w", newline="") as handle:
        csv.writer(handle).writerows([["name", "video"], ["evil\x1b[2J\x07clip", "missing.mp4"]])
    config = tmp_path / "c.yaml"
    config.write_text(OmegaConf.to_yaml(OmegaConf.create({
        "data_root": str(DATA), "cache_dir": str(tmp_path / "cache"), "judge": {"type": "kofn", "k": 1},
        "members": [{"name": "echo", "type": "tests.live_support:Echo", "progress": False}],
    })))
    done = run_cli("run", "--config", config, "--clips", manifest, "--out", tmp_path / "sub.csv")
    assert done.returncode == 1
    assert_clean(done.stderr)
    assert "evil\\x1b[2J\\x07clip" in done.stderr and "WARNING" in done.stderr


def test_excerpt_brief_and_where_escape_control_characters():
    assert printable("a\x00b\nc\udcab d 你") == "a\\x00b\\nc\\udcab d 你"
    assert excerpt("\x00\x1cftyp") == "«\\x00\\x1cftyp»"
    assert brief(ValueError("bad byte \x1b[31m here\nsecond line")) == "bad byte \\x1b[31m here"
    assert where("f\x00.csv", 3, "c\x07") == "f\\x00.csv, row 3, clip c\\x07"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=()), max_size=80), st.integers(min_value=1, max_value=60))
def test_any_text_comes_out_printable_and_on_one_line(text, limit):
    for shown in (printable(text), excerpt(text, limit), brief(ValueError(text)), where(text, 1, text)):
        assert shown.isprintable(), repr(shown)
    assert printable(text) == text or not text.isprintable()
