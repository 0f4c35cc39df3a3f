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


def test_declared_folders_and_written_files_are_refused_before_they_exist(tmp_path):
    """A folder use covers every path under it; a file the run writes counts even before it
    exists (a live cache not yet created); a file it reads counts only where it exists."""
    from core.uses import PathUse

    model = tmp_path / "model"
    model.mkdir()
    with pytest.raises(InputError, match=f"lies in {model}, a folder this run reads \\(model_path\\)"):
        check_output_path(model / "sub" / "new.csv", [PathUse(str(model), "model_path", folder=True)])
    cache = tmp_path / "cache" / "live" / "Echo-0123.jsonl"
    with pytest.raises(InputError, match=f"is {cache}, a file this run writes \\(cache\\)"):
        check_output_path(cache, [PathUse(str(cache), "cache", writes=True)])
    assert check_output_path(tmp_path / "gone.csv", [PathUse(str(tmp_path / "gone.csv"), "path")]) == tmp_path / "gone.csv"
    assert check_output_path(tmp_path / "model.csv", [PathUse(str(model), "model_path", folder=True)])  # a sibling, not inside


def test_parts_declare_their_paths_and_nested_parts_theirs(tmp_path):
    from core.factory import build

    labels = tmp_path / "labels.csv"
    spec = {"name": "w", "type": "extracted", "member": {"type": "cached", "path": str(labels)},
            "extractor": {"type": "learned", "state": "s.json"}}
    uses = build("member", spec, {"lexicon": "LEX", "cache_dir": "", "data_root": ""}).paths()
    assert [(u.path, u.what, u.folder) for u in uses] == [
        (str(labels), "member: path", False), ("LEX", "extractor: lexicon", True), ("s.json", "extractor: state", False)]
    vlm = build("member", {"name": "v", "type": "qwen_vl", "model_path": "/m", "python": "/py"}, {"cache_dir": str(tmp_path)})
    found = {u.what: u for u in vlm.paths()}
    assert found["model_path"].folder and found["python"].path == "/py"
    assert found["cache"].writes and found["cache"].path.startswith(str(tmp_path / "live"))
