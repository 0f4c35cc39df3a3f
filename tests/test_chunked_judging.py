"""Judging in chunks (`chunk_clips`): the submission is byte for byte the one a single judge call
over every clip's ballot writes, whatever the chunk size, on the real default config (its shipped
fitted state) and on configs/ovmerd.yaml with a category judge fitted on the dev gold (as `tune`
fits its final judge) and read back from its state file, and with the config's own vote."""
from __future__ import annotations

import dataclasses
import json

import pytest

from core.errors import InputError
from core.labels import label_csv_text, read_label_csv
from ensemble.cli import main
from ensemble.config import load_config
from ensemble.pipeline import build_judge, judge_chunks, judge_clips, prepare, prepared_judge
from tests.support import DATA, GOLD, REPO


def whole(config, prepared) -> str:
    """Today's submission: the config's judge's answers to every ballot at once."""
    judge = prepared_judge(config, dataclasses.replace(prepared, judge=None))
    return label_csv_text(judge.predict(prepared.ballots))


@pytest.mark.parametrize("size", [1, 7, None])
def test_default_config_run_is_byte_identical_at_any_chunk_size(tmp_path, size):
    """`run` with the default config (32 members, the shipped category state)."""
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


@pytest.fixture(scope="module")
def fitted_state(ovmerd, tmp_path_factory):
    """A category judge fitted on the gold clips (sorted, as `tune` fits its final judge), saved."""
    config, prepared = ovmerd
    gold = read_label_csv(GOLD)
    by_clip = {b.clip: b for b in prepared.ballots}
    config = config.copy()
    config.judge = {"type": "category"}
    judge = build_judge(config)
    judge.fit([by_clip[c] for c in sorted(gold) if c in by_clip], gold)
    path = tmp_path_factory.mktemp("state") / "category.judge.json"
    judge.save_state(path)
    return path


@pytest.mark.parametrize("name", ["category", "own"])
def test_ovmerd_judges_answer_the_same_at_any_chunk_size(ovmerd, fitted_state, name, tmp_path):
    """`run` with the fitted category state, and with the config's own 3-of-11 vote (a chunk of
    clips that only one or two members answered is no error: the vote's member check is the
    run's, not a chunk's)."""
    config, prepared = ovmerd
    config = config.copy()
    overrides = []
    if name == "category":
        config.judge = {"type": "category", "state": str(fitted_state)}
        overrides = [f"judge={{type: category, state: {fitted_state}}}"]
    expected = whole(config, prepared)
    assert expected.count("\n") == len(prepared.clips) + 1
    for size in (1, 7, len(prepared.clips)):
        out = tmp_path / f"{size}.csv"
        args = ["run", "--config", str(REPO / "configs" / "ovmerd.yaml"), "--data-root", str(DATA), "--out", str(out)]
        assert main([*args, *overrides, f"chunk_clips={size}"]) == 0
        assert out.read_text() == expected, size


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


def rounded(value):
    """A JSON value with its floats to 12 significant digits."""
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, dict):
        return {key: rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [rounded(item) for item in value]
    return value


def test_explain_file_is_the_same_at_any_chunk_size(tmp_path):
    """`run --explain` explains each chunk's clips as they are judged: the same submission and
    the same explanations whatever the chunk size (default config). The category judge's
    probabilities are computed in batches by numpy, whose sums may differ in the last bit with
    the batch's shape (1e-16 here): they are compared to 12 digits."""
    runs = []
    for size in (7, 10**6):
        out, explain = tmp_path / f"s{size}.csv", tmp_path / f"e{size}.jsonl"
        assert main(["run", "--out", str(out), "--explain", str(explain), "--data-root", str(DATA), f"chunk_clips={size}"]) == 0
        runs.append((out.read_text(), [rounded(json.loads(line)) for line in explain.read_text().splitlines()]))
    assert runs[0] == runs[1] and len(runs[0][1]) == 532
