"""Defaults that several layers share, each defined once.

The data root holds research-only data that the repository must not contain. It comes from, in
order: an explicit value (`--data-root`), the `OVMER_DATA` environment variable, a config's
`data_root`, then DEFAULT_DATA_ROOT (relative to the directory you run from). The cache root
(embeddings, WordNet, tuning fits, LLM answers) is a config's `cache_dir`, else `$OVMER_CACHE`,
else the user's cache folder (platformdirs: ~/.cache/ovmer-ensemble on Linux), the same for a
checkout and an installed wheel (never inside site-packages).

The default configs and their shipped judge states are package data: CONFIG_DIR is
`configs/` beside the packages, in a checkout and in an installed wheel alike.
"""
from __future__ import annotations

import os
from pathlib import Path

import platformdirs

# The folder holding the packages: the checkout, or site-packages (or a --target folder) when installed.
REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = REPO_ROOT / "configs"
APP_NAME = "ovmer-ensemble"
DEFAULT_DATA_ROOT = "../shared/data"
# The lexicon behind the OV-MER paper table, relative to the data root.
DEFAULT_LEXICON = "lexicon/mer2025"


def resolve_data_root(explicit: str | None = None, configured: str | None = None) -> str:
    """--data-root, else $OVMER_DATA, else the config's value, else DEFAULT_DATA_ROOT."""
    return explicit or os.environ.get("OVMER_DATA") or configured or DEFAULT_DATA_ROOT


def default_lexicon(data_root: str | None = None) -> str:
    """The default lexicon folder under a data root (resolved as resolve_data_root does)."""
    return str(Path(resolve_data_root(data_root)) / DEFAULT_LEXICON)


def default_cache_dir() -> Path:
    """$OVMER_CACHE, else the user's cache folder for the project."""
    return Path(os.environ.get("OVMER_CACHE") or platformdirs.user_cache_dir(APP_NAME))


def cache_dir_or_default(cache_dir: str | os.PathLike | None) -> Path:
    """A configured cache root, or the default one when it is empty."""
    return Path(cache_dir) if cache_dir else default_cache_dir()
