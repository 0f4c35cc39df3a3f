"""Judging in chunks (`chunk_clips`): the submission is byte for byte the one a single judge call
over every clip's ballot writes, whatever the chunk size, on the real default config (its shipped
fitted state) and on configs/ovmerd.yaml with fitted judge states (tests/data/state_v1/)."""
from __future__ import annotations

import dataclasses

import pytest

from core.errors import InputError
from core.labels import label_csv_text
from ensemble.cli import main
from ensemble.config import load_config
from ensemble.pipeline import build_judge, judge_chunks, judge_clips, prepare, prepared_judge
from tests.support import DATA, REPO

V1 = REPO / "tests" / "data" / "state_v1"
FITTED = {
    "category": {"type": "category", "C": 0.3, "mappings": "l1", "utility": "expected_f"},
    "stacker": {"type": "stacker", "C": 0.1},
    "weighted": {"type": "weighted", "power": 4, "coarse_weight": 0.5},
}


def whole(config, prepared) -> str:
    """Today's submission: the judge's answers to every ballot at once."""
    judge = build_judge(config)
    if getattr(judge, "needs_fit", False):
        judge.fit(prepared.ballots)
    return label_csv_text(judge.predict(prepared.ballots))


@pytest.mark.parametrize("size", [1, 7, None])
def test_default_config_run_is_byte_identical_at_any_chunk_size(tmp_path, size):
    """`run` with the default config (32 members, the shipped view_category state)."""
    config = load_config(None, data_root=str(DATA))
    expected = whole(config, prepare(config))
    size = size or 10**6  # None: every clip in one chunk
    out = tmp_path / "submission.csv"
    assert main(["run", "--out", str(out), "--data-root", str(DATA), f"chunk_clips={size}"]) == 0
    assert out.read_text() == expected


@pytest.fixture(scope="module")
def ovmerd():
    config = load_config(REPO / "configs" / "ovmerd.yaml", data_root=str(DATA))
    return config, prepare(config)


@pytest.mark.parametrize("name", [*sorted(FITTED), "own"])
def test_ovmerd_fitted_judges_answer_the_same_at_any_chunk_size(ovmerd, name):
    """The fitted states, and the config's own 3-of-11 vote (a chunk of clips that only one or
    two members answered is no error: the vote's member check is the run's, not a chunk's)."""
    config, prepared = ovmerd
    config = config.copy()
    if name != "own":
        config.judge = {**FITTED[name], "state": str(V1 / f"{name}.judge.json")}
    expected = whole(config, prepared)
    for size in (1, 7, len(prepared.clips)):
        config.chunk_clips = size
        judge = prepared_judge(config, dataclasses.replace(prepared, judge=None))  # the config's judge, not the parts'
        assert label_csv_text(judge_clips(config, prepared, judge)) == expected, size


def test_chunks_hold_at_most_chunk_clips_ballots_and_build_none_ahead(ovmerd):
    """Only one chunk's ballots exist at a time: `ballots` (every clip) is never built."""
    config, prepared = ovmerd
    config = config.copy()
    config.chunk_clips = 7
    fresh = prepare(config)
    sizes = [len(ballots) for ballots, _ in judge_chunks(config, fresh)]
    assert sizes[:-1] == [7] * (len(sizes) - 1) and 1 <= sizes[-1] <= 7
    assert sum(sizes) == len(fresh.clips) and fresh._ballots is None


@pytest.mark.parametrize("bad", ["0", "-3", "many", "2.5"])
def test_a_bad_chunk_size_is_one_clear_error(ovmerd, bad):
    """Refused when the config loads (not a number) or before any clip is judged (not positive)."""
    _, prepared = ovmerd
    with pytest.raises(InputError, match="chunk_clips") as error:
        config = load_config(REPO / "configs" / "ovmerd.yaml", [f"chunk_clips={bad}"], data_root=str(DATA))
        judge_clips(config, prepared)
    assert "\n" not in str(error.value)


def test_explain_file_is_the_same_at_any_chunk_size(tmp_path):
    """`run --explain` explains each chunk's clips as they are judged: the file is the same
    byte for byte whatever the chunk size (default config)."""
    texts = []
    for size in (7, 10**6):
        out, explain = tmp_path / f"s{size}.csv", tmp_path / f"e{size}.jsonl"
        assert main(["run", "--out", str(out), "--explain", str(explain), "--data-root", str(DATA), f"chunk_clips={size}"]) == 0
        texts.append((out.read_text(), explain.read_text()))
    assert texts[0] == texts[1] and texts[0][1].count("\n") == 532
