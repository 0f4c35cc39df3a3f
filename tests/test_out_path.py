"""`--out` never destroys: a directory, a device, an empty name or an input of the same run is
refused with one error line, exit status 1, and the file left as it was."""
from __future__ import annotations

import pytest

from core.errors import InputError
from core.files import check_output_path
from ensemble.cli import main
from tests.support import DATA


def test_check_output_path_refuses_what_it_would_destroy(tmp_path):
    source = tmp_path / "member.csv"
    source.write_text("name,openset\na,[happy]\n")
    with pytest.raises(InputError, match="is a directory"):
        check_output_path(tmp_path)
    with pytest.raises(InputError, match="not a regular file"):
        check_output_path("/dev/null")
    with pytest.raises(InputError, match="empty"):
        check_output_path("  ")
    with pytest.raises(InputError, match="is an input of this run"):
        check_output_path(source, [source])
    link = tmp_path / "link.csv"
    link.symlink_to(source)
    with pytest.raises(InputError, match="is an input of this run"):
        check_output_path(link, [source])  # a link to an input is the input
    assert check_output_path(tmp_path / "new.csv", [source]) == tmp_path / "new.csv"
    assert source.read_text() == "name,openset\na,[happy]\n"


def test_run_refuses_to_overwrite_a_member_file(tmp_path, capsys):
    member = tmp_path / "member.csv"
    member.write_text("name,openset\nsample_00000007,\"['happy']\"\n")
    before = member.read_bytes()
    code = main(["run", "--out", str(member), "--data-root", str(DATA), "members=[{name: m, path: " + str(member) + "}]", "judge={type: kofn, k: 1}"])
    assert code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and "is an input of this run" in err[-1]
    assert member.read_bytes() == before


def test_extract_refuses_its_input_and_a_directory(tmp_path, capsys):
    descriptions = tmp_path / "d.jsonl"
    descriptions.write_text('{"name": "a", "description": "She is happy."}\n')
    assert main(["extract", "--input", str(descriptions), "--out", str(descriptions), "--data-root", str(DATA)]) == 1
    assert "is an input of this run" in capsys.readouterr().err
    assert main(["extract", "--input", str(descriptions), "--out", str(tmp_path), "--data-root", str(DATA)]) == 1
    assert "is a directory" in capsys.readouterr().err
    assert descriptions.read_text() == '{"name": "a", "description": "She is happy."}\n'
