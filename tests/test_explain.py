"""Why a clip got its labels: the judges' default `explain`, `run --explain`, and the failures file.

Everything runs on the real member files and lexicon. `FailsOn` is a real implementation of the
member interface that fails on chosen clips: it stands in for a live model (which cannot run
here) meeting a corrupt video.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from core.labels import read_label_csv
from ensemble.cli import main as cli
from ensemble.config import DEFAULT_CONFIG, load_config
from ensemble.explain import failures_path
from ensemble.pipeline import build_judge, judge_clips, prepare, prepared_judge
from members.base import Member, MemberOutput
from members.readers import read_label_sets
from tests.support import DATA, GOLD, REPO, affectgpt_file, baseline_file

MEMBERS = {"Video-ChatGPT": baseline_file("Video-ChatGPT"), "mPLUG-Owl": baseline_file("mPLUG-Owl"),
           "AffectGPT-e30": affectgpt_file(30)}


@dataclass(kw_only=True)
class FailsOn(Member):
    """Answers `word` for every clip except those in `fail`, on which it fails with `error`."""

    word: str = "calm"
    fail: list[str] = field(default_factory=list)
    error: str = "cannot read video: corrupt file"

    def predict(self, clips):
        return {clip.name: MemberOutput(error=self.error) if clip.name in self.fail else MemberOutput(labels=[self.word])
                for clip in clips}


def write_config(folder: Path, judge: dict, extra_members: list[dict] = (), members: dict = MEMBERS) -> Path:
    entries = [{"name": name, "type": "cached", "path": str(path)} for name, path in members.items()]
    path = folder / "config.yaml"
    path.write_text(OmegaConf.to_yaml(OmegaConf.create(
        {"data_root": str(DATA), "members": [*entries, *extra_members], "judge": judge, "cache_dir": str(folder / "cache")})))
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def check_default_explanation(judge, prepared) -> None:
    """The default contract: one candidate per ballot cluster, its voters, score = number of
    voters, kept = its word is in predict's answer, and the kept words are exactly the answer."""
    answers = judge_clips(None, prepared, judge)
    explained = judge.explain(prepared.ballots)
    assert list(explained) == prepared.clips
    for ballot in prepared.ballots:
        reasons = explained[ballot.clip]
        assert reasons["detail"] == {}
        assert [c["cluster"] for c in reasons["candidates"]] == list(ballot.votes)
        for candidate in reasons["candidates"]:
            by_member = ballot.votes[candidate["cluster"]]
            assert candidate["voters"] == list(by_member)
            assert candidate["score"] == float(len(by_member))
            assert candidate["word"] in {w for words in by_member.values() for w in words}
            assert candidate["kept"] == (candidate["word"] in answers[ballot.clip])
            assert candidate["detail"] == {}
        kept = sorted(c["word"] for c in reasons["candidates"] if c["kept"])
        assert kept == sorted(answers[ballot.clip]), ballot.clip


def test_default_explain_of_the_kofn_judge_on_real_ballots(tmp_path):
    config = load_config(write_config(tmp_path, {"type": "kofn", "k": 2}), data_root=str(DATA))
    prepared = prepare(config)
    built = build_judge(config)
    built.fit(prepared.ballots, read_label_csv(GOLD))
    check_default_explanation(built, prepared)


def test_the_shipped_category_judge_explains_every_candidate_and_its_choice():
    """The default config: 32 views pooled into 11 models by the fitted category judge, whose
    explanation gives each candidate's category probabilities and the clip's chosen size."""
    config = load_config(REPO / DEFAULT_CONFIG, data_root=str(DATA))
    prepared = prepare(config)
    judge = prepared_judge(config, prepared)
    assert type(judge).__name__ == "CategoryJudge" and len(prepared.clips) == 532
    answers = judge_clips(config, prepared, judge)
    explained = judge.explain(prepared.ballots)
    assert list(explained) == prepared.clips
    for ballot in prepared.ballots:
        reasons = explained[ballot.clip]
        assert {c["cluster"] for c in reasons["candidates"]} == set(ballot.votes)
        assert sorted(c["word"] for c in reasons["candidates"] if c["kept"]) == sorted(answers[ballot.clip]), ballot.clip
        assert reasons["detail"]["n"] == len(answers[ballot.clip])
        for candidate in reasons["candidates"]:
            assert candidate["score"] is None or 0 <= candidate["score"] <= 1
            assert all(0 <= p["p"] <= 1 for p in candidate["detail"]["probabilities"].values())


def test_run_explain_writes_one_line_per_clip_that_agrees_with_the_submission(tmp_path):
    config = write_config(tmp_path, {"type": "kofn", "k": 2})
    out, explain = tmp_path / "sub.csv", tmp_path / "why.jsonl"
    assert cli(["run", "--config", str(config), "--out", str(out), "--explain", str(explain)]) == 0
    submission = read_label_csv(out)
    lines = read_jsonl(explain)
    assert [line["clip"] for line in lines] == list(submission)
    direct = {name: read_label_sets(path) for name, path in MEMBERS.items()}
    prepared = prepare(load_config(config, data_root=str(DATA)))
    ballots = {b.clip: b for b in prepared.ballots}
    for line in lines:
        clip = line["clip"]
        assert line["answer"] == submission[clip]
        assert line["members"] == {m: {"labels": direct[m][clip]} for m in MEMBERS if clip in direct[m]}
        assert line["clusters"] == ballots[clip].votes
        assert line["judge"]["type"] == "judge.vote:KOfNVote"
        assert line["judge"]["score_meaning"].startswith("number of members")
        assert sorted(c["word"] for c in line["judge"]["candidates"] if c["kept"]) == sorted(line["answer"])
        scores = [c["score"] for c in line["judge"]["candidates"]]
        if any(score >= 2 for score in scores):  # k of n: kept exactly at 2 votes or more ...
            assert all(c["kept"] == (c["score"] >= 2) for c in line["judge"]["candidates"])
        elif scores:  # ... else the floor: one of the most voted
            assert [c["score"] for c in line["judge"]["candidates"] if c["kept"]] == [max(scores)]
    assert not failures_path(out).exists()  # nothing failed


def test_a_failed_clip_is_in_the_failures_file_and_in_its_explain_line(tmp_path):
    clips = sorted(read_label_sets(MEMBERS["Video-ChatGPT"]))[:4]
    manifest = tmp_path / "clips.csv"
    manifest.write_text("name\n" + "\n".join(clips) + "\n")
    live = {"name": "live", "type": "tests.test_explain:FailsOn", "fail": clips[1:3], "error": "cannot read video: x.avi"}
    config = write_config(tmp_path, {"type": "kofn", "k": 1}, [live])
    out, explain = tmp_path / "sub.csv", tmp_path / "why.jsonl"
    assert cli(["run", "--config", str(config), "--clips", str(manifest), "--out", str(out), "--explain", str(explain)]) == 0
    assert failures_path(out) == tmp_path / "sub.csv.failures.jsonl"
    assert read_jsonl(failures_path(out)) == [{"member": "live", "clip": clip, "error": "cannot read video: x.avi"}
                                              for clip in clips[1:3]]
    lines = {line["clip"]: line for line in read_jsonl(explain)}
    assert lines[clips[1]]["members"]["live"] == {"error": "cannot read video: x.avi"}
    assert lines[clips[0]]["members"]["live"] == {"labels": ["calm"]}
    assert "calm" in read_label_csv(out)[clips[0]] and "calm" not in read_label_csv(out)[clips[1]]

    # A later run of the same output without failures removes the stale failures file.
    live["fail"] = []
    config = write_config(tmp_path, {"type": "kofn", "k": 1}, [live])
    assert cli(["run", "--config", str(config), "--clips", str(manifest), "--out", str(out)]) == 0
    assert not failures_path(out).exists()


def test_a_run_that_stops_keeps_its_failures_but_writes_no_submission_nor_explanation(tmp_path, capsys):
    """Every member failed on one clip: the run fails (no --allow-missing), the failures are on disk."""
    clips = ["sample_00000000", "sample_00000007"]
    manifest = tmp_path / "clips.csv"
    manifest.write_text("name\n" + "\n".join(clips) + "\n")
    live = {"name": "live", "type": "tests.test_explain:FailsOn", "fail": ["sample_00000007"]}
    config = write_config(tmp_path, {"type": "kofn", "k": 1}, [live], members={})
    out, explain = tmp_path / "sub.csv", tmp_path / "why.jsonl"
    args = ["run", "--config", str(config), "--clips", str(manifest), "--out", str(out), "--explain", str(explain)]
    assert cli(args) == 1
    assert "1 of 2 clips got no answer from any member" in capsys.readouterr().err
    assert not out.exists() and not explain.exists()
    assert read_jsonl(failures_path(out)) == [{"member": "live", "clip": "sample_00000007", "error": live_error()}]


def live_error() -> str:
    return FailsOn.__dataclass_fields__["error"].default


def test_the_explain_file_may_not_be_the_submission(tmp_path, capsys):
    config = write_config(tmp_path, {"type": "kofn", "k": 2})
    out = tmp_path / "sub.csv"
    assert cli(["run", "--config", str(config), "--out", str(out), "--explain", str(out)]) == 1
    assert "the explain file must differ from --out" in capsys.readouterr().err
    assert not out.exists()

