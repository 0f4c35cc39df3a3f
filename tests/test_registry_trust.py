"""What a config's `type:` may name: a registered name, an installed plug-in (entry point) or a
'module:Class' deriving from the kind's base. Standard-library targets are refused before they
are imported; anything else that is not such a class is refused before it is called.

Plug-ins here are real entry points: a `*.dist-info` folder written into a temporary folder on
sys.path, which importlib.metadata reads as it reads any installed package. The slow test
installs tests/data/plugin_example with pip and runs the command line on it.
"""
from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import textwrap

import pytest

from core import registry
from core.errors import InputError
from core.factory import build
from members.cached import CachedMember
from tests.support import DATA, REPO, run_cli

STDLIB_TARGETS = ["os:system", "subprocess:Popen", "builtins:eval", "shutil:rmtree", "os.path:join", "importlib:import_module"]


@pytest.fixture()
def plugin_dir(tmp_path, monkeypatch):
    """A folder on sys.path (and the plug-in table read afresh) for modules and dist-infos a test writes."""
    monkeypatch.syspath_prepend(str(tmp_path))
    registry.plugins.cache_clear()
    yield tmp_path
    registry.plugins.cache_clear()
    for name in [m for m in sys.modules if m.startswith("trust_probe")]:
        del sys.modules[name]


def write_module(folder, name: str, body: str) -> None:
    (folder / f"{name}.py").write_text(textwrap.dedent(body), encoding="utf-8")


def write_dist(folder, dist: str, group: str, points: dict[str, str]) -> None:
    info = folder / f"{dist}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n", encoding="utf-8")
    lines = [f"[{group}]"] + [f"{name} = {value}" for name, value in points.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.parametrize("target", STDLIB_TARGETS)
@pytest.mark.parametrize("kind", sorted(registry.TYPES))
def test_standard_library_targets_are_refused(kind, target):
    with pytest.raises(InputError, match="standard library.*refused"):
        registry.resolve(kind, target)


def test_a_standard_library_module_is_refused_before_it_is_imported():
    # `this` prints the Zen of Python when imported; nothing in the test session imports it.
    assert "this" not in sys.modules and "antigravity" not in sys.modules
    for target in ("this:Foo", "antigravity:Foo"):
        with pytest.raises(InputError, match="standard library"):
            build("member", {"type": target, "name": "m"})
    assert "this" not in sys.modules and "antigravity" not in sys.modules


@pytest.mark.parametrize("target", ["os;rm:x", "../evil:X", ":X", "pkg.:X", "mod:", "mod:a.b", "mod:X()", " :os"])
def test_malformed_targets_are_refused(target):
    with pytest.raises(InputError, match="not a 'module:Class' name|unknown member type"):
        registry.resolve("member", target)


def test_a_class_that_is_not_a_member_is_refused_before_it_is_called(plugin_dir):
    marker = plugin_dir / "called"
    write_module(plugin_dir, "trust_probe_other", f"""
        class NotAMember:
            def __init__(self, **kwargs):
                open({str(marker)!r}, "w").close()

        def function(**kwargs):
            open({str(marker)!r}, "w").close()
        """)
    for target in ("trust_probe_other:NotAMember", "trust_probe_other:function"):
        with pytest.raises(InputError, match=r"is not a member class .*members\.base:Member\); refused"):
            build("member", {"type": target, "name": "m"})
    with pytest.raises(InputError, match="is not a judge class"):
        registry.resolve("judge", "members.cached:CachedMember")  # a member is not a judge
    with pytest.raises(InputError, match="is not a member class"):
        registry.resolve("member", "numpy:ndarray")  # third-party, importable, not a member
    assert not marker.exists()


def test_a_subclass_given_as_module_class_is_built(plugin_dir):
    write_module(plugin_dir, "trust_probe_member", """
        from dataclasses import dataclass
        from members.cached import CachedMember

        @dataclass(kw_only=True)
        class Mine(CachedMember):
            pass
        """)
    member = build("member", {"type": "trust_probe_member:Mine", "name": "m", "path": "x.csv"})
    assert isinstance(member, CachedMember) and type(member).__name__ == "Mine"


def test_a_plugin_resolves_by_name_and_is_imported_only_when_asked_for(plugin_dir):
    write_module(plugin_dir, "trust_probe_plugin", """
        from dataclasses import dataclass
        from judge.vote import KOfNVote

        @dataclass
        class Unanimous(KOfNVote):
            k: int = 99
        """)
    write_dist(plugin_dir, "trust_probe_dist", "ovmer_ensemble.judges", {"unanimous": "trust_probe_plugin:Unanimous"})
    assert registry.plugin_names("judge") == ["unanimous"]
    assert "trust_probe_plugin" not in sys.modules  # listing plug-ins imports none
    judge = build("judge", {"type": "unanimous"})
    assert type(judge).__name__ == "Unanimous" and judge.k == 99
    with pytest.raises(InputError, match=r"known: category, kofn, unanimous"):
        build("judge", {"type": "nope"})


def test_a_table_name_wins_over_a_plugin_of_that_name_with_a_warning(plugin_dir, caplog):
    write_dist(plugin_dir, "trust_probe_clash", "ovmer_ensemble.judges", {"kofn": "trust_probe_never:Imported"})
    with caplog.at_level(logging.WARNING, logger="core.registry"):
        assert registry.resolve("judge", "kofn").__name__ == "KOfNVote"
    assert "shadowed by the built-in type" in caplog.text and "trust_probe_never" not in sys.modules


def test_a_plugin_pointing_at_the_standard_library_is_refused(plugin_dir):
    write_dist(plugin_dir, "trust_probe_bad", "ovmer_ensemble.members", {"shell": "os:system", "popen": "subprocess:Popen"})
    for name in ("shell", "popen"):
        with pytest.raises(InputError, match=f"member type '{name}'.*standard library"):
            build("member", {"type": name, "name": "m"})


def test_run_with_a_shell_type_is_one_error_line_and_runs_nothing(tmp_path, capsys):
    from ensemble.cli import main

    marker = tmp_path / "ran"
    members = f"members=[{{name: m, type: 'subprocess:call', args: [touch, {marker}]}}]"
    out = tmp_path / "out.csv"
    assert main(["run", "--out", str(out), "--data-root", str(DATA), members]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: member 'm': member type 'subprocess:call'") and "standard library" in err[-1]
    assert main(["run", "--out", str(out), "--data-root", str(DATA), "judge.type=ensemble.cli:main"]) == 1
    assert "is not a judge class" in capsys.readouterr().err
    assert not marker.exists() and not out.exists()


def test_the_kernel_imports_no_higher_layer():
    """core.registry checks bases without importing members/, judge/ or vocab/ (layering)."""
    code = (
        "import sys, core.registry as r\n"
        "try: r.resolve('member', 'os:system')\n"
        "except Exception: pass\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'members', 'judge', 'vocab', 'ensemble'}))"
    )
    done = subprocess.run([sys.executable, "-c", code], check=False, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.slow
def test_example_plugin_package_installs_and_runs(tmp_path):
    """pip installs tests/data/plugin_example into a folder put on PYTHONPATH (the test
    environment is not changed); `run` then builds its member by the entry-point name."""
    source = tmp_path / "src"
    shutil.copytree(REPO / "tests" / "data" / "plugin_example", source)  # pip builds in the tree
    target = tmp_path / "site"
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "--target", str(target), str(source)],
        check=False, capture_output=True, text=True, timeout=300,
    )
    assert pip.returncode == 0, pip.stderr
    subtitles = tmp_path / "subtitles.csv"
    subtitles.write_text("name,text\nclip_a,I am so happy and excited!\nclip_b,Why? I'm angry.\n", encoding="utf-8")
    config = tmp_path / "plugin.yaml"
    config.write_text(
        f"members:\n  - {{name: subs, type: keywords, path: {subtitles}}}\njudge: {{type: kofn, k: 1}}\n", encoding="utf-8"
    )
    out = tmp_path / "out.csv"
    done = run_cli("run", "--config", config, "--out", out, "--data-root", DATA, env={"PYTHONPATH": str(target)})
    assert done.returncode == 0, done.stderr
    assert out.read_text(encoding="utf-8").splitlines()[1:] == ["clip_a,\"['happy', 'excited']\"", "clip_b,\"['angry']\""]
    # Without the package on the path, the name is unknown: one error line.
    missing = run_cli("run", "--config", config, "--out", tmp_path / "x.csv", "--data-root", DATA)
    assert missing.returncode == 1 and missing.stderr.strip().splitlines()[-1].startswith("error: member 'subs': unknown member type 'keywords'")
