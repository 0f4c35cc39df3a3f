"""Ensemble configs: omegaconf YAML with `key=value` overrides and a data root.

The data root (research-only data the repository must not contain) comes from, in order:
`--data-root`, the `OVMER_DATA` environment variable, the config's `data_root` key
(core.settings). Paths in configs refer to it as `${data_root}/...`.
"""
from __future__ import annotations

import importlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import omegaconf
import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from core.errors import InputError, brief, excerpt, quoted
from core.factory import parameter_names
from core.files import atomic_write_text
from core.registry import DEFAULT_TYPES, resolve
from core.settings import CONFIG_DIR, DEFAULT_DATA_ROOT, DEFAULT_LEXICON, resolve_data_root
from core.uses import PathUse

DEFAULT_CONFIG = CONFIG_DIR / "ovmerd_views.yaml"
# Clips turned into ballots and judged at a time (`chunk_clips:`): judging's memory is that of
# one chunk, whatever the number of clips (ensemble.pipeline.judge_chunks); answers do not depend on it.
DEFAULT_CHUNK_CLIPS = 5000


@dataclass
class TuneConfig:
    folds: int = 5
    seed: int = 0
    objective: str = "ew_l1_f"
    # Parameter grid per judge parameter; empty means the judge's own default grid.
    grid: dict[str, Any] = field(default_factory=dict)
    n_jobs: int = 1


@dataclass
class EnsembleConfig:
    data_root: str = DEFAULT_DATA_ROOT
    lexicon: str = "${data_root}/" + DEFAULT_LEXICON
    members: list[dict[str, Any]] = field(default_factory=list)
    vocab: dict[str, Any] = field(default_factory=lambda: {"type": "lexicon"})
    # Only the type: a config's own judge section is merged onto this, so any other default
    # key would leak into judges that do not take it. The category judge needs a `state:`.
    judge: dict[str, Any] = field(default_factory=lambda: {"type": "category"})
    tune: TuneConfig = field(default_factory=TuneConfig)
    cache_dir: str = ""  # '' = $OVMER_CACHE, else the user's cache folder (core.settings)
    # The clips to judge: a manifest CSV (name, video [, audio, subtitle]); '' = every clip the
    # cached members cover. `run --clips/--videos` override it.
    clips: str = ""
    chunk_clips: int = DEFAULT_CHUNK_CLIPS


def apply_overrides(config: DictConfig, overrides: Sequence[str]) -> DictConfig:
    """Apply `key=value` overrides in place; keys may index lists (`members.0.trust_pickle=false`).

    A mapping value replaces the node (`tune.grid={kofn: {k: [2, 3]}}` drops the other strategies).
    """
    for item in overrides:
        if "=" not in item:
            raise InputError(f"unrecognised argument {quoted(item)} (overrides are written key=value)")
        key, text = item.split("=", 1)
        try:
            value = yaml.safe_load(text) if text else ""
            OmegaConf.update(config, key.strip(), value, merge=False)
        except (OmegaConfBaseException, yaml.YAMLError, ValueError, TypeError, KeyError, IndexError) as error:
            raise InputError(f"override {quoted(item)}: {brief(error)}") from None
    return config


def merge(schema: Any, *sources, overrides: Sequence[str] = ()) -> DictConfig:
    """Merge config sources onto a structured schema, then the overrides; InputError on bad keys or types."""
    try:
        config = OmegaConf.merge(OmegaConf.structured(schema), *sources)
    except (OmegaConfBaseException, TypeError) as error:
        raise InputError(f"config: {brief(error)}") from None
    return apply_overrides(config, overrides)


def _smoke(what: str, *, _root_):
    # Imported on first use only: it brings the media and model libraries with it.
    return importlib.import_module("testkit.smoke").resolve(what, _root_=_root_)


def register_smoke() -> None:
    """Make `${smoke:...}` (configs/smoke_live.yaml's tiny models, videos and local server,
    testkit/smoke.py) available to configs; idempotent."""
    if OmegaConf.has_resolver("smoke"):
        return
    # omegaconf 2.4 renamed register_new_resolver to register_resolver (2.3's register_resolver
    # is the old legacy one): use whichever this version means by "new".
    if omegaconf.__version__.startswith("2.3"):
        OmegaConf.register_new_resolver("smoke", _smoke)
    else:
        OmegaConf.register_resolver("smoke", _smoke)


def load_config(path: str | Path | None, overrides: Sequence[str] = (), data_root: str | None = None) -> DictConfig:
    """Read an ensemble config (default: configs/ovmerd_views.yaml), apply overrides and the data root."""
    register_smoke()
    path = Path(path) if path else DEFAULT_CONFIG
    if not path.is_file():
        raise InputError(f"{path}: config file not found")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(f"{path}: not UTF-8 text (byte {error.start})") from None
    except OSError as error:
        raise InputError(f"{path}: cannot read the config ({error.strerror or brief(error)})") from None
    try:
        from_file = OmegaConf.load(io.StringIO(text))
    except (OmegaConfBaseException, yaml.YAMLError, OSError, ValueError, TypeError) as error:
        raise InputError(f"{path}: {brief(error)}") from None
    if not isinstance(from_file, DictConfig):
        raise InputError(f"{path}: a config is a YAML mapping (members, vocab, judge, ...), not a list")
    config = merge(EnsembleConfig, from_file)
    try:  # reading a value resolves its interpolations (`${oc.env:...}`, a loop)
        config.data_root = resolve_data_root(data_root, from_file.get("data_root"))
        apply_overrides(config, overrides)  # a data_root=... override wins over everything
        anchor_state(config, path)
    except OmegaConfBaseException as error:
        raise InputError(f"{path}: {brief(error)}") from None
    if not Path(config.data_root).is_dir():
        raise InputError(
            f"data root '{config.data_root}' not found: pass --data-root DIR, set OVMER_DATA, "
            "or fetch the lexicon with the `fetch-data` subcommand"
        )
    try:  # resolve once to report bad interpolations now; the config keeps them for saving
        resolved = OmegaConf.to_container(config, resolve=True)
    except OmegaConfBaseException as error:
        raise InputError(f"{path}: {brief(error)}") from None
    check_shape(resolved, path)
    return config


def anchor_state(config: DictConfig, path: Path) -> None:
    """A relative `judge.state` that is not found from the working directory but lies beside
    the config (a state shipped with it, as configs/ovmerd_views.yaml's) is read from there, so
    the config works from any directory."""
    state = config.judge.get("state") if isinstance(config.judge, DictConfig) else None
    if not isinstance(state, str) or not state or "${" in state or Path(state).is_absolute() or Path(state).exists():
        return
    beside = path.parent / state
    if beside.is_file():
        config.judge.state = str(beside.resolve())


def check_shape(resolved: dict, path) -> None:
    """Refuse, naming the entry, what the schema cannot type: member entries that are not
    mappings, member names and part types that are not text."""
    members = resolved.get("members")
    if not isinstance(members, list):
        raise InputError(f"{path}: members must be a list of member entries")
    for index, member in enumerate(members, start=1):
        if not isinstance(member, dict):
            raise InputError(f"{path}: member #{index} must be a mapping (name, type, parameters), got {type(member).__name__}")
        name = member.get("name")
        if isinstance(name, (bool, list, dict)):  # an empty name is the pipeline's "has no name"
            raise InputError(f"{path}: member #{index}: name must be a text, got {excerpt(name)}")
        if not all(isinstance(key, str) for key in member):
            raise InputError(f"{path}: member #{index}: parameter names must be text")
    for section in ("judge", "vocab"):
        kind = (resolved.get(section) or {}).get("type")
        if kind is not None and not isinstance(kind, str):
            raise InputError(f"{path}: {section}.type must be a type name, got {excerpt(kind)}")
    for index, member in enumerate(members, start=1):
        kind = member.get("type")
        if kind is not None and not isinstance(kind, str):
            raise InputError(f"{path}: member #{index}: type must be a type name, got {excerpt(kind)}")


def save_config(config: DictConfig, path: str | Path) -> None:
    atomic_write_text(path, OmegaConf.to_yaml(config))


def config_inputs(config: DictConfig) -> list[PathUse]:
    """The files the config itself names beside its parts (whose own files they declare,
    ensemble.pipeline.Parts.paths): the `clips:` manifest."""
    clips = OmegaConf.select(config, "clips", default="")
    return [PathUse(str(clips), "config clips")] if clips else []


def trust_pickles(config: DictConfig) -> list[str]:
    """The user's `--trust-pickle` on the command line: every member whose class takes
    `trust_pickle` may load pickled files. Returns the names of the members it applies to.

    Shipped configs never set trust_pickle; this is how a user grants it for one command."""
    trusted = []
    for member in config.members:
        kind = member.get("type") or DEFAULT_TYPES["member"]
        if "trust_pickle" in parameter_names(resolve("member", str(kind))):
            member.trust_pickle = True
            trusted.append(str(member.get("name")))
    return trusted
