"""Judge states are validated before use (issue 17, items 7-8): size and depth bounded before
parsing, every field checked against its schema (judge/state.py), kept views and members
matched against the config; a bad state is one `error: FILE: KEY: ...` line and exit 1.
Includes hypothesis fuzzing of states: any edit either loads or is one InputError."""
from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import InputError
from core.state import MAX_BYTES, MAX_DEPTH, read_state
from ensemble.cli import main
from judge.category import CategoryJudge
from members.readers import read_label_sets
from tests.support import DATA, LEXICON, affectgpt_file, baseline_file, lockbox_clips
from vocab.ballot import make_ballot
from vocab.clusters import LexiconVocabulary

MODELS = {"VC": "Video-ChatGPT", "A-e30": "AffectGPT", "A-e60": "AffectGPT"}
FILES = {"VC": baseline_file("Video-ChatGPT"), "A-e30": affectgpt_file(30), "A-e60": affectgpt_file(60)}


@pytest.fixture(scope="module")
def fitted(gold):
    """A category judge fitted on 40 dev clips (none of the lockbox) of three real members, its state, and ballots."""
    clips = sorted(set(gold) - lockbox_clips())[:40]
    labels = {m: read_label_sets(p) for m, p in FILES.items()}
    vocab = LexiconVocabulary(lexicon=LEXICON).fit()
    ballots = [make_ballot(c, {m: by_clip[c] for m, by_clip in labels.items() if c in by_clip}, vocab) for c in clips]
    judge = CategoryJudge(lexicon=LEXICON, models=MODELS, mappings="l1").fit(ballots, gold)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.json"
        judge.save_state(path)
        state = json.loads(path.read_text())
    return judge, state, ballots


def load(path: Path) -> CategoryJudge:
    return CategoryJudge(lexicon=LEXICON, models=MODELS, mappings="l1").load_state(path)


def write(tmp_path: Path, state: dict) -> Path:
    path = tmp_path / "s.json"
    path.write_text(json.dumps(state))
    return path


def edited(state: dict, key: str, value) -> dict:
    out = copy.deepcopy(state)
    *parents, last = key.split(".")
    node = out
    for part in parents:
        node = node[part]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value(node[last]) if callable(value) else value
    return out


DELETE = object()


@pytest.mark.parametrize("key, value, message", [
    ("models_of_views", lambda v: {**v, "nonexistent": "X"}, "models_of_views: kept view 'nonexistent' is not among view_members"),
    ("unproposed", lambda v: v[:-1], "unproposed: 4 values for 5 mappings"),
    ("rates.member.AffectGPT", 5.0, "rates.member.AffectGPT: Input should be less than or equal to 1"),
    ("rates.member_counts.AffectGPT", -3, "rates.member_counts.AffectGPT: Input should be greater than or equal to 0"),
    ("rates.overall", -0.5, "rates.overall: Input should be greater than or equal to 0"),
    ("threshold", -1.0, "threshold: Input should be greater than 0"),
    ("gamma", -0.1, "gamma: Input should be greater than or equal to 0"),
    ("size_prior", lambda v: [*v[:-1], 1.5], "size_prior["),
    ("model.coef", lambda v: v[:-1], "model: mean has"),
    ("model.scale", lambda v: [0.0] * len(v), "model.scale[0]: Input should be greater than 0"),
    ("fitted_clips.digest", "abc", "fitted_clips.digest: String should match pattern"),
    ("members", ["Video-ChatGPT"], "members: must be the sorted models of the kept views"),
    ("features", lambda v: v[::-1], "features: do not match members and mappings"),
    ("mappings", lambda v: ["W9-L1", *v[1:]], "features: do not match"),
    ("model", DELETE, "model: Field required"),
    ("unproposed", "many", "unproposed: Input should be a valid list"),
])
def test_a_bad_state_is_one_error_naming_file_and_key(fitted, tmp_path, key, value, message):
    _, state, ballots = fitted
    path = write(tmp_path, edited(state, key, value))
    with pytest.raises(InputError) as error:
        load(path)
    assert str(error.value).startswith(f"{path}: ") and message in str(error.value)


def test_an_unknown_mapping_and_an_extra_key_are_refused(fitted, tmp_path):
    _, state, _ = fitted
    bad = edited(state, "mappings", lambda v: ["W9-L1", *v[1:]])
    bad["features"] = [f.replace(state["mappings"][0], "W9-L1") for f in state["features"]]
    with pytest.raises(InputError, match=r"s\.json: mappings: 'W9-L1' is not a mapping of the lexicon"):
        load(write(tmp_path, bad))
    with pytest.raises(InputError, match=r"s\.json: surprise: Extra inputs are not permitted"):
        load(write(tmp_path, {**state, "surprise": 1}))


def test_size_and_depth_are_bounded_before_parsing(tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)  # json.loads would recurse (RecursionError)
    with pytest.raises(InputError, match=f"nested more than {MAX_DEPTH} levels"):
        read_state(deep, "judge.category")
    fine = tmp_path / "fine.json"
    fine.write_text(json.dumps({"format": "ovmer-state", "version": 2, "kind": "judge.category", "a": "[[[[" * 50}))
    assert read_state(fine, "judge.category") == {"a": "[[[[" * 50}  # brackets inside strings do not count
    big = tmp_path / "big.json"
    big.write_text(" " * (MAX_BYTES + 1))
    with pytest.raises(InputError, match="a state file is at most"):
        read_state(big, "judge.category")


def test_a_loaded_state_predicts_what_was_fitted(fitted, tmp_path):
    judge, state, ballots = fitted
    assert load(write(tmp_path, state)).predict(ballots) == judge.predict(ballots)


def test_run_with_a_bad_state_is_one_error_line_and_no_output(tmp_path, capsys):
    """The default config with its shipped state, one view kept that the config lacks."""
    shipped = json.loads((Path(__file__).resolve().parents[1] / "configs" / "ovmerd_views.judge.json").read_text())
    shipped["models_of_views"]["nonexistent"] = "X"
    state = tmp_path / "state.json"
    state.write_text(json.dumps(shipped))
    out = tmp_path / "o.csv"
    assert main(["run", "--out", str(out), "--data-root", str(DATA), f"judge.state={state}"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"error: {state}: models_of_views: kept view 'nonexistent' is not among view_members"
    assert not out.exists()


# ---- fuzzing -------------------------------------------------------------------------------------
FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node[:3]):
            yield from _paths(v, (*prefix, i))


@FUZZ
@given(st.data())
def test_any_edit_of_a_state_loads_or_is_one_input_error(fitted, data):
    """Replace any value of a valid state (at any depth) by any JSON value: load_state either
    accepts it, and predict then answers or raises InputError, or raises InputError."""
    judge, state, ballots = fitted
    paths = [p for p in _paths(state) if p]
    where = data.draw(st.sampled_from(paths))
    value = data.draw(json_values)
    bad = copy.deepcopy(state)
    node = bad
    for part in where[:-1]:
        node = node[part]
    node[where[-1]] = value
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.json"
        path.write_text(json.dumps(bad))
        try:
            loaded = load(path)
        except InputError as error:
            assert str(error).startswith(f"{path}: ") and "\n" not in str(error)
            return
        try:
            loaded.predict(ballots[:5])
        except InputError:
            pass


@FUZZ
@given(st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode),
                 json_values.map(lambda v: json.dumps(v).encode())))
def test_any_bytes_as_a_state_are_one_input_error(content):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.json"
        path.write_bytes(content)
        with pytest.raises(InputError):
            load(path)


# ---- evaluate --state: in-sample figures are flagged ----------------------------------------------
def test_evaluate_warns_when_gold_is_what_the_state_was_fitted_on(fitted, gold, tmp_path, capsys, caplog):
    """The state records the clips it was fitted on (count and digest); `evaluate --state` warns
    when the gold clips scored are those clips, and not for other clips."""
    from core.labels import write_label_csv

    judge, state, ballots = fitted
    path = write(tmp_path, state)
    fitted_gold, pred = tmp_path / "fitted.csv", tmp_path / "pred.csv"
    write_label_csv(fitted_gold, {b.clip: gold[b.clip] for b in ballots})
    write_label_csv(pred, judge.predict(ballots))
    argv = ["evaluate", "--gold", str(fitted_gold), "--pred", str(pred), "--data-root", str(DATA), "--state", str(path), "--json"]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["fitted_on_gold"] is True
    assert "was fitted on these 40 gold clips: the figures are in-sample" in caplog.text
    caplog.clear()
    other = tmp_path / "other.csv"
    write_label_csv(other, {b.clip: gold[b.clip] for b in ballots[:20]})
    assert main([*argv[:2], str(other), *argv[3:]]) == 0
    assert json.loads(capsys.readouterr().out)["fitted_on_gold"] is False and "in-sample" not in caplog.text

