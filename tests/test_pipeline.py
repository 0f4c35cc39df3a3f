"""ensemble.pipeline, clip by clip, on a small real config: four real member files and the real lexicon.

The members' label files are read directly (members.readers) to check what the pipeline collects.
`run --clips` goes through the command line in process (ensemble.cli.main) and, once, as a subprocess.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from core.errors import InputError
from core.labels import normalise_label, read_label_csv
from core.settings import default_cache_dir
from ensemble.cli import main as cli
from ensemble.config import load_config
from ensemble.pipeline import build_members, collect_outputs, coverage_report, judge_clips, prepare, select_clips, shared_settings
from judge.vote import KOfNVote
from members.base import Member, MemberOutput
from members.cached import CachedMember
from members.readers import read_label_sets
from tests.support import DATA, LEXICON, affectgpt_file, baseline_file, run_cli
from vocab.clusters import LexiconVocabulary

MODELS = ["Video-ChatGPT", "mPLUG-Owl", "Qwen-Audio"]
MEMBER_FILES = {**{m: baseline_file(m) for m in MODELS}, "AffectGPT-e30": affectgpt_file(30)}


def write_config(folder: Path, judge: dict | None = None, members: dict[str, Path] | None = None, **extra) -> Path:
    """A config in the shipped layout: members named by `${data_root}` paths, no lexicon on any part."""
    entries = []
    for name, path in (members or MEMBER_FILES).items():
        path = Path(path)
        shown = "${data_root}/" + path.relative_to(DATA).as_posix() if path.is_relative_to(DATA) else str(path)
        entries.append({"name": name, "type": "cached", "path": shown})
    config = {"data_root": str(DATA), "members": entries, "judge": judge or {"type": "kofn", "k": 2}, **extra}
    path = folder / "config.yaml"
    path.write_text(OmegaConf.to_yaml(OmegaConf.create(config)))
    return path


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    return load_config(write_config(tmp_path_factory.mktemp("config")), data_root=str(DATA))


@pytest.fixture(scope="module")
def direct():
    """member -> clip -> labels, read straight from the files."""
    return {name: read_label_sets(path) for name, path in MEMBER_FILES.items()}


@pytest.fixture(scope="module")
def prepared(config):
    return prepare(config)


def expected_clusters(words, vocabulary) -> set[str]:
    return {vocabulary.cluster(normalise_label(w)) for w in words if normalise_label(w)}


# ---- prepare ---------------------------------------------------------------------------------
def test_prepare_collects_every_covered_clip_clip_major(prepared, direct):
    assert prepared.members == list(MEMBER_FILES)
    covered = set().union(*map(set, direct.values()))
    assert prepared.clips == sorted(covered)
    assert len(direct["Video-ChatGPT"]) < len(prepared.clips) == len(direct["AffectGPT-e30"])  # AffectGPT covers OV-MERD+
    for clip in prepared.clips:
        assert prepared.labels[clip] == {m: direct[m][clip] for m in MEMBER_FILES if clip in direct[m]}
    for member in MEMBER_FILES:
        assert prepared.member_labels(member) == direct[member]


def test_prepare_builds_one_ballot_per_clip_from_the_members_words(prepared, direct):
    vocabulary = prepared.vocabulary
    assert isinstance(vocabulary, LexiconVocabulary) and vocabulary.lexicon == LEXICON  # the run's lexicon, handed down
    assert [b.clip for b in prepared.ballots] == prepared.clips
    lacking = 0
    for ballot in prepared.ballots:
        present = [m for m in MEMBER_FILES if ballot.clip in direct[m]]
        assert ballot.members == present
        lacking += len(present) < len(MEMBER_FILES)
        for member in present:
            said = expected_clusters(direct[member][ballot.clip], vocabulary)
            voted = {cluster for cluster, by_member in ballot.votes.items() if member in by_member}
            assert voted == said, (ballot.clip, member)
        for cluster, by_member in ballot.votes.items():
            assert set(by_member) <= set(present)
            assert ballot.n_votes(cluster) == sum(cluster in expected_clusters(direct[m][ballot.clip], vocabulary) for m in present)
    assert lacking == len(prepared.clips) - len(direct["Video-ChatGPT"])  # the AffectGPT-only clips


def test_clips_filter_keeps_requested_clips_and_flags_unknown_ones(config, prepared, caplog):
    wanted = ["sample_00000007", "sample_00000000", "not_a_clip", "sample_00000007"]
    with caplog.at_level(logging.WARNING, logger="ensemble.pipeline"):
        part = prepare(config, clips=wanted)
    assert part.clips == ["not_a_clip", "sample_00000000", "sample_00000007"]
    assert part.labels["not_a_clip"] == {}
    by_clip = {b.clip: b for b in part.ballots}
    assert by_clip["not_a_clip"].is_empty() and by_clip["not_a_clip"].members == []
    full = {b.clip: b for b in prepared.ballots}
    for clip in ("sample_00000000", "sample_00000007"):
        assert part.labels[clip] == prepared.labels[clip]
        assert by_clip[clip].votes == full[clip].votes
    assert "1 requested clips have no member output (e.g. not_a_clip)" in caplog.text


def test_clips_filter_with_only_unknown_clips_is_an_error(config):
    with pytest.raises(InputError, match=r"no member covers any of the 2 requested clips \(e\.g\. nope_1\)"):
        prepare(config, clips=["nope_2", "nope_1"])


def test_judge_clips_is_the_configured_judge_on_the_ballots(config, prepared, direct):
    answers = judge_clips(config, prepared)
    assert answers == KOfNVote(k=2).predict(prepared.ballots)
    for clip, words in answers.items():
        said = {normalise_label(w) for m in MEMBER_FILES for w in direct[m].get(clip, [])}
        assert set(words) <= said  # the members' own words, never a cluster id


# ---- the pieces -------------------------------------------------------------------------------
@dataclass
class LiveMember(Member):
    """A member that needs media (clip_names() is None) and answers a fixed word for any clip:
    a real implementation of the interface, standing in for a live model that cannot run here."""

    word: str = "calm"

    def predict(self, clips):
        return {clip.name: MemberOutput(labels=[self.word]) for clip in clips}


def test_select_clips(config):
    members = build_members(config)
    assert select_clips(members, ["b", "a", "b"]) == ["a", "b"]
    everything = select_clips(members, None)
    assert everything == sorted(set().union(*(m.clip_names() for m in members)))
    with pytest.raises(InputError, match="member 'live' runs on media; give the clips to judge"):
        select_clips([*members, LiveMember(name="live")], None)
    assert select_clips([LiveMember(name="live")], ["x"]) == ["x"]


def test_collect_outputs_leaves_absent_members_out(direct):
    members = [CachedMember(name="vc", path=str(MEMBER_FILES["Video-ChatGPT"])), LiveMember(name="live")]
    agpt_only = sorted(set(direct["AffectGPT-e30"]) - set(direct["Video-ChatGPT"]))[0]
    clips = ["sample_00000000", agpt_only]
    labels, _ = collect_outputs(members, clips)
    assert labels == {
        "sample_00000000": {"vc": direct["Video-ChatGPT"]["sample_00000000"], "live": ["calm"]},
        agpt_only: {"live": ["calm"]},
    }
    assert coverage_report(labels, ["vc", "live"], clips) == {"vc": 1, "live": 0}


def test_collect_outputs_refuses_descriptions_and_warns_about_mute_members(tmp_path, caplog):
    described = tmp_path / "d.jsonl"
    described.write_text('{"name": "a", "labels": ["sad"]}\n{"name": "b", "description": "She smiles."}\n')
    with pytest.raises(InputError, match="member 'desc': clip b has a description but no labels"):
        collect_outputs([CachedMember(name="desc", path=str(described))], ["a", "b"])
    mute = tmp_path / "mute.csv"
    mute.write_text('name,openset\na,[]\nb,[]\n')
    with caplog.at_level(logging.WARNING, logger="ensemble.pipeline"):
        labels, _ = collect_outputs([CachedMember(name="mute", path=str(mute))], ["a", "b"])
    assert labels == {"a": {"mute": []}, "b": {"mute": []}}
    assert "member 'mute' gave no label for any clip" in caplog.text


def test_shared_settings_resolve_the_config(config, tmp_path, monkeypatch):
    monkeypatch.delenv("OVMER_CACHE", raising=False)
    shared = shared_settings(config)
    assert shared.pop("models") == {m.name: m.name for m in config.members}  # no `model:` keys: each its own
    assert shared == {"lexicon": LEXICON, "cache_dir": str(default_cache_dir()), "data_root": str(DATA)}
    own = load_config(write_config(tmp_path, cache_dir=str(tmp_path / "c")), data_root=str(DATA))
    assert shared_settings(own)["cache_dir"] == str(tmp_path / "c")


def test_member_config_errors(tmp_path):
    base = OmegaConf.load(write_config(tmp_path))
    base.members.append(OmegaConf.to_container(base.members[0]))
    (tmp_path / "twice.yaml").write_text(OmegaConf.to_yaml(base))
    with pytest.raises(InputError, match="member 'Video-ChatGPT' is named twice"):
        build_members(load_config(tmp_path / "twice.yaml", data_root=str(DATA)))
    with pytest.raises(InputError, match="member #1 has no name"):
        build_members(load_config(tmp_path / "twice.yaml", ["members.0.name="], data_root=str(DATA)))
    with pytest.raises(InputError, match="member 'mPLUG-Owl': unknown parameter 'colour'"):
        build_members(load_config(tmp_path / "twice.yaml", ["members.1.colour=red"], data_root=str(DATA)))


# ---- run --clips through the command line -------------------------------------------------------
def test_run_clips_writes_exactly_those_clips_with_the_full_runs_answers(tmp_path, direct):
    """In process through ensemble.cli.main: a name-only CSV selects the clips; each answer equals
    the full run's answer for that clip; a clip no member covers gets an empty answer."""
    config = write_config(tmp_path)
    agpt_only = sorted(set(direct["AffectGPT-e30"]) - set(direct["Video-ChatGPT"]))[0]
    shared = sorted(direct["Video-ChatGPT"])
    wanted = [shared[40], agpt_only, shared[3], "not_a_clip"]
    clips = tmp_path / "clips.csv"
    clips.write_text("name\n" + "\n".join(wanted) + "\n")
    full, part = tmp_path / "full.csv", tmp_path / "part.csv"
    assert cli(["run", "--config", str(config), "--out", str(full)]) == 0
    assert cli(["run", "--config", str(config), "--out", str(part), "--clips", str(clips)]) == 0
    everything, chosen = read_label_csv(full), read_label_csv(part)
    assert sorted(chosen) == sorted(wanted)
    assert {c: chosen[c] for c in wanted if c != "not_a_clip"} == {c: everything[c] for c in wanted if c != "not_a_clip"}
    assert chosen["not_a_clip"] == [] and "not_a_clip" not in everything
    assert all(chosen[c] for c in wanted if c != "not_a_clip")


def test_run_clips_with_no_known_clip_is_one_error_and_no_output(tmp_path, capsys):
    clips = tmp_path / "clips.csv"
    clips.write_text("name\nnope\n")
    out = tmp_path / "out.csv"
    assert cli(["run", "--config", str(write_config(tmp_path)), "--out", str(out), "--clips", str(clips)]) == 1
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("error: no member covers any of the 1 requested clips")
    assert not out.exists()


@pytest.mark.slow
def test_run_clips_as_a_subprocess(tmp_path, direct):
    """The same through `python run_ensemble.py` with the default config and $OVMER_DATA."""
    names = sorted(direct["Video-ChatGPT"])
    wanted = [names[11], names[2]]
    clips = tmp_path / "clips.csv"
    clips.write_text("name\n" + "\n".join(wanted) + "\n")
    out, full = tmp_path / "out.csv", tmp_path / "full.csv"
    process = run_cli("run", "--out", out, "--clips", clips, cwd=tmp_path)
    assert process.returncode == 0, process.stderr
    assert run_cli("run", "--out", full, cwd=tmp_path).returncode == 0
    chosen, everything = read_label_csv(out), read_label_csv(full)
    assert chosen == {c: everything[c] for c in wanted} and all(chosen.values())


def test_a_non_numeric_k_is_one_error_line(tmp_path, capsys):
    out = tmp_path / "out.csv"
    assert cli(["run", "--config", str(write_config(tmp_path)), "--out", str(out), "judge.k=abc"]) == 1
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("error: ")
    assert not out.exists()
