"""Property-based tests: whatever a config file or a `key=value` override holds, loading it (and
building the judge and members it names) either works or raises InputError, never another
exception (which the command line would show as a traceback)."""
from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import InputError
from ensemble.config import load_config
from ensemble.pipeline import build_judge, build_members
from tests.support import DATA

KEYS = ["judge.k", "judge.type", "judge.max_labels", "judge.min_labels", "judge", "members", "members.0",
        "members.0.path", "members.0.type", "members.5.name", "tune.folds", "tune.grid", "tune.grid.k", "tune",
        "vocab.type", "vocab", "lexicon", "cache_dir", "data_root", "tune.seed", "judge.state"]
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=True),
                    st.text(max_size=20), st.sampled_from(["kofn", "weighted", "os:system", "${data_root}", "${", "???",
                                                           "${oc.env:NOPE}", "${judge.k}", "[", "{", "]", "null", "~"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                      st.dictionaries(st.text(max_size=8), inner, max_size=3)), max_leaves=6)
KEY_TEXT = st.one_of(st.sampled_from(KEYS), st.text(max_size=15),
                     st.builds(lambda a, b: f"{a}.{b}", st.sampled_from(KEYS), st.text(max_size=6)))


def value_text(value) -> str:
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


OVERRIDES = st.lists(st.one_of(
    st.builds(lambda k, v: f"{k}={value_text(v)}", KEY_TEXT, VALUES),
    st.builds(lambda k, v: f"{k}={v}", KEY_TEXT, st.text(max_size=20)),
    st.text(max_size=20),
), max_size=3)


def load_and_build(path, overrides) -> None:
    try:
        config = load_config(path, overrides, data_root=str(DATA))
        build_judge(config)
        build_members(config)
    except InputError as error:
        assert str(error).strip() and "\n" not in str(error).strip(), repr(error)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(OVERRIDES)
def test_overrides_fail_only_with_input_error(overrides):
    load_and_build(None, overrides)


CONFIG_DICTS = st.dictionaries(st.one_of(st.sampled_from(["members", "judge", "vocab", "tune", "lexicon", "data_root",
                                                          "cache_dir"]), st.text(max_size=8)), VALUES, max_size=4)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(CONFIG_DICTS.map(lambda d: yaml.safe_dump(d)), st.text(max_size=80), st.binary(max_size=60)))
def test_config_files_fail_only_with_input_error(content):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.yaml"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        load_and_build(path, [])
